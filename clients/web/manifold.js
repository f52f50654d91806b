// The decoder over a grid of latent points spaced by the Gaussian's inverse CDF: the seed's
// 2-D manifold picture, or for larger latents a plane through two dimensions or two random
// directions. Hover, click or arrow keys show one point large; Enter opens it in the sliders.

import { postJson } from "./api.js";
import { paintImage } from "./images.js";
import { attempt, say } from "./status.js";
import { quantileGrid, rowsOf, tensorOf } from "./tensors.js";

export function createManifoldPanel(root, { sliders }) {
  const $ = (selector) => root.querySelector(selector);
  const canvas = $("#manifold");
  const loupe = $("#loupe");
  let info = null;
  let scan = null; // {n, points, images, axes}
  let cursor = null; // [column, row]

  function plane() {
    const d = info.latentDim;
    const mode = d === 2 ? "dims" : $("#manifold-mode").value;
    if (mode === "dims") {
      const [x, y] = d === 2 ? [0, 1] : [Number($("#manifold-x").value), Number($("#manifold-y").value)];
      if (x === y) throw new Error("choose two different dimensions for the plane");
      return { u: unit(d, x), v: unit(d, y), axes: [`z${x}`, `z${y}`] };
    }
    const u = normalise(gaussian(d));
    const w = gaussian(d);
    const along = dot(w, u);
    const v = normalise(w.map((value, i) => value - along * u[i]));
    return { u, v, axes: ["random direction u", "random direction v"] };
  }

  async function draw() {
    if (!info) return;
    const limit = Math.floor(Math.sqrt(info.maxItemsPerRequest || 1024));
    const n = Math.max(2, Math.min(Number($("#manifold-size").value), limit));
    let basis;
    try {
      basis = plane();
    } catch (error) {
      return attempt("Drawing the manifold", () => Promise.reject(error));
    }
    const q = quantileGrid(n);
    const points = [];
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) {
        const a = q[col];
        const b = q[n - 1 - row]; // up is positive
        points.push(basis.u.map((ui, i) => a * ui + b * basis.v[i]));
      }
    }
    say(`Decoding a ${n} × ${n} grid…`);
    const reply = await attempt("Drawing the manifold", () =>
      postJson(`${info.path}:decode`, {
        latents: tensorOf(points, [info.latentDim]),
        imageFormat: "IMAGE_FORMAT_TENSOR",
      }));
    if (!reply) return;
    scan = { n, points, images: rowsOf(reply.images.tensor).rows, axes: basis.axes };
    paintScan();
    show(Math.floor(n / 2), Math.floor(n / 2));
    $("#manifold-note").textContent =
      `${n} × ${n} points, ${basis.axes[0]} across, ${basis.axes[1]} up, spaced by the Gaussian's quantiles.`;
    say(`Manifold drawn: ${n * n} decoded points.`);
  }

  function paintScan() {
    const { width, height, channels } = info;
    canvas.width = scan.n * width;
    canvas.height = scan.n * height;
    const context = canvas.getContext("2d");
    scan.images.forEach((pixels, k) => {
      const [col, row] = [k % scan.n, Math.floor(k / scan.n)];
      paintImage(context, pixels, [channels, height, width], col * width, row * height);
    });
  }

  function show(col, row) {
    if (!scan) return;
    cursor = [col, row];
    const k = row * scan.n + col;
    paintImage(loupe.getContext("2d"), scan.images[k], [info.channels, info.height, info.width]);
    const a = scan.points[k];
    const coords = info.latentDim === 2 ? `z = (${a[0].toFixed(2)}, ${a[1].toFixed(2)})` : `point ${col + 1}, ${row + 1}`;
    $("#loupe-caption").textContent = `${coords} · Enter or double-click: open in sliders`;
    loupe.setAttribute("aria-label", `The decoded image at ${coords}`);
  }

  function cellAt(event) {
    const box = canvas.getBoundingClientRect();
    const col = Math.floor(((event.clientX - box.left) / box.width) * scan.n);
    const row = Math.floor(((event.clientY - box.top) / box.height) * scan.n);
    return [clamp(col, scan.n), clamp(row, scan.n)];
  }

  function openInSliders() {
    if (!scan || !cursor) return;
    const k = cursor[1] * scan.n + cursor[0];
    sliders.startFrom(scan.points[k], `manifold point ${cursor[0] + 1}, ${cursor[1] + 1}`);
  }

  canvas.addEventListener("mousemove", (event) => scan && show(...cellAt(event)));
  canvas.addEventListener("click", (event) => scan && show(...cellAt(event)));
  canvas.addEventListener("dblclick", openInSliders);
  canvas.addEventListener("keydown", (event) => {
    if (!scan) return;
    const [col, row] = cursor || [Math.floor(scan.n / 2), Math.floor(scan.n / 2)];
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.key === "Enter") return openInSliders();
    if (!moves[event.key]) return;
    event.preventDefault();
    show(clamp(col + moves[event.key][0], scan.n), clamp(row + moves[event.key][1], scan.n));
  });
  $("#manifold-form").addEventListener("submit", (event) => {
    event.preventDefault();
    draw();
  });
  const showMode = () => root.classList.toggle("random-plane", $("#manifold-mode").value === "random");
  $("#manifold-mode").addEventListener("change", showMode);

  return {
    setModel(next) {
      info = next;
      scan = null;
      cursor = null;
      loupe.width = info.width;
      loupe.height = info.height;
      root.classList.toggle("two-d", info.latentDim === 2);
      showMode();
      const options = () => Array.from({ length: info.latentDim }, (_, d) => new Option(`z${d}`, String(d)));
      $("#manifold-x").replaceChildren(...options());
      $("#manifold-y").replaceChildren(...options());
      $("#manifold-y").value = "1";
      draw();
    },
  };
}

const clamp = (i, n) => Math.max(0, Math.min(n - 1, i));
const unit = (d, i) => Array.from({ length: d }, (_, j) => (j === i ? 1 : 0));
const dot = (a, b) => a.reduce((sum, value, i) => sum + value * b[i], 0);
const normalise = (a) => {
  const norm = Math.sqrt(dot(a, a)) || 1;
  return a.map((value) => value / norm);
};
// Box-Muller: a direction drawn uniformly on the sphere once normalised.
const gaussian = (d) => Array.from({ length: d }, () =>
  Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));
