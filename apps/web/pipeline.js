// From an LR image to an SR image around one network, as edgesr.inference does it in Python, driven
// by the artifact's contract alone: colour (y: the network sees MATLAB rgb2ycbcr's Y, chroma comes
// from the MATLAB-bicubic upscale; rgb: direct), upsampling (pre: feed the bicubic upscale), the
// tensors' normalisation, dtype and layout (tensors.js), and tiles (tiling.js) with the contract's
// overlap: fixed-size artifacts take tiles of their own size, dynamic ones tiles of `tile` pixels.

import { fixedSize, head } from './contract.js';
import { cropImage, fromPlanes, imresize, padImage, rgbToYcbcr, roundByte, toPlanes, ycbcrToRgb } from './pixels.js';
import { pack, unpack } from './tensors.js';
import { tileCount, tiledRun } from './tiling.js';

export const MIN_SIDE = 16; // narrower LR images are edge-padded up to it, then cropped (edgesr.inference)
export const DEFAULT_TILE = 256; // network-input pixels per tile side of a dynamic-size artifact

// The tiles an LR image of h x w is cut into at `scale`: { tile, overlap, factor, pad, count }.
export function tilePlan(contract, h, w, scale, tile = DEFAULT_TILE) {
  const pre = contract.upsampling === 'pre';
  const sh = pre ? h * scale : h, sw = pre ? w * scale : w;
  let overlap = contract.tile.overlap;
  let size = fixedSize(contract);
  if (size) {
    overlap = Math.min(overlap, Math.floor((Math.min(...size) - 1) / 2));
  } else {
    const side = Math.max(tile, 2 * overlap + 8);
    size = [Math.min(side, sh), Math.min(side, sw)];
  }
  const plan = { tile: size, overlap, factor: pre ? 1 : scale, pad: contract.tile.pad || 'edge' };
  return { ...plan, count: tileCount(sh, sw, size, overlap), inputSize: [sh, sw] };
}

// Upscale an interleaved uint8 RGB image (h x w x 3) by `scale` through `infer(packed, scale) ->
// Promise<{data, dims}>` (one network run). Returns { rgb, y (Y models: the network's own rounded Y),
// width, height, tiles }. onProgress(done, total) after each tile.
export async function upscaleRgb(rgb, h, w, scale, contract, infer, { tile = DEFAULT_TILE, onProgress } = {}) {
  if (h < MIN_SIDE || w < MIN_SIDE) {
    const gh = Math.max(h, MIN_SIDE), gw = Math.max(w, MIN_SIDE);
    const r = await upscaleRgb(padImage(rgb, h, w, 3, gh, gw), gh, gw, scale, contract, infer, { tile, onProgress });
    const H = h * scale, W = w * scale;
    return { ...r, rgb: cropImage(r.rgb, r.width, 3, H, W), y: r.y && cropImage(r.y, r.width, 1, H, W), width: W, height: H };
  }
  const hd = head(contract, scale), isY = contract.colour === 'y', pre = contract.upsampling === 'pre';
  const H = h * scale, W = w * scale;
  const bicubic = pre || isY ? imresize(rgb, h, w, 3, scale)[0] : null;
  const [src, sh, sw] = pre ? [bicubic, H, W] : [rgb, h, w];
  const planes = isY ? rgbToYcbcr(src, sh * sw, 3, 1) : toPlanes(src, sh * sw, 3);
  const plan = tilePlan(contract, h, w, scale, tile);
  const run = async (piece, th, tw) => {
    const out = await infer(pack(piece, th, tw, hd.input), scale);
    return unpack(out.data, out.dims, hd.output);
  };
  const out = await tiledRun(planes, sh, sw, plan, run, onProgress);
  if (out.length !== (isY ? 1 : 3)) throw new Error(`the network gave ${out.length} channels, its contract says ${isY ? 1 : 3}`);
  if (!isY) return { rgb: fromPlanes(out, H * W), y: null, width: W, height: H, tiles: plan.count };
  const y = new Uint8Array(H * W);
  for (let i = 0; i < y.length; i++) y[i] = roundByte(out[0][i]);
  const ycc = rgbToYcbcr(bicubic, H * W, 3, 3);
  ycc[0] = Float64Array.from(y);
  return { rgb: ycbcrToRgb(ycc, H * W), y, width: W, height: H, tiles: plan.count };
}
