// Classification (task=classify): one image's [nc] output row -> the top-5 classes, as
// Ultralytics' Results.summary() writes them for Probs (name, class, confidence rounded to 5
// decimals, highest first), plus the top-1 fields.
//
// Ultralytics' Classify head ends in softmax when exported, and the predictor uses the row as it
// is. Exports without that softmax (custom heads, torchvision models) give logits, so a row that
// is not already a probability distribution gets a softmax here; a distribution is left alone.
// --conf and --classes do not filter classification results, as in Ultralytics.
// Ties keep the lower class id first (torch's argsort does not promise an order for ties).

import type { Classification, Dim } from '../types.js';
import { formatShape } from '../model/layout.js';
import { roundDecimals } from './round.js';

/** How far a row's sum may stray from 1 and still count as probabilities (float16 exports included). */
export const DISTRIBUTION_TOLERANCE = 1e-3;

/** True when every value is in [0, 1] and they sum to 1 within DISTRIBUTION_TOLERANCE. */
export function isDistribution(row: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return row.length > 0 && Math.abs(sum - 1) <= DISTRIBUTION_TOLERANCE;
}

/** softmax in float32 (max subtracted first, as torch does); NaN anywhere gives NaN everywhere. */
export function softmax(row: ArrayLike<number>): Float32Array {
  const out = new Float32Array(row.length);
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = Math.exp(row[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < row.length; i++) out[i] = out[i]! / sum;
  return out;
}

/** The row as probabilities: itself when it already is a distribution, its softmax otherwise. */
export function probabilities(row: Float32Array): Float32Array {
  return isDistribution(row) ? row : softmax(row);
}

/** Indices of the k highest values, highest first; ties by lower index, NaN last. */
export function topK(p: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: p.length }, (_, i) => i);
  idx.sort((a, b) => {
    const va = p[a]!;
    const vb = p[b]!;
    if (va !== va || vb !== vb) return (va !== va ? 1 : 0) - (vb !== vb ? 1 : 0) || a - b;
    return vb - va || a - b;
  });
  return idx.slice(0, Math.max(0, k));
}

/**
 * Classification of ONE image from its output row (length nc). `names` gives class names by id;
 * `decimals` rounds the confidences like summary(decimals).
 */
export function classifyRow(row: Float32Array, names: readonly string[], decimals = 5): Classification {
  if (row.length === 0) throw new RangeError('classify: the output row is empty (no classes)');
  const p = probabilities(row);
  const top5 = topK(p, 5).map((c) => ({ name: names[c] ?? `class${c}`, class: c, confidence: roundDecimals(p[c]!, decimals) }));
  return { ...top5[0]!, top5 };
}

/**
 * The class count of a classify output of `shape` ([B, nc]; null or names for unknown dims), null
 * when the shape does not say. Throws a RangeError naming the shape when it is not [B, nc].
 */
export function classifyClassesOf(shape: readonly Dim[] | null): number | null {
  const dims = shape ?? [null, null];
  if (dims.length !== 2 || (typeof dims[1] === 'number' && dims[1] < 1)) {
    const fmt = formatShape(dims);
    throw new RangeError(`unsupported classify output shape ${fmt}; a classify model outputs [B, nc] class scores`);
  }
  return typeof dims[1] === 'number' ? dims[1] : null;
}
