// Overlapping tiles, the scheme of edgesr.runtimes.tiling: tiles of one size whose cores cover the
// image, each reaching `overlap` pixels past its core (shifted inwards at the border); every output
// pixel comes from the tile whose core holds it. With an overlap that covers the network's receptive
// radius, the result equals the whole-image run up to float error. An image smaller than a tile is
// padded up to it (numpy pad `mode`: a fixed-size artifact's contract.tile.pad).

import { padIndex } from './pixels.js';

function starts(length, tile, core) {
  if (length <= tile) return [0];
  const s = [];
  for (let i = 0; i < length; i += core) s.push(i);
  return s;
}

function padPlanes(planes, h, w, ph, pw, mode) {
  return planes.map((p) => {
    const out = new Float64Array(ph * pw);
    for (let y = 0; y < ph; y++) {
      const sy = padIndex(y, h, mode);
      for (let x = 0; x < pw; x++) {
        const sx = padIndex(x, w, mode);
        out[y * pw + x] = sy < 0 || sx < 0 ? 0 : p[sy * w + sx];
      }
    }
    return out;
  });
}

function cut(planes, w, y, x, th, tw) {
  return planes.map((p) => {
    const out = new Float64Array(th * tw);
    for (let r = 0; r < th; r++) out.set(p.subarray((y + r) * w + x, (y + r) * w + x + tw), r * tw);
    return out;
  });
}

// The number of tiles tiledRun makes for an h x w image.
export function tileCount(h, w, [th, tw], overlap) {
  return starts(h, th, th - 2 * overlap).length * starts(w, tw, tw - 2 * overlap).length;
}

// Run `run(planes, th, tw) -> Promise<{planes, height, width}>` (output `factor` times larger) over
// tiles of [th, tw] of the planes (each h*w); returns the output planes. onTile(done, total) after each.
export async function tiledRun(planes, h, w, { tile, overlap, factor, pad = 'edge' }, run, onTile) {
  const [th, tw] = tile;
  if ((h > th && 2 * overlap >= th) || (w > tw && 2 * overlap >= tw)) {
    throw new Error(`overlap ${overlap} leaves no core in a ${th}x${tw} tile`);
  }
  const ph = Math.max(h, th), pw = Math.max(w, tw);
  const src = ph > h || pw > w ? padPlanes(planes, h, w, ph, pw, pad) : planes;
  const coreH = th - 2 * overlap, coreW = tw - 2 * overlap;
  const ys = starts(h, th, coreH), xs = starts(w, tw, coreW), total = ys.length * xs.length;
  const ow = w * factor;
  let out = null, done = 0;
  for (const y0 of ys) {
    const sy = Math.min(Math.max(0, y0 - overlap), ph - th), y1 = h > th ? Math.min(y0 + coreH, h) : h;
    for (const x0 of xs) {
      const sx = Math.min(Math.max(0, x0 - overlap), pw - tw), x1 = w > tw ? Math.min(x0 + coreW, w) : w;
      const piece = await run(cut(src, pw, sy, sx, th, tw), th, tw);
      if (piece.height !== th * factor || piece.width !== tw * factor) {
        throw new Error(`the network returned ${piece.width}x${piece.height} for a ${tw}x${th} tile, expected x${factor}`);
      }
      out = out || piece.planes.map(() => new Float64Array(h * factor * ow));
      const pw2 = piece.width, rows = (y1 - y0) * factor, cols = (x1 - x0) * factor;
      const oy = (y0 - sy) * factor, ox = (x0 - sx) * factor;
      piece.planes.forEach((p, k) => {
        for (let r = 0; r < rows; r++) {
          const from = (oy + r) * pw2 + ox;
          out[k].set(p.subarray(from, from + cols), (y0 * factor + r) * ow + x0 * factor);
        }
      });
      if (onTile) await onTile(++done, total);
    }
  }
  return out;
}
