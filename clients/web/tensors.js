// Tensors as the API carries them: {shape: ["N", "D"], data: base64 of little-endian float32}.
// Also the Gaussian's inverse CDF, for laying a grid over the prior.

/** Base64 (standard alphabet) -> Float32Array, little-endian. */
export function base64ToFloats(text) {
  const bytes = base64ToBytes(text);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** Float32Array (or any number array) -> base64 of little-endian float32. */
export function floatsToBase64(values) {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return bytesToBase64(bytes);
}

export function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes) {
  let raw = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    raw += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(raw);
}

/** A Tensor message from rows of numbers (each row one latent vector or one image). */
export function tensorOf(rows, shapeTail) {
  const size = shapeTail.reduce((a, b) => a * b, 1);
  const flat = new Float32Array(rows.length * size);
  rows.forEach((row, i) => flat.set(row, i * size));
  return { shape: [rows.length, ...shapeTail].map(String), data: floatsToBase64(flat) };
}

/** A Tensor message -> {shape: number[], rows: Float32Array[]} split along the first axis. */
export function rowsOf(tensor) {
  const shape = tensor.shape.map(Number);
  const flat = base64ToFloats(tensor.data || "");
  const size = shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = [];
  for (let i = 0; i < shape[0]; i++) rows.push(flat.subarray(i * size, (i + 1) * size));
  return { shape, rows };
}

/** The standard normal's inverse CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p) {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability ${p} is not in (0, 1)`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687,
    138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866,
    66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838,
    -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** n evenly spaced probabilities' quantiles: the grid the seed's manifold figure uses. */
export function quantileGrid(n) {
  return Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));
}
