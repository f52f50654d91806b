// Wiring: the model picker and its facts, the token form, and the panels, which share
// the chosen model's info and hand latent points to one another.

import { getJson, modelPath, setTokenPrompt } from "./api.js";
import { createInterpolationPanel } from "./interpolation.js";
import { createManifoldPanel } from "./manifold.js";
import { describeModel } from "./model-info.js";
import { createReconstructPanel } from "./reconstruct.js";
import { createSamplePanel } from "./sample.js";
import { createSlidersPanel } from "./sliders.js";
import { attempt, clearError, say } from "./status.js";
import { askTokenWith } from "./token.js";

function start() {
  setTokenPrompt(askTokenWith(document.getElementById("token-dialog")));
  document.getElementById("alert-dismiss").addEventListener("click", clearError);
  const sliders = createSlidersPanel(document.getElementById("sliders-panel"));
  const interpolation = createInterpolationPanel(document.getElementById("interpolation-panel"));
  const panels = [
    createSamplePanel(document.getElementById("sample-panel"), { sliders, interpolation }),
    createManifoldPanel(document.getElementById("manifold-panel"), { sliders }),
    sliders,
    interpolation,
    createReconstructPanel(document.getElementById("reconstruct-panel"), { sliders }),
  ];
  const picker = document.getElementById("model");
  picker.addEventListener("change", () => choose(picker.value, panels));
  loadModels(picker, panels);
}

async function loadModels(picker, panels) {
  const reply = await attempt("Listing the models", () => getJson("/v1/models"));
  if (!reply) return say("No model list: see the error above.");
  const models = reply.models || [];
  picker.replaceChildren(...models.map(modelOption));
  const wanted = new URLSearchParams(location.search).get("model");
  const ready = models.filter((m) => m.state === "MODEL_STATE_READY");
  if (!ready.length) return say("The server has no model ready to serve.");
  const first = ready.find((m) => m.name === wanted) || ready[0];
  picker.value = first.name;
  await choose(first.name, panels);
}

function modelOption(model) {
  const option = new Option(model.name, model.name);
  if (model.state !== "MODEL_STATE_READY") {
    option.disabled = true;
    const why = model.reason ? `: ${model.reason}` : "";
    option.textContent = `${model.name} (${stateWord(model.state)}${why})`;
  }
  return option;
}

function stateWord(state) {
  return (state || "MODEL_STATE_UNSPECIFIED").replace("MODEL_STATE_", "").toLowerCase();
}

async function choose(name, panels) {
  say(`Loading ${name}…`);
  const info = await attempt(`Describing ${name}`, () => getJson(modelPath(name)));
  if (!info) return;
  describeModel(document.getElementById("model-info"), info);
  document.body.dataset.model = info.name;
  for (const panel of panels) panel.setModel(info);
  say(`${info.name} v${info.version} ready: ${info.latentDim}-D latent space.`);
}

start();
