// Map a box from network-input pixels back to the original image: Ultralytics
// ops.scale_boxes(img1_shape, boxes, img0_shape) with ratio_pad=None, padding=True, then clip.
//
// Padding: Ultralytics >= the fix in PR #23967 (March 2026) computes
//   pad = round((dst - round(src * gain)) / 2 - 0.1)
// which is exactly the (left, top) LetterBox applied. Earlier releases used
//   pad = round((dst - src * gain) / 2 - 0.1)
// which is off by one pixel for some sizes; 'legacy' reproduces that for comparisons with older
// Ultralytics versions. Subtraction and division run in float32 like the torch tensors
// (torch casts the Python scalar gain to float32).

import type { Box, LetterboxGeometry } from '../types.js';
import { pyRoundInt } from '../preprocess/letterbox.js';

export type PadMode = 'letterbox' | 'legacy';

/** (padX, padY) that scale_boxes subtracts. */
export function scalePadding(g: LetterboxGeometry, mode: PadMode = 'letterbox'): [number, number] {
  const gain = Math.min(g.dstH / g.srcH, g.dstW / g.srcW);
  if (mode === 'legacy') {
    return [pyRoundInt((g.dstW - g.srcW * gain) / 2 - 0.1), pyRoundInt((g.dstH - g.srcH * gain) / 2 - 0.1)];
  }
  return [pyRoundInt((g.dstW - pyRoundInt(g.srcW * gain)) / 2 - 0.1), pyRoundInt((g.dstH - pyRoundInt(g.srcH * gain)) / 2 - 0.1)];
}

const clamp = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);

export function scaleBox(c: Box, g: LetterboxGeometry, mode: PadMode = 'letterbox'): Box {
  const gain = Math.fround(Math.min(g.dstH / g.srcH, g.dstW / g.srcW));
  const [padX, padY] = scalePadding(g, mode);
  return {
    x1: clamp(Math.fround(Math.fround(c.x1 - padX) / gain), g.srcW),
    y1: clamp(Math.fround(Math.fround(c.y1 - padY) / gain), g.srcH),
    x2: clamp(Math.fround(Math.fround(c.x2 - padX) / gain), g.srcW),
    y2: clamp(Math.fround(Math.fround(c.y2 - padY) / gain), g.srcH),
  };
}
