// What the chosen model is, from GetModelInfo, as a definition list.

export function describeModel(list, info) {
  const colour = info.channels === 1 ? "grey" : info.channels === 3 ? "RGB" : `${info.channels} channels`;
  const elbo = info.testNegativeElboNats;
  const facts = [
    ["Dataset", info.dataset || "unknown"],
    ["Image size", `${info.width} × ${info.height}, ${colour}`],
    ["Latent size", String(info.latentDim)],
    ["Test ELBO", elbo === undefined ? "not recorded" : `−${Number(elbo).toFixed(2)} nats/image`],
    ["Version", `${info.version} of ${(info.versions || [info.version]).join(", ")}`],
    ["Runs on", (info.executionProvider || "").replace("ExecutionProvider", "") || "unknown"],
  ];
  list.replaceChildren(...facts.map(([term, value]) => {
    const item = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    item.append(dt, dd);
    return item;
  }));
}
