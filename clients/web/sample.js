// Samples from the prior as a grid of images; pick two to interpolate, or one to drag.

import { postJson } from "./api.js";
import { pngImage, pngSource, pngsOf } from "./images.js";
import { attempt, say } from "./status.js";
import { rowsOf } from "./tensors.js";

export function createSamplePanel(root, { sliders, interpolation }) {
  const $ = (selector) => root.querySelector(selector);
  const grid = $("#sample-grid");
  let info = null;
  let samples = []; // {latent, png, label}
  let picked = []; // indices, oldest first

  async function draw() {
    if (!info) return;
    const count = Number($("#sample-count").value);
    const seed = $("#sample-seed").value.trim();
    const temperature = Number($("#sample-temperature").value);
    const request = { count, temperature, imageFormat: "IMAGE_FORMAT_PNG" };
    if (seed !== "") request.seed = seed;
    say(`Sampling ${count} images…`);
    const reply = await attempt("Sampling", () =>
      postJson(`${info.path}:sample`, request));
    if (!reply) return;
    $("#sample-seed").value = reply.seed || "0";
    const latents = rowsOf(reply.latents).rows;
    samples = pngsOf(reply.images).map((png, i) => ({
      latent: Array.from(latents[i]),
      png,
      label: `sample ${i + 1} (seed ${reply.seed || 0})`,
    }));
    picked = [];
    grid.replaceChildren(...samples.map(tile));
    update();
    say(`${samples.length} samples at temperature ${temperature}, seed ${reply.seed || 0}.`);
  }

  function tile(sample, index) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tile";
    button.setAttribute("aria-pressed", "false");
    button.append(pngImage(sample.png, `Sampled image ${index + 1}`));
    button.addEventListener("click", () => toggle(index));
    return button;
  }

  function toggle(index) {
    picked = picked.includes(index)
      ? picked.filter((i) => i !== index)
      : [...picked, index].slice(-2);
    update();
  }

  function update() {
    grid.querySelectorAll(".tile").forEach((button, i) => {
      button.setAttribute("aria-pressed", String(picked.includes(i)));
    });
    $("#sample-to-interpolation").disabled = picked.length !== 2;
    $("#sample-to-sliders").disabled = picked.length === 0;
  }

  function endpoint(index) {
    const sample = samples[index];
    return { latent: sample.latent, url: pngSource(sample.png), label: sample.label };
  }

  $("#sample-form").addEventListener("submit", (event) => {
    event.preventDefault();
    draw();
  });
  $("#sample-new-seed").addEventListener("click", () => {
    $("#sample-seed").value = String(Math.floor(Math.random() * 2 ** 31));
    draw();
  });
  $("#sample-to-interpolation").addEventListener("click", () => {
    interpolation.setEndpoints(picked.map(endpoint));
  });
  $("#sample-to-sliders").addEventListener("click", () => {
    const chosen = samples[picked[picked.length - 1]];
    sliders.startFrom(chosen.latent, chosen.label);
  });

  return {
    setModel(next) {
      info = next;
      $("#sample-count").max = String(Math.min(64, info.maxItemsPerRequest || 64));
      draw();
    },
  };
}
