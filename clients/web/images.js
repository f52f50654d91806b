// Pictures in and out: PNG replies as <img>, tensor replies painted on a canvas, and files
// from the person's disk resized to the model's shape in a canvas.

export function pngSource(base64) {
  return `data:image/png;base64,${base64}`;
}

/** An <img> of one PNG from a reply, with its alt text. */
export function pngImage(base64, alt) {
  const img = document.createElement("img");
  img.src = pngSource(base64);
  img.alt = alt;
  img.className = "pixels";
  return img;
}

/** The PNG list of an Images message (PNG replies only). */
export function pngsOf(images) {
  return (images && images.png && images.png.images) || [];
}

/** Paint one [C, H, W] image (values in [0, 1]) at (x, y) of a 2-D canvas context. */
export function paintImage(context, pixels, shape, x = 0, y = 0) {
  const [channels, height, width] = shape;
  const frame = context.createImageData(width, height);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const value = pixels[(channels === 1 ? 0 : c) * plane + i];
      frame.data[4 * i + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
    }
    frame.data[4 * i + 3] = 255;
  }
  context.putImageData(frame, x, y);
}

/** Decode an image file the browser can read into an ImageBitmap. */
export async function readImageFile(file) {
  if (!file.type.startsWith("image/")) throw new Error(`${file.name} is not an image`);
  return createImageBitmap(file);
}

/** Resize a picture to the model's width x height and return {pixels [C*H*W], url}. */
export function fitToModel(picture, info) {
  const canvas = document.createElement("canvas");
  canvas.width = info.width;
  canvas.height = info.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingQuality = "high";
  context.drawImage(picture, 0, 0, info.width, info.height);
  const { data } = context.getImageData(0, 0, info.width, info.height);
  const plane = info.width * info.height;
  const pixels = new Float32Array(info.channels * plane);
  for (let i = 0; i < plane; i++) {
    const [r, g, b] = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
    if (info.channels === 1) {
      pixels[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255; // as PIL's convert("L")
    } else {
      for (let c = 0; c < 3; c++) pixels[c * plane + i] = [r, g, b][c] / 255;
    }
  }
  paintImage(context, pixels, [info.channels, info.height, info.width]);
  return { pixels, url: canvas.toDataURL("image/png") };
}

/** Accept files dropped on `zone` or picked in `input`; `take(file)` gets the first. */
export function acceptFiles(zone, input, take) {
  input.addEventListener("change", () => input.files[0] && take(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (file) take(file);
  });
}
