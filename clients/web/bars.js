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
  const limit = Math.max(3, ...values.map(Math.abs));
  const middle = height / 2;
  const slot = width / values.length;
  context.fillStyle = styles.getPropertyValue("--bar-axis").trim() || "#999";
  context.fillRect(0, middle, width, 1);
  values.forEach((value, i) => {
    const size = (Math.abs(value) / limit) * (middle - 4);
    context.fillStyle = styles.getPropertyValue(value >= 0 ? "--bar-up" : "--bar-down").trim() || "#36c";
    context.fillRect(i * slot + slot * 0.15, value >= 0 ? middle - size : middle + 1, slot * 0.7, size);
  });
  const summary = values.map((value, i) => `z${i} ${value.toFixed(2)}`).join(", ");
  canvas.setAttribute("aria-label", `Latent mean, one bar per dimension: ${summary}`);
  canvas.dataset.bars = String(values.length);
}
