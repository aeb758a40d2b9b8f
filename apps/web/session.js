// One onnxruntime-web session for an edgesr artifact: the only module that touches onnxruntime.
// Backends: 'wasm' (everywhere) and 'webgpu' (where navigator.gpu exists).

import * as ort from 'onnxruntime-web';

import { head, readContract } from './contract.js';
import { decodeValues, encodeValues } from './tensors.js';

// onnxruntime-web fetches its .mjs/.wasm files from here: an absolute URL (a relative one fails to
// resolve the .mjs). edgesr serve puts onnxruntime-web's dist/ at ./ort/.
ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;

export const BACKENDS = ['wasm', 'webgpu'];

let backends = null;

// 'wasm', plus 'webgpu' where the browser has a WebGPU adapter on real hardware (a software fallback
// adapter is left out: slower than WASM).
export function availableBackends() {
  backends = backends || (async () => {
    if (typeof navigator === 'undefined' || !navigator.gpu) return ['wasm'];
    try {
      const adapter = await navigator.gpu.requestAdapter();
      return adapter && !(adapter.info && adapter.info.isFallbackAdapter) ? BACKENDS : ['wasm'];
    } catch (err) {
      return ['wasm'];
    }
  })();
  return backends;
}

export class Network {
  // Reads the artifact's contract from its bytes (refusing one without), then opens the session.
  static async open(bytes, { name = 'this model', backend = 'wasm', threads = 0 } = {}) {
    const contract = readContract(bytes, name);
    const offered = await availableBackends();
    if (!offered.includes(backend)) {
      throw new Error(`backend ${backend} is not available in this browser (only ${offered.join(', ')})`);
    }
    if (threads) ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [backend], graphOptimizationLevel: 'all',
    });
    return new Network(session, contract, backend);
  }

  constructor(session, contract, backend) {
    this.session = session;
    this.contract = contract;
    this.backend = backend;
    this.threads = ort.env.wasm.numThreads;
  }

  feeds(input, tensor, scale) {
    const feeds = { [input.name]: tensor };
    if (this.contract.scale_input) {
      feeds[this.contract.scale_input] = new ort.Tensor('int64', BigInt64Array.of(BigInt(scale)), []);
    }
    return feeds;
  }

  // One run of a packed tensor ({dtype, data, dims}, tensors.pack) at `scale`: {data, dims} as the
  // output tensor holds them (its dtype).
  async run(packed, scale) {
    const { input, output } = head(this.contract, scale);
    const tensor = new ort.Tensor(packed.dtype, packed.data, packed.dims);
    const result = await this.session.run(this.feeds(input, tensor, scale), [output.name]);
    const out = result[output.name];
    const data = out.location === 'cpu' || !out.location ? out.data : await out.getData(true);
    return { data, dims: out.dims };
  }

  // One run of float values already in the network's units and layout (converted to the input's
  // dtype here): {data: Float32Array, dims, ms}; ms times the run alone.
  async runValues(values, dims, scale) {
    const { input, output } = head(this.contract, scale);
    const packed = { dtype: input.dtype, data: encodeValues(values, input), dims };
    const t0 = performance.now();
    const out = await this.run(packed, scale);
    const ms = performance.now() - t0;
    return { data: decodeValues(out.data, output), dims: out.dims, ms };
  }

  async release() {
    await this.session.release();
  }
}
