// The I/O contract an edgesr ONNX artifact carries inside itself (ModelProto.metadata_props, key
// "edgesr": JSON written by edgesr.formats.onnx.metadata), read from the file's bytes with a small protobuf
// reader: onnxruntime-web does not expose a model's custom metadata. No onnxruntime import here.

export const CONTRACT_KEY = 'edgesr';
export const CONTRACT_VERSION = 1; // the newest contract this page understands

const METADATA_PROPS = 14; // ModelProto field: repeated StringStringEntryProto {1: key, 2: value}

export class ContractError extends Error {}

// One protobuf varint at bytes[pos]: [value, next position]. Arithmetic, not bit operations, so that
// lengths past 2^31 stay exact.
function varint(bytes, pos) {
  let value = 0;
  for (let shift = 1; ; shift *= 128) {
    if (pos >= bytes.length) throw new ContractError('truncated protobuf varint');
    const b = bytes[pos++];
    value += (b & 0x7f) * shift;
    if (b < 0x80) return [value, pos];
    if (shift > 2 ** 56) throw new ContractError('protobuf varint too long');
  }
}

// Calls visit(field, wireType, start, end) for each field of the message in bytes[start:end];
// a length-delimited field's [start, end) is its payload.
function eachField(bytes, start, end, visit) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = varint(bytes, pos);
    const field = Math.floor(key / 8), wire = key % 8;
    let from = pos;
    if (wire === 0) [, pos] = varint(bytes, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let length;
      [length, from] = varint(bytes, pos);
      pos = from + length;
    } else throw new ContractError(`unsupported protobuf wire type ${wire}`);
    if (pos > end) throw new ContractError('truncated protobuf field');
    visit(field, wire, from, pos);
  }
}

// ModelProto.metadata_props of an ONNX file's bytes, as a plain object (key -> value).
export function metadataProps(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const text = new TextDecoder('utf-8');
  const props = {};
  eachField(bytes, 0, bytes.length, (field, wire, start, end) => {
    if (field !== METADATA_PROPS || wire !== 2) return;
    let key = '', value = '';
    eachField(bytes, start, end, (f, w, s, e) => {
      if (w !== 2) return;
      if (f === 1) key = text.decode(bytes.subarray(s, e));
      else if (f === 2) value = text.decode(bytes.subarray(s, e));
    });
    props[key] = value;
  });
  return props;
}

// The contract inside an ONNX artifact's bytes, checked; throws ContractError with a one-line reason.
export function readContract(buffer, name = 'this model') {
  let props;
  try {
    props = metadataProps(buffer);
  } catch (err) {
    throw new ContractError(`${name} is not an ONNX model (${err.message})`);
  }
  if (!(CONTRACT_KEY in props)) {
    throw new ContractError(`${name} carries no edgesr I/O contract (metadata_props "${CONTRACT_KEY}"): ` +
      'export it with edgesr export -f onnx (edgesr 0.1 or later)');
  }
  let contract;
  try {
    contract = JSON.parse(props[CONTRACT_KEY]);
  } catch (err) {
    throw new ContractError(`${name}: its edgesr metadata is not valid JSON; re-export it`);
  }
  return checkContract(contract, name);
}

const TENSOR_KEYS = ['name', 'layout', 'dtype', 'channels', 'height', 'width', 'normalisation'];

export function checkContract(c, name = 'this model') {
  const bad = (why) => { throw new ContractError(`${name}: ${why}`); };
  if (typeof c !== 'object' || c === null || !('contract_version' in c)) bad('its edgesr metadata is not an I/O contract');
  if (c.contract_version > CONTRACT_VERSION) {
    bad(`its contract version ${c.contract_version} is newer than this page reads (${CONTRACT_VERSION}); update the app`);
  }
  if (c.format !== 'onnx') bad(`a ${c.format} artifact; the browser runs ONNX artifacts`);
  if (!['y', 'rgb'].includes(c.colour)) bad(`unknown colour ${JSON.stringify(c.colour)}`);
  if (!['pre', 'post'].includes(c.upsampling)) bad(`unknown upsampling ${JSON.stringify(c.upsampling)}`);
  if (!Array.isArray(c.scales) || !c.scales.length) bad('no scales');
  for (const t of [c.input, c.output, ...(c.heads || []).flatMap((h) => [h.input, h.output])]) {
    for (const k of TENSOR_KEYS) if (!t || !(k in t)) bad(`a tensor without "${k}"`);
    if (!['NCHW', 'NHWC'].includes(t.layout)) bad(`unknown layout ${t.layout}`);
    if (!['float32', 'float16', 'uint8', 'int8'].includes(t.dtype)) bad(`tensor dtype ${t.dtype} is not one this page feeds`);
  }
  return c;
}

// The input and output tensors of one scale (a shared-trunk artifact has one head per scale).
export function head(c, scale) {
  if (!c.scales.includes(scale)) {
    throw new ContractError(`this ${c.model} artifact serves ${c.scales.map((s) => `x${s}`).join(', ')}, not x${scale}`);
  }
  const h = (c.heads || []).find((x) => x.scale === scale);
  return h ? { scale, input: h.input, output: h.output } : { scale, input: c.input, output: c.output };
}

// The network's input size a tile has, when the artifact's is fixed: [height, width], else null.
export function fixedSize(c) {
  if (c.input.height && c.input.width) return [c.input.height, c.input.width];
  if (c.size === 'enumerated' && c.input.sizes && c.input.sizes.length) return c.input.sizes[0];
  return null;
}

// The contract in one line, for the page.
export function describe(c) {
  const colour = c.colour === 'y' ? 'Y channel (BT.601)' : 'RGB';
  const feed = c.upsampling === 'pre' ? 'bicubic-upscaled input' : 'LR input';
  const size = fixedSize(c) ? `fixed ${fixedSize(c).join('x')} tiles, pad ${c.tile.pad}` : 'any size';
  return `${c.model} ${c.scales.map((s) => `x${s}`).join('/')} ${c.precision}, ${colour}, ${feed}, ` +
    `${c.input.layout} ${c.input.dtype}, ${size}, tile overlap ${c.tile.overlap}`;
}
