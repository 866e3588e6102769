// The steps detect, segment and pose share: candidates from the detections output, NMS (or the
// end-to-end head's own order), each kept candidate as a Detection in original-image pixels, and
// the extra values (mask coefficients, keypoints) of a kept candidate gathered from its source
// row — after NMS, as Ultralytics' non_max_suppression carries its extra columns.
import { extractCandidates } from '../postprocess/candidates.js';
import { nonMaxSuppression } from '../postprocess/nms.js';
import { roundDecimals } from '../postprocess/round.js';
import { scaleBox } from '../postprocess/scale.js';
import type { Candidate, Detection, LetterboxGeometry, PostprocessOptions } from '../types.js';
import type { TaskLayout, TensorView } from './types.js';

/** Decimals written (Results.summary uses 5 for confidence; yolo-serve writes 2 for pixel coordinates). */
export const DECIMALS = { confidence: 5, pixels: 2 } as const;

/** [rows, cols] of one image's 2-D detections output. */
export function matrixDims(t: TensorView, what: string): [number, number] {
  if (t.dims.length !== 2) throw new RangeError(`${what}: expected a 2-D output per image, got [${t.dims.join(', ')}]`);
  return [t.dims[0]!, t.dims[1]!];
}

/** The candidates that survive thresholding and NMS (end-to-end heads: thresholding and max-det only). */
export function keptCandidates(det: TensorView, opts: PostprocessOptions, spec: TaskLayout): Candidate[] {
  const [rows, cols] = matrixDims(det, spec.layout);
  const numClasses = spec.layout === 'xywh-classes' ? rows - 4 - spec.extra : undefined;
  const candidates = extractCandidates(spec.layout, det.data, rows, cols, { conf: opts.conf, classes: opts.classes, numClasses });
  return spec.layout === 'xyxy-score-class'
    ? candidates.slice(0, Math.max(0, Math.floor(opts.maxDet)))
    : nonMaxSuppression(candidates, { iou: opts.iou, agnostic: opts.agnostic, maxDet: opts.maxDet });
}

/** The `spec.extra` values after a kept candidate's box/score/class, read from its source row. */
export function gatherExtras(det: TensorView, c: Candidate, spec: TaskLayout): Float32Array {
  const [rows, cols] = matrixDims(det, spec.layout);
  const row = c.row;
  if (row === undefined) throw new Error('gatherExtras: the candidate has no source row');
  const out = new Float32Array(spec.extra);
  if (spec.layout === 'xywh-classes') {
    // [4+nc+extra, N]: the extras are the last `extra` rows of column `row`.
    const first = rows - spec.extra;
    for (let k = 0; k < spec.extra; k++) out[k] = det.data[(first + k) * cols + row]!;
  } else if (spec.layout === 'xyxy-score-class') {
    // [K, 6+extra]: the extras follow x1,y1,x2,y2,score,class in the row.
    for (let k = 0; k < spec.extra; k++) out[k] = det.data[row * cols + 6 + k]!;
  } else {
    throw new RangeError(`gatherExtras: layout ${spec.layout} carries no extra values`);
  }
  return out;
}

/** A kept candidate as the record's detection (box scaled back to the image and clipped). */
export function toDetection(c: Candidate, g: LetterboxGeometry, names: readonly string[]): Detection {
  const b = scaleBox(c, g);
  return {
    name: names[c.cls] ?? `class${c.cls}`,
    class: c.cls,
    confidence: roundDecimals(c.score, DECIMALS.confidence),
    box: {
      x1: roundDecimals(b.x1, DECIMALS.pixels),
      y1: roundDecimals(b.y1, DECIMALS.pixels),
      x2: roundDecimals(b.x2, DECIMALS.pixels),
      y2: roundDecimals(b.y2, DECIMALS.pixels),
    },
  };
}

/**
 * A point from network-input pixels to original-image pixels, clipped to the image: Ultralytics
 * scale_coords + clip_coords, with the padding the letterbox really added (as scaleBox uses).
 */
export function scalePoint(x: number, y: number, g: LetterboxGeometry): [number, number] {
  const gain = Math.min(g.dstH / g.srcH, g.dstW / g.srcW);
  const sx = (x - g.padLeft) / gain;
  const sy = (y - g.padTop) / gain;
  return [sx < 0 ? 0 : sx > g.srcW ? g.srcW : sx, sy < 0 ? 0 : sy > g.srcH ? g.srcH : sy];
}
