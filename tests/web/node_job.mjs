// Runs the web app's pure modules (apps/web) in Node on inputs made in Python, for tests/web: one JSON
// job file of tasks, each reading and writing raw files. Usage: node node_job.mjs APP_DIR JOB.json
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [app, jobFile] = process.argv.slice(2);
const load = (name) => import(new URL(name, pathToFileURL(`${app}/`)));
const pixels = await load('pixels.js');
const contract = await load('contract.js');
const tensors = await load('tensors.js');

const ops = {
  imresize: (t) => pixels.imresize(new Uint8Array(readFileSync(t.input)), t.h, t.w, t.c, t.scale)[0],
  ycbcr: (t) => { // Y, Cb, Cr planes of an RGB image, as float64
    const planes = pixels.rgbToYcbcr(new Uint8Array(readFileSync(t.input)), t.n, 3, 3);
    const out = new Float64Array(3 * t.n);
    planes.forEach((p, k) => out.set(p, k * t.n));
    return out;
  },
  rgb: (t) => { // float64 Y, Cb, Cr planes back to uint8 RGB
    const all = new Float64Array(new Uint8Array(readFileSync(t.input)).buffer);
    return pixels.ycbcrToRgb([0, 1, 2].map((k) => all.subarray(k * t.n, (k + 1) * t.n)), t.n);
  },
  half: (t) => { // float32 values -> float16 bits
    const values = new Float32Array(new Uint8Array(readFileSync(t.input)).buffer);
    return Uint16Array.from(values, (v) => tensors.toHalf(v));
  },
  contract: (t) => {
    try {
      return JSON.stringify(contract.readContract(readFileSync(t.input), t.name));
    } catch (err) {
      return JSON.stringify({ error: err.message, kind: err.constructor.name });
    }
  },
};

for (const task of JSON.parse(readFileSync(jobFile, 'utf-8'))) {
  const out = ops[task.op](task);
  writeFileSync(task.output, typeof out === 'string' ? out : new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
}
