// Encode and reconstruct an uploaded picture: the original at the model's size, its
// reconstruction, and the latent mean as bars.

import { postJson } from "./api.js";
import { drawBars } from "./bars.js";
import { acceptFiles, fitToModel, pngSource, pngsOf, readImageFile } from "./images.js";
import { attempt, say } from "./status.js";
import { rowsOf, tensorOf } from "./tensors.js";

export function createReconstructPanel(root, { sliders }) {
  const $ = (selector) => root.querySelector(selector);
  let info = null;
  let mean = null;
  let name = "";

  async function reconstruct(file) {
    say(`Reconstructing ${file.name}…`);
    const reply = await attempt(`Reconstructing ${file.name}`, async () => {
      const fitted = fitToModel(await readImageFile(file), info);
      show($("#reconstruct-original"), fitted.url, `${file.name} at the model's ${info.width} × ${info.height}`);
      return postJson(`${info.path}:reconstruct`, {
        images: { tensor: tensorOf([fitted.pixels], [info.channels, info.height, info.width]) },
        imageFormat: "IMAGE_FORMAT_PNG",
      });
    });
    if (!reply) return;
    name = file.name;
    show($("#reconstruct-output"), pngSource(pngsOf(reply.images)[0]), `The model's reconstruction of ${file.name}`);
    mean = Array.from(rowsOf(reply.mean).rows[0]);
    drawBars($("#reconstruct-bars"), mean);
    $("#reconstruct-to-sliders").disabled = false;
    say(`${file.name} encoded to ${mean.length} dimensions and decoded again.`);
  }

  function show(img, url, alt) {
    img.src = url;
    img.alt = alt;
    img.hidden = false;
  }

  acceptFiles($("#reconstruct-drop"), $("#reconstruct-file"), reconstruct);
  $("#reconstruct-to-sliders").addEventListener("click", () => sliders.startFrom(mean, `the encoding of ${name}`));

  return {
    setModel(next) {
      info = next;
      mean = null;
      $("#reconstruct-to-sliders").disabled = true;
      $("#reconstruct-original").hidden = true;
      $("#reconstruct-output").hidden = true;
      const bars = $("#reconstruct-bars");
      bars.getContext("2d").clearRect(0, 0, bars.width, bars.height);
      delete bars.dataset.bars;
    },
  };
}
