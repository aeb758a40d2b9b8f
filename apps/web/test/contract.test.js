// node --test: the protobuf reader on hand-made bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ContractError, head, metadataProps, readContract } from '../contract.js';

const utf8 = (s) => [...new TextEncoder().encode(s)];
const varint = (n) => { const out = []; while (n >= 128) { out.push((n % 128) | 128); n = Math.floor(n / 128); } out.push(n); return out; };
const field = (num, bytes) => [...varint(num * 8 + 2), ...varint(bytes.length), ...bytes];
const entry = (k, v) => field(14, [...field(1, utf8(k)), ...field(2, utf8(v))]);

const CONTRACT = {
  contract_version: 1, format: 'onnx', model: 'm', colour: 'rgb', upsampling: 'post', scales: [2, 4],
  scale_input: 'scale', size: 'dynamic', tile: { overlap: 3, pad: 'edge' }, precision: 'fp32',
  input: { name: 'input', layout: 'NCHW', dtype: 'float32', channels: 3, height: null, width: null, normalisation: { mean: 0, std: 255 } },
  output: { name: 'output', layout: 'NCHW', dtype: 'float32', channels: 3, height: null, width: null, normalisation: { mean: 0, std: 255 } },
  heads: [],
};

test('metadata_props are found among other fields of every wire type', () => {
  const bytes = Uint8Array.from([
    0x08, ...varint(300), // ir_version (varint)
    ...field(7, new Array(1000).fill(7)), // a "graph" to skip
    ...entry('colour', 'rgb'),
    0x29, 1, 2, 3, 4, 5, 6, 7, 8, // a 64-bit field
    0x35, 1, 2, 3, 4, // a 32-bit field
    ...entry('edgesr', JSON.stringify(CONTRACT)),
  ]);
  const props = metadataProps(bytes);
  assert.equal(props.colour, 'rgb');
  assert.deepEqual(readContract(bytes), CONTRACT);
});

test('a model without the contract, truncated bytes and a newer contract are refused in one line', () => {
  assert.throws(() => readContract(Uint8Array.from(entry('other', 'x')), 'a.onnx'), /a.onnx carries no edgesr I\/O contract/);
  assert.throws(() => readContract(Uint8Array.from([0x0a, 0x50, 1]), 'b.onnx'), /b.onnx is not an ONNX model/);
  const newer = Uint8Array.from(entry('edgesr', JSON.stringify({ ...CONTRACT, contract_version: 9 })));
  assert.throws(() => readContract(newer, 'c.onnx'), /newer than this page reads/);
  const tflite = Uint8Array.from(entry('edgesr', JSON.stringify({ ...CONTRACT, format: 'tflite' })));
  assert.throws(() => readContract(tflite, 'd.onnx'), ContractError);
});

test('each scale has its tensors; a scale not served is refused', () => {
  assert.equal(head(CONTRACT, 4).input.name, 'input');
  assert.throws(() => head(CONTRACT, 3), /serves x2, x4, not x3/);
});
