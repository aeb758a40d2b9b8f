// The page: load an edgesr ONNX artifact, upscale an image dropped on it in overlapping tiles, show
// before and after, download the result. Everything about the model comes from its own contract.
//
// Automation API (window.edgesr), for tests and benchmarks (edgesr.web.browser drives it headless;
// `edgesr bench --device browser` builds on it). Every call returns a Promise; calls run one at a time.
//   load(url | ArrayBuffer, {backend = 'wasm' | 'webgpu', threads = 0 (onnxruntime's default), name})
//       -> {ms, contract, backend, threads}        ms: fetch + contract + session creation
//   upscale(rgba: Uint8Array|Uint8ClampedArray (w*h*4), width, height, scale, {tile})
//       -> {rgba: Uint8ClampedArray, y: Uint8Array | null (Y models: the network's own rounded Y),
//           width, height, ms, tiles}              the whole pipeline (bicubic, colour, tiles, rounding)
//   upscaleFile(blob, scale, {tile, name}) -> as upscale, plus {lrWidth, lrHeight}: what a dropped
//       file goes through (decode, before, upscale, after, download link)
//   runTensor(values: Float32Array, dims, scale) -> {data: Float32Array, dims, ms}: one network run on
//       values already in the network's units and layout (contract.input); ms times the run alone
//   decode(blob) -> {rgba, width, height}           the exact pixels of an image file
//   resultPng() -> Uint8Array                        the PNG the download button saves
//   idle() -> the status line, once everything queued (a picked or dropped file) is done
//   contract (the loaded one), ready (Promise: the page's initial model load settled)
// `tile`: network-input pixels per tile side for dynamic-size artifacts (fixed-size ones use their own).

import { describe } from './contract.js';
import { imresize, rgbaToRgb, rgbToRgba } from './pixels.js';
import { DEFAULT_TILE, MIN_SIDE, tilePlan, upscaleRgb } from './pipeline.js';
import { Network, availableBackends } from './session.js';

const $ = (id) => document.getElementById(id);
let network = null;
let queue = Promise.resolve();

// Calls run one after the other (one onnxruntime session, one page).
function serial(fn) {
  const next = queue.then(fn, fn);
  queue = next.catch(() => {});
  return next;
}

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function showError(err) {
  status(err.message || String(err), true);
}

function fail(err) { // for the API: shown on the page, and the promise rejects
  showError(err);
  throw err;
}

async function load(source, { backend = $('backend').value || 'wasm', threads = 0, name } = {}) {
  const t0 = performance.now();
  const label = name || (typeof source === 'string' ? decodeURIComponent(source.split('/').pop()) : 'the model');
  status(`loading ${label}...`);
  const bytes = typeof source === 'string' ? await (await fetchOk(source)).arrayBuffer() : source;
  const next = await Network.open(bytes, { name: label, backend, threads });
  if (network) await network.release();
  network = next;
  const ms = performance.now() - t0;
  showModel(label);
  status(`${label} loaded on ${backend} in ${(ms / 1000).toFixed(2)} s`);
  return { ms, contract: network.contract, backend, threads: network.threads };
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

function showModel(label) {
  const c = network.contract;
  $('model').textContent = `${label}: ${describe(c)}`;
  $('scale').replaceChildren(...c.scales.map((s) => new Option(`x${s}`, s)));
  $('scale').value = String(Math.max(...c.scales));
  $('scale').disabled = c.scales.length < 2;
}

function needModel() {
  if (!network) throw new Error('load an edgesr ONNX artifact first (the Model file picker)');
  return network;
}

async function upscale(rgba, width, height, scale, { tile = DEFAULT_TILE } = {}) {
  const net = needModel();
  scale = Number(scale);
  $('tile').value = String(tile);
  $('scale').value = String(scale);
  const plan = tilePlan(net.contract, Math.max(height, MIN_SIDE), Math.max(width, MIN_SIDE), scale, tile);
  status(`upscaling ${width}x${height} x${scale}: ${plan.count} tile${plan.count > 1 ? 's' : ''} of ${plan.tile.join('x')}...`);
  setProgress(0, plan.count);
  const t0 = performance.now();
  const r = await upscaleRgb(rgbaToRgb(rgba, width * height), height, width, scale, net.contract,
    (packed, s) => net.run(packed, s), { tile, onProgress: progressTick });
  const ms = performance.now() - t0;
  status(`x${scale} in ${(ms / 1000).toFixed(2)} s, ${r.tiles} tile${r.tiles > 1 ? 's' : ''}, ${net.backend}`);
  return { rgba: rgbToRgba(r.rgb, r.width * r.height), y: r.y, width: r.width, height: r.height, ms, tiles: r.tiles };
}

function setProgress(done, total) {
  $('progress').max = total;
  $('progress').value = done;
}

function progressTick(done, total) {
  setProgress(done, total);
  return new Promise((resolve) => setTimeout(resolve, 0)); // let the page paint the bar
}

// The exact pixels of an image file: no colour management, no premultiplication.
async function decode(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { rgba: data, width: canvas.width, height: canvas.height };
}

function paint(canvas, rgba, width, height) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  canvas.parentElement.style.aspectRatio = `${width} / ${height}`;
}

let before = null; // the LR image on show: {rgba, width, height, scale}

function showBefore() {
  if (!before) return;
  const { rgba, width, height, scale } = before;
  if ($('before-mode').value === 'bicubic') {
    const [rgb, h, w] = imresize(rgbaToRgb(rgba, width * height), height, width, 3, scale);
    paint($('before'), rgbToRgba(rgb, h * w), w, h);
    $('before-caption').textContent = `Before: ${width}x${height}, MATLAB bicubic x${scale}`;
  } else {
    paint($('before'), rgba, width, height);
    $('before-caption').textContent = `Before: ${width}x${height}, nearest x${scale}`;
  }
}

let result = null; // {png: Blob, url}

async function showAfter(r, name, scale) {
  paint($('after'), r.rgba, r.width, r.height);
  $('after-caption').textContent = `After: ${r.width}x${r.height}, ${network.contract.model} x${scale} ` +
    `(${(r.ms / 1000).toFixed(2)} s, ${network.backend})`;
  const png = await new Promise((resolve) => $('after').toBlob(resolve, 'image/png'));
  if (result) URL.revokeObjectURL(result.url);
  result = { png, url: URL.createObjectURL(png) };
  $('download').href = result.url;
  $('download').download = `${name.replace(/\.[^.]*$/, '')}_${network.contract.model}_x${scale}.png`;
  $('download').classList.remove('disabled');
}

async function upscaleFile(blob, scale = Number($('scale').value), { tile = Number($('tile').value), name } = {}) {
  needModel();
  const img = await decode(blob);
  before = { ...img, scale: Number(scale) };
  showBefore();
  const r = await upscale(img.rgba, img.width, img.height, scale, { tile });
  await showAfter(r, name || blob.name || 'image.png', scale);
  return { ...r, lrWidth: img.width, lrHeight: img.height };
}

async function resultPng() {
  if (!result) throw new Error('nothing upscaled yet');
  return new Uint8Array(await result.png.arrayBuffer());
}

async function listBackends() {
  const offered = await availableBackends();
  $('backend').replaceChildren(...offered.map((b) => new Option(b === 'wasm' ? 'WASM' : 'WebGPU', b)));
  return offered;
}

function wireUi() {
  $('backend').replaceChildren(new Option('WASM', 'wasm'));
  $('model-file').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (!file) return;
    serial(async () => {
      lastModel = { source: await file.arrayBuffer(), name: file.name };
      return load(lastModel.source, { name: file.name });
    }).catch(showError);
  });
  $('backend').addEventListener('change', () => {
    if (lastModel) serial(() => load(lastModel.source, { name: lastModel.name })).catch(showError);
  });
  $('image-file').addEventListener('change', (e) => e.target.files[0] && run(e.target.files[0]));
  $('before-mode').addEventListener('change', showBefore);
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = [...e.dataTransfer.files].find((f) => f.type.startsWith('image/'));
    if (file) run(file);
  });
}

const run = (file) => serial(() => upscaleFile(file)).catch(showError);

let lastModel = null; // what the backend select reloads

// edgesr serve writes config.json naming the artifact it serves; a static host without one waits
// for the Model file picker. URL parameters: backend=wasm|webgpu, load=0 (leave loading to the API).
async function initialModel() {
  const params = new URLSearchParams(location.search);
  if ((await listBackends()).includes(params.get('backend'))) $('backend').value = params.get('backend');
  if (params.get('load') === '0') return;
  const response = await fetch('config.json').catch(() => null);
  if (!response || !response.ok) {
    status('choose an edgesr ONNX artifact with the Model file picker');
    return;
  }
  const { artifact, name } = await response.json();
  lastModel = { source: artifact, name };
  await load(artifact, { name });
}

wireUi();
const api = {
  load: (source, options) => serial(() => {
    if (typeof source === 'string') lastModel = { source, name: options && options.name };
    return load(source, options);
  }).catch(fail),
  upscale: (...args) => serial(() => upscale(...args)).catch(fail),
  upscaleFile: (...args) => serial(() => upscaleFile(...args)).catch(fail),
  runTensor: (values, dims, scale) => serial(() => needModel().runValues(values, dims, Number(scale))).catch(fail),
  decode,
  resultPng: () => serial(resultPng),
  idle: () => serial(() => $('status').textContent), // after what is queued (a picked or dropped file)
  get contract() { return network && network.contract; },
};
api.ready = serial(initialModel).catch(showError);
window.edgesr = api;
