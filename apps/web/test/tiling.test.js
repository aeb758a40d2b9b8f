// node --test: overlapping tiles give the whole-image result when the overlap covers the receptive
// radius (a 3x3 box blur, radius 1, then a nearest x2), and padding follows numpy.pad.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { padIndex } from '../pixels.js';
import { tileCount, tiledRun } from '../tiling.js';

// The "network": a 3x3 mean (edge-replicated border) then each pixel repeated 2x2.
function blurUp(planes, h, w) {
  const out = planes.map((p) => {
    const o = new Float64Array(4 * h * w);
    for (let y = 0; y < 2 * h; y++) {
      for (let x = 0; x < 2 * w; x++) {
        const cy = y >> 1, cx = x >> 1;
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += p[padIndex(cy + dy, h, 'edge') * w + padIndex(cx + dx, w, 'edge')];
        o[y * 2 * w + x] = s / 9;
      }
    }
    return o;
  });
  return { planes: out, height: 2 * h, width: 2 * w };
}

test('tiles with overlap >= the radius equal the whole image away from the padding', async () => {
  const h = 37, w = 29, plane = Float64Array.from({ length: h * w }, (_, i) => (i * 7919) % 251);
  const whole = blurUp([plane], h, w).planes[0];
  let calls = 0;
  const tiled = await tiledRun([plane], h, w, { tile: [12, 10], overlap: 1, factor: 2 }, async (p, th, tw) => {
    calls++;
    return blurUp(p, th, tw);
  });
  assert.equal(calls, tileCount(h, w, [12, 10], 1));
  assert.deepEqual(Array.from(tiled[0]), Array.from(whole));
});

test('an image smaller than a fixed tile is padded up to it and cropped back', async () => {
  const plane = Float64Array.from([1, 2, 3, 4, 5, 6]); // 2 x 3
  const out = await tiledRun([plane], 2, 3, { tile: [4, 4], overlap: 1, factor: 2, pad: 'edge' }, async (p, th, tw) => {
    assert.equal(th * tw, 16);
    return blurUp(p, th, tw);
  });
  assert.equal(out[0].length, 4 * 6);
});

test('padIndex is numpy.pad', () => {
  // numpy.pad(np.arange(4), 5, mode)
  const modes = {
    edge: [0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3],
    reflect: [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2],
    symmetric: [3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0],
  };
  for (const [mode, want] of Object.entries(modes)) {
    assert.deepEqual(Array.from({ length: 14 }, (_, i) => padIndex(i - 5, 4, mode)), want, mode);
  }
});
