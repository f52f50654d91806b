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
  const versions = (name) => models.filter((m) => m.name === name).length;
  picker.replaceChildren(...models.map((m) => modelOption(m, versions(m.name) > 1)));
  const wanted = new URLSearchParams(location.search).get("model");
  const ready = [...picker.options].filter((option) => !option.disabled);
  if (!ready.length) return say("The server has no model ready to serve.");
  const named = ready.filter((o) => o.dataset.name === wanted); // its highest version
  const first = ready.find((o) => o.value === wanted) || named[named.length - 1] || ready[0];
  picker.value = first.value;
  await choose(first.value, panels);
}

// One option per served version: "name" alone, or "name@version" when there are several.
function modelOption(model, versioned) {
  const value = versioned ? `${model.name}@${model.version}` : model.name;
  const option = new Option(versioned ? `${model.name} v${model.version}` : model.name, value);
  option.dataset.name = model.name;
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

async function choose(value, panels) {
  const [name, version] = value.split("@");
  say(`Loading ${value}…`);
  const query = version ? `?version=${version}` : "";
  const info = await attempt(`Describing ${value}`, () => getJson(modelPath(name) + query));
  if (!info) return;
  info.path = modelPath(info.name, version ? info.version : 0); // where its RPCs are posted
  describeModel(document.getElementById("model-info"), info);
  document.body.dataset.model = info.name;
  document.body.dataset.choice = value;
  for (const panel of panels) panel.setModel(info);
  say(`${info.name} v${info.version} ready: ${info.latentDim}-D latent space.`);
}

start();
