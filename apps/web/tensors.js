// Network tensors from pixel planes and back, as the contract's tensor spec says: normalisation
// (tensor = (pixel - mean) / std), dtype (float32, float16, or integers with a quantization
// [scale, zero_point]) and layout (NCHW or NHWC). No onnxruntime import here: a packed tensor is
// { dtype, data, dims } that session.js hands to onnxruntime-web.

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

// IEEE half-precision bits of a number, rounded to nearest even (through float32, as numpy's
// astype(float16) of a float32 array does).
export function toHalf(value) {
  f32[0] = value;
  const x = u32[0], sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) { // subnormal half (or zero)
    if (e < -10) return sign;
    const m = mant | 0x800000, shift = 14 - e;
    const half = m >>> shift, rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

export function fromHalf(bits) {
  const sign = bits & 0x8000 ? -1 : 1, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const INT_RANGE = { uint8: [0, 255], int8: [-128, 127] };
const ARRAYS = { float32: Float32Array, float16: Uint16Array, uint8: Uint8Array, int8: Int8Array };

function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The value one element of `spec`'s dtype stores for the network value v (a float32 first).
function encoder(spec) {
  if (spec.dtype === 'float32') return (v) => v;
  if (spec.dtype === 'float16') return (v) => toHalf(v);
  const [lo, hi] = INT_RANGE[spec.dtype];
  const [scale, zero] = spec.quantization || [1, 0];
  return (v) => Math.min(hi, Math.max(lo, roundHalfEven(Math.fround(v) / scale) + zero));
}

// onnxruntime-web gives float16 data as Uint16Array bits, or as Float16Array where the browser has it.
function decoder(spec, data) {
  if (spec.dtype === 'float16') return data instanceof Uint16Array ? fromHalf : (q) => q;
  if (spec.dtype in INT_RANGE && spec.quantization) {
    const [scale, zero] = spec.quantization;
    return (q) => (q - zero) * scale;
  }
  return (q) => q;
}

export function dims(spec, c, h, w) {
  return spec.layout === 'NHWC' ? [1, h, w, c] : [1, c, h, w];
}

// Pixel planes (c x h*w, float64 on 0-255) -> { dtype, data, dims } for the network.
export function pack(planes, h, w, spec) {
  const c = planes.length, n = h * w;
  const { mean, std } = spec.normalisation;
  const data = new ARRAYS[spec.dtype](c * n), encode = encoder(spec);
  const nhwc = spec.layout === 'NHWC';
  for (let k = 0; k < c; k++) {
    const p = planes[k];
    for (let i = 0; i < n; i++) data[nhwc ? i * c + k : k * n + i] = encode(Math.fround((Math.fround(p[i]) - mean) / std));
  }
  return { dtype: spec.dtype, data, dims: dims(spec, c, h, w) };
}

// Network output data with `shape` (4-D, the spec's layout) -> planes on 0-255 (float64, not rounded).
export function unpack(data, shape, spec) {
  const nhwc = spec.layout === 'NHWC';
  const c = nhwc ? shape[3] : shape[1], h = nhwc ? shape[1] : shape[2], w = nhwc ? shape[2] : shape[3];
  const n = h * w, { mean, std } = spec.normalisation, decode = decoder(spec, data);
  const planes = [];
  for (let k = 0; k < c; k++) {
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = decode(data[nhwc ? i * c + k : k * n + i]) * std + mean;
    planes.push(p);
  }
  return { planes, height: h, width: w };
}

// Float values (already normalised) in the spec's layout -> the spec's dtype: what runTensor feeds.
export function encodeValues(values, spec) {
  const data = new ARRAYS[spec.dtype](values.length), encode = encoder(spec);
  for (let i = 0; i < values.length; i++) data[i] = encode(values[i]);
  return data;
}

export function decodeValues(data, spec) {
  const out = new Float32Array(data.length), decode = decoder(spec, data);
  for (let i = 0; i < data.length; i++) out[i] = decode(data[i]);
  return out;
}
