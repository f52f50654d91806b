// A latent vector as a bar chart on a canvas: one bar per dimension, up for positive.

export function drawBars(canvas, values) {
  const width = canvas.clientWidth || 320;
  const height = 120;
  const scale = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const context = canvas.getContext("2d");
  context.setTransform(scale, 0, 0, scale, 0, 0);
  context.clearRect(0, 0, width, height);
  const styles = getComputedStyle(canvas);
  const limit = Math.max(1, ...values.map(Math.abs)) * 1.1; // the largest bar nearly fills
  const middle = height / 2;
  const slot = width / values.length;
  context.fillStyle = styles.getPropertyValue("--bar-axis").trim() || "#999";
  context.fillRect(0, middle, width, 1);
  values.forEach((value, i) => {
    const size = (Math.abs(value) / limit) * (middle - 4);
    context.fillStyle = styles.getPropertyValue(value >= 0 ? "--bar-up" : "--bar-down").trim() || "#36c";
    const bar = Math.min(slot * 0.7, 36);
    context.fillRect((i + 0.5) * slot - bar / 2, value >= 0 ? middle - size : middle + 1, bar, size);
    if (slot >= 28) label(context, styles, value, (i + 0.5) * slot, value >= 0 ? middle + 12 : middle - 4);
  });
  const summary = values.map((value, i) => `z${i} ${value.toFixed(2)}`).join(", ");
  canvas.setAttribute("aria-label", `Latent mean, one bar per dimension: ${summary}`);
  canvas.dataset.bars = String(values.length);
}

// The value under a positive bar or over a negative one, where there is room.
function label(context, styles, value, x, y) {
  context.fillStyle = styles.getPropertyValue("--muted").trim() || "#666";
  context.font = "11px system-ui, sans-serif";
  context.textAlign = "center";
  context.fillText(value.toFixed(2), x, y);
}
