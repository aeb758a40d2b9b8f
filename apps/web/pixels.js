// Pixels as edgesr's Python pipeline computes them (src/edgesr/data): MATLAB's bicubic imresize,
// bit-exact on uint8 images, MATLAB rgb2ycbcr / ycbcr2rgb (ITU-R BT.601, studio range) and uint8()
// rounding. Images are interleaved Uint8Array H x W x C; planes are Float64Array, one per channel.
// JavaScript numbers are float64, so each step here does the same IEEE operations, in the same order,
// as the numpy code it follows.

const KERNEL_WIDTH = 4;

function cubic(x) { // MATLAB's cubic kernel, a = -0.5
  const a = Math.abs(x), a2 = a * a, a3 = a2 * a;
  const inner = a <= 1 ? 1.5 * a3 - 2.5 * a2 + 1.0 : 0;
  const outer = a > 1 && a <= 2 ? -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0 : 0;
  return inner + outer;
}

// numpy's pairwise summation (what weights.sum(axis=1) does), so the normalised weights match its bits.
function npSum(a, start = 0, n = a.length) {
  if (n < 8) {
    let s = -0;
    for (let i = 0; i < n; i++) s += a[start + i];
    return s;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[start + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return npSum(a, start, half) + npSum(a, start + half, n - half);
}

// Weights and 0-based source indices (outLength x taps, row-major), as MATLAB's imresize computes them
// (edgesr.data.imresize.contributions, symmetric boundary, antialiasing when shrinking).
export function contributions(inLength, outLength, scale) {
  const shrink = scale < 1;
  const width = shrink ? KERNEL_WIDTH / scale : KERNEL_WIDTH;
  const taps = Math.ceil(width) + 2;
  const weights = new Float64Array(outLength * taps), indices = new Int32Array(outLength * taps);
  const row = new Float64Array(taps);
  for (let x = 1; x <= outLength; x++) {
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    for (let k = 0; k < taps; k++) {
      const dist = u - (left + k);
      row[k] = shrink ? scale * cubic(scale * dist) : cubic(dist);
      const m = ((left + k - 1) % (2 * inLength) + 2 * inLength) % (2 * inLength); // mirror the image
      indices[(x - 1) * taps + k] = m < inLength ? m : 2 * inLength - 1 - m;
    }
    const sum = npSum(row);
    for (let k = 0; k < taps; k++) weights[(x - 1) * taps + k] = row[k] / sum;
  }
  return { weights, indices, taps };
}

export function roundByte(v) { // MATLAB uint8(): round half away from zero (v >= 0 here), saturate
  const r = Math.floor(v + 0.5);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

// One pass of imresize along rows (axis 0) or columns (axis 1), accumulated tap by tap and rounded.
function resizeAxis(src, h, w, c, axis, outLength, scale) {
  const inLength = axis === 0 ? h : w;
  const { weights, indices, taps } = contributions(inLength, outLength, scale);
  const oh = axis === 0 ? outLength : h, ow = axis === 0 ? w : outLength;
  const out = new Uint8Array(oh * ow * c);
  const inner = axis === 0 ? w * c : c; // stride of one step along the axis, in src
  const across = axis === 0 ? w * c : h; // positions per output line
  for (let o = 0; o < outLength; o++) {
    for (let p = 0; p < across; p++) {
      for (let ch = 0; ch < (axis === 0 ? 1 : c); ch++) {
        const base = axis === 0 ? p : p * w * c + ch;
        let acc = 0;
        for (let k = 0; k < taps; k++) acc += src[base + indices[o * taps + k] * inner] * weights[o * taps + k];
        out[axis === 0 ? o * w * c + p : p * ow * c + o * c + ch] = roundByte(acc);
      }
    }
  }
  return out;
}

// MATLAB imresize(image, scale, 'bicubic') of a uint8 H x W x C image: [bytes, height, width].
export function imresize(src, h, w, c, scale) {
  const oh = Math.ceil(h * scale - 1e-9), ow = Math.ceil(w * scale - 1e-9);
  let out = src;
  let ch = h, cw = w;
  for (const axis of [0, 1]) { // equal scales: rows first
    const outLength = axis === 0 ? oh : ow;
    if ((axis === 0 ? ch : cw) === outLength && scale === 1) continue;
    out = resizeAxis(out, ch, cw, c, axis, outLength, scale);
    if (axis === 0) ch = oh; else cw = ow;
  }
  return [out, oh, ow];
}

// MATLAB rgb2ycbcr on 0-255: rows of the matrix, divided by 255 as edgesr.data.color does.
const RGB_TO_YCBCR = [
  [65.481, 128.553, 24.966],
  [-37.797, -74.203, 112.0],
  [112.0, -93.786, -18.214],
].map((r) => r.map((v) => v / 255.0));
const OFFSET = [16.0, 128.0, 128.0];

function inverse3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}
const YCBCR_TO_RGB = inverse3(RGB_TO_YCBCR);

// Y, Cb, Cr planes (float64, not rounded) of an interleaved RGB(A) image with `stride` bytes per pixel.
export function rgbToYcbcr(src, n, stride = 3, channels = 3) {
  const planes = [];
  for (let k = 0; k < channels; k++) {
    const [m0, m1, m2] = RGB_TO_YCBCR[k];
    const plane = new Float64Array(n);
    for (let i = 0, j = 0; i < n; i++, j += stride) plane[i] = src[j] * m0 + src[j + 1] * m1 + src[j + 2] * m2 + OFFSET[k];
    planes.push(plane);
  }
  return planes;
}

// Y, Cb, Cr planes back to interleaved uint8 RGB, rounded and clamped.
export function ycbcrToRgb([y, cb, cr], n) {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v0 = y[i] - OFFSET[0], v1 = cb[i] - OFFSET[1], v2 = cr[i] - OFFSET[2];
    for (let k = 0; k < 3; k++) {
      const [m0, m1, m2] = YCBCR_TO_RGB[k];
      out[i * 3 + k] = roundByte(v0 * m0 + v1 * m1 + v2 * m2);
    }
  }
  return out;
}

// Planes (float64 on 0-255) of an interleaved image, and back (rounded, clamped).
export function toPlanes(src, n, c) {
  const planes = [];
  for (let k = 0; k < c; k++) {
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = src[i * c + k];
    planes.push(p);
  }
  return planes;
}

export function fromPlanes(planes, n) {
  const c = planes.length, out = new Uint8Array(n * c);
  for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) out[i * c + k] = roundByte(planes[k][i]);
  return out;
}

export function rgbaToRgb(rgba, n) {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) { out[i * 3] = rgba[i * 4]; out[i * 3 + 1] = rgba[i * 4 + 1]; out[i * 3 + 2] = rgba[i * 4 + 2]; }
  return out;
}

export function rgbToRgba(rgb, n) {
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = rgb[i * 3]; out[i * 4 + 1] = rgb[i * 3 + 1]; out[i * 4 + 2] = rgb[i * 3 + 2]; out[i * 4 + 3] = 255;
  }
  return out;
}

// numpy.pad's index for position i (may be outside [0, n)) of a length-n axis; -1: the constant 0.
export function padIndex(i, n, mode) {
  if (i >= 0 && i < n) return i;
  if (mode === 'edge') return i < 0 ? 0 : n - 1;
  if (mode === 'constant') return -1;
  if (mode === 'symmetric' || mode === 'reflect') {
    const period = mode === 'symmetric' ? 2 * n : 2 * (n - 1);
    if (period === 0) return 0;
    const m = ((i % period) + period) % period;
    return m < n ? m : (mode === 'symmetric' ? period - 1 - m : period - m);
  }
  throw new Error(`pad mode ${mode} is not one this page knows (edge, constant, reflect, symmetric)`);
}

// Interleaved image edge-padded on the bottom and right to ph x pw.
export function padImage(src, h, w, c, ph, pw) {
  const out = new Uint8Array(ph * pw * c);
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      const s = (Math.min(y, h - 1) * w + Math.min(x, w - 1)) * c, d = (y * pw + x) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k];
    }
  }
  return out;
}

// The top-left h x w of an interleaved image of width `w0`.
export function cropImage(src, w0, c, h, w) {
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) out.set(src.subarray(y * w0 * c, y * w0 * c + w * c), y * w * c);
  return out;
}
