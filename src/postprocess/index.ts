// One image's output slice -> Ultralytics-style detections in original-image pixels.
// Pure: no ORT, no sharp, no I/O.

import type { Candidate, Detection, LetterboxGeometry, OutputLayout, PostprocessOptions } from '../types.js';
import { extractCandidates } from './candidates.js';
import { nonMaxSuppression } from './nms.js';
import { roundDecimals } from './round.js';
import { scaleBox, type PadMode } from './scale.js';

export { extractCandidates } from './candidates.js';
export { nonMaxSuppression, type NmsOptions, DEFAULT_MAX_NMS, DEFAULT_MAX_WH } from './nms.js';
export { scaleBox, scalePadding, type PadMode } from './scale.js';
export { roundDecimals } from './round.js';

export interface OutputRounding {
  /** Decimals for confidence (Ultralytics Results.summary uses 5). */
  confidence: number;
  /** Decimals for box coordinates (Results.summary uses 5; yolo-serve writes 2). */
  box: number;
  /** Padding formula for scale_boxes (see scale.ts). */
  padMode?: PadMode;
}

export const DEFAULT_ROUNDING: OutputRounding = { confidence: 5, box: 2, padMode: 'letterbox' };

/**
 * Detections for ONE image. `data` is that image's 2-D output [rows, cols] (see extractCandidates).
 * End-to-end output ('xyxy-score-class') gets no NMS: like Ultralytics it keeps the model's order
 * and takes the first maxDet rows above the threshold.
 */
export function postprocessImage(
  layout: OutputLayout,
  data: Float32Array,
  rows: number,
  cols: number,
  geometry: LetterboxGeometry,
  opts: PostprocessOptions,
  names: readonly string[],
  rounding: OutputRounding = DEFAULT_ROUNDING,
): Detection[] {
  const candidates = extractCandidates(layout, data, rows, cols, opts);
  return keepCandidates(layout, candidates, opts).map((c) => detectionOf(c, geometry, names, rounding));
}

/** The candidates that survive: NMS, or for end-to-end output the first maxDet in model order. */
export function keepCandidates(layout: OutputLayout, candidates: Candidate[], opts: PostprocessOptions): Candidate[] {
  return layout === 'xyxy-score-class'
    ? candidates.slice(0, Math.max(0, Math.floor(opts.maxDet)))
    : nonMaxSuppression(candidates, { iou: opts.iou, agnostic: opts.agnostic, maxDet: opts.maxDet });
}

/** A kept candidate as a record's detection: box scaled back to the image, clipped and rounded. */
export function detectionOf(c: Candidate, geometry: LetterboxGeometry, names: readonly string[], rounding: OutputRounding = DEFAULT_ROUNDING): Detection {
  const b = scaleBox(c, geometry, rounding.padMode ?? 'letterbox');
  return {
    name: names[c.cls] ?? `class${c.cls}`,
    class: c.cls,
    confidence: roundDecimals(c.score, rounding.confidence),
    box: {
      x1: roundDecimals(b.x1, rounding.box),
      y1: roundDecimals(b.y1, rounding.box),
      x2: roundDecimals(b.x2, rounding.box),
      y2: roundDecimals(b.y2, rounding.box),
    },
  };
}
