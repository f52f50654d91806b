// A walk between two images: each endpoint is a sample from the grid (a latent point) or a
// picture the person uploads or drops (resized to the model's size). The strip shows every
// step; the morph plays them back and forth.

import { postJson } from "./api.js";
import { acceptFiles, fitToModel, pngImage, pngSource, pngsOf, readImageFile } from "./images.js";
import { attempt, say, showError } from "./status.js";
import { rowsOf, tensorOf } from "./tensors.js";

const FRAME_MS = 120;

export function createInterpolationPanel(root) {
  const $ = (selector) => root.querySelector(selector);
  const slots = [...root.querySelectorAll(".endpoint")];
  const morph = $("#morph");
  const toggle = $("#morph-toggle");
  let info = null;
  let ends = [null, null]; // {latent} or {pixels}, with url and label
  let frames = [];
  let timer = null;

  function setEnd(index, end) {
    ends[index] = end;
    const img = slots[index].querySelector("img");
    img.src = end.url;
    img.alt = `${index ? "Second" : "First"} endpoint: ${end.label}`;
    img.hidden = false;
  }

  async function upload(index, file) {
    try {
      const fitted = fitToModel(await readImageFile(file), info);
      setEnd(index, { pixels: fitted.pixels, url: fitted.url, label: file.name });
    } catch (error) {
      showError(`Reading ${file.name}`, error);
    }
  }

  async function latentOf(end) {
    if (end.latent) return end.latent;
    const reply = await postJson(`${info.path}:encode`, { images: { tensor: imageTensor([end.pixels]) } });
    return Array.from(rowsOf(reply.mean).rows[0]);
  }

  function imageTensor(list) {
    return tensorOf(list, [info.channels, info.height, info.width]);
  }

  async function request() {
    const steps = Number($("#interpolation-steps").value);
    const common = { steps, method: $("#interpolation-method").value, imageFormat: "IMAGE_FORMAT_PNG" };
    if (ends.every((end) => end.pixels)) {
      return { ...common, images: { tensor: imageTensor(ends.map((end) => end.pixels)) } };
    }
    const latents = [await latentOf(ends[0]), await latentOf(ends[1])];
    return { ...common, latents: tensorOf(latents, [info.latentDim]) };
  }

  async function run() {
    if (!info) return;
    if (!ends[0] || !ends[1]) {
      return attempt("Interpolating", () => Promise.reject(new Error(
        "choose two endpoints first: upload two pictures, or select two samples in the grid")));
    }
    say("Interpolating…");
    const reply = await attempt("Interpolating", async () =>
      postJson(`${info.path}:interpolate`, await request()));
    if (!reply) return;
    frames = pngsOf(reply.images);
    $("#interpolation-strip").replaceChildren(...frames.map((png, i) =>
      pngImage(png, `Step ${i + 1} of ${frames.length} from ${ends[0].label} to ${ends[1].label}`)));
    morph.hidden = false;
    toggle.disabled = false;
    play(!matchMedia("(prefers-reduced-motion: reduce)").matches);
    say(`Interpolated in ${frames.length} steps.`);
  }

  function play(on) {
    clearInterval(timer);
    timer = null;
    if (!frames.length) return;
    let tick = 0;
    const show = () => {
      const period = Math.max(1, 2 * frames.length - 2);
      const phase = tick++ % period;
      morph.src = pngSource(frames[phase < frames.length ? phase : period - phase]);
    };
    show();
    if (on) timer = setInterval(show, FRAME_MS);
    toggle.textContent = on ? "Pause morph" : "Play morph";
    toggle.setAttribute("aria-pressed", String(on));
  }

  slots.forEach((slot, index) => {
    acceptFiles(slot, slot.querySelector("input"), (file) => upload(index, file));
  });
  toggle.addEventListener("click", () => play(timer === null));
  $("#interpolation-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });

  return {
    setModel(next) {
      info = next;
      ends = [null, null];
      frames = [];
      play(false);
      toggle.disabled = true;
      morph.hidden = true;
      $("#interpolation-strip").replaceChildren();
      slots.forEach((slot) => { slot.querySelector("img").hidden = true; });
      $("#interpolation-steps").max = String(Math.min(64, info.maxItemsPerRequest || 64));
    },
    setEndpoints(list) {
      list.forEach((end, index) => setEnd(index, end));
      root.scrollIntoView({ behavior: "smooth", block: "nearest" });
      run();
    },
  };
}
