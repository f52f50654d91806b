// One slider per latent dimension (a chosen subset for large latents); dragging decodes
// live through latestOnly, so the image always catches up with the last position.

import { postJson } from "./api.js";
import { paintImage } from "./images.js";
import { latestOnly } from "./latest.js";
import { clearError, say, showError } from "./status.js";
import { rowsOf, tensorOf } from "./tensors.js";

const ALL_BELOW = 16; // latents up to this size get every slider
const SUBSET = 8; // otherwise this many, chosen by the person
const RANGE = 3; // sliders span +-3 standard deviations of the prior

export function createSlidersPanel(root) {
  const $ = (selector) => root.querySelector(selector);
  const canvas = $("#slider-image");
  let info = null;
  let z = [];
  let shown = [];

  const decode = latestOnly(async ({ point, movedAt }) => {
    const reply = await postJson(`${info.path}:decode`, {
      latents: tensorOf([point], [info.latentDim]),
      imageFormat: "IMAGE_FORMAT_TENSOR",
    });
    const { rows } = rowsOf(reply.images.tensor);
    paintImage(canvas.getContext("2d"), rows[0], [info.channels, info.height, info.width]);
    performance.measure("slider-to-canvas", { start: movedAt, end: performance.now() });
    canvas.dataset.painted = String(Number(canvas.dataset.painted || 0) + 1);
    clearError();
    requestAnimationFrame(() => {
      performance.measure("slider-to-paint", { start: movedAt, end: performance.now() });
    });
  }, (error) => showError("Decoding the sliders' position", error));

  function refresh() {
    decode({ point: z.slice(), movedAt: performance.now() });
  }

  function slider(dim) {
    const row = document.createElement("label");
    row.className = "slider";
    const name = document.createElement("span");
    name.textContent = `z${dim}`;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -RANGE, max: RANGE, step: 0.01 });
    input.value = String(z[dim]);
    input.dataset.dim = String(dim);
    const value = document.createElement("output");
    value.textContent = z[dim].toFixed(2);
    input.addEventListener("input", () => {
      z[dim] = Number(input.value);
      value.textContent = z[dim].toFixed(2);
      refresh();
    });
    row.append(name, input, value);
    return row;
  }

  function layout() {
    $("#sliders").replaceChildren(...shown.map(slider));
  }

  function dimChoices() {
    const details = $("#slider-dims");
    details.hidden = info.latentDim <= ALL_BELOW;
    const boxes = Array.from({ length: info.latentDim }, (_, dim) => {
      const label = document.createElement("label");
      const box = Object.assign(document.createElement("input"), { type: "checkbox" });
      box.checked = shown.includes(dim);
      box.addEventListener("change", () => {
        shown = box.checked ? [...shown, dim].sort((a, b) => a - b) : shown.filter((d) => d !== dim);
        layout();
      });
      label.append(box, ` z${dim}`);
      return label;
    });
    details.querySelector(".dim-choices").replaceChildren(...boxes);
  }

  function place(point, origin) {
    z = Array.from(point, (v) => Math.max(-RANGE, Math.min(RANGE, v)));
    $("#sliders-origin").textContent = `Starting point: ${origin}`;
    layout();
    refresh();
  }

  function startFrom(point, origin) {
    place(point, origin);
    root.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  $("#sliders-zero").addEventListener("click", () => place(new Array(info.latentDim).fill(0), "the origin"));
  $("#sliders-sample").addEventListener("click", async () => {
    try {
      const reply = await postJson(`${info.path}:sample`, { count: 1 });
      place(rowsOf(reply.latents).rows[0], `a random sample (seed ${reply.seed})`);
      say("Sliders moved to a random sample.");
    } catch (error) {
      showError("Sampling a starting point", error);
    }
  });

  return {
    setModel(next) {
      info = next;
      canvas.width = info.width;
      canvas.height = info.height;
      canvas.dataset.painted = "0";
      shown = Array.from({ length: Math.min(info.latentDim, info.latentDim <= ALL_BELOW ? ALL_BELOW : SUBSET) }, (_, i) => i);
      z = new Array(info.latentDim).fill(0);
      dimChoices();
      place(z, "the origin");
    },
    startFrom,
  };
}
