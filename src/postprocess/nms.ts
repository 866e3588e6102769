// Greedy NMS with torchvision.ops.nms semantics, applied the way Ultralytics' non_max_suppression
// applies it: class-aware by offsetting boxes by cls × maxWh (float32, so large offsets round the
// coordinates exactly as torch does), stable sort by score descending, suppress when IoU > iou,
// IoU = inter / (areaA + areaB - inter) in float32 with no +1, at most maxNms boxes in (highest
// scores) and at most maxDet out, in score order.
//
// Ultralytics truncates to maxNms with an unstable argsort; here the truncation is stable, so
// among exactly equal scores at the cut the earlier candidate wins.

import type { Candidate } from '../types.js';

export interface NmsOptions {
  iou: number;
  agnostic: boolean;
  maxDet: number;
  /** Most candidates that enter NMS (Ultralytics max_nms). */
  maxNms?: number;
  /** Class offset multiplier (Ultralytics max_wh). */
  maxWh?: number;
}

export const DEFAULT_MAX_NMS = 30000;
export const DEFAULT_MAX_WH = 7680;

/** Indices of `cands` sorted by score descending; equal scores keep input order. */
function stableOrderByScore(cands: readonly Candidate[]): number[] {
  const order = cands.map((_, i) => i);
  order.sort((a, b) => {
    const d = cands[b]!.score - cands[a]!.score;
    return d !== 0 && !Number.isNaN(d) ? d : a - b;
  });
  return order;
}

export function nonMaxSuppression(cands: readonly Candidate[], opts: NmsOptions): Candidate[] {
  const maxNms = opts.maxNms ?? DEFAULT_MAX_NMS;
  const maxWh = opts.maxWh ?? DEFAULT_MAX_WH;
  const maxDet = Math.max(0, Math.floor(opts.maxDet));
  if (cands.length === 0 || maxDet === 0) return [];

  const order = stableOrderByScore(cands);
  if (order.length > maxNms) order.length = maxNms;
  const n = order.length;

  // Offset boxes and areas in sorted order, in float32 like the torch tensors.
  const x1 = new Float32Array(n);
  const y1 = new Float32Array(n);
  const x2 = new Float32Array(n);
  const y2 = new Float32Array(n);
  const area = new Float32Array(n);
  const cls = new Int32Array(n);
  let minCoord = Infinity;
  let maxCoord = -Infinity;
  for (let k = 0; k < n; k++) {
    const c = cands[order[k]!]!;
    const off = opts.agnostic ? 0 : Math.fround(c.cls * maxWh);
    x1[k] = c.x1 + off;
    y1[k] = c.y1 + off;
    x2[k] = c.x2 + off;
    y2[k] = c.y2 + off;
    area[k] = Math.fround(x2[k]! - x1[k]!) * Math.fround(y2[k]! - y1[k]!);
    cls[k] = c.cls;
    minCoord = Math.min(minCoord, c.x1, c.y1, c.x2, c.y2);
    maxCoord = Math.max(maxCoord, c.x1, c.y1, c.x2, c.y2);
  }

  const suppressed = new Uint8Array(n);
  const suppressFrom = (i: number, next: (k: number) => number, start: number): void => {
    const ix1 = x1[i]!;
    const iy1 = y1[i]!;
    const ix2 = x2[i]!;
    const iy2 = y2[i]!;
    const iarea = area[i]!;
    for (let j = start; j < n; j = next(j)) {
      if (suppressed[j] === 1) continue;
      const w = Math.max(0, Math.fround(Math.min(ix2, x2[j]!) - Math.max(ix1, x1[j]!)));
      const h = Math.max(0, Math.fround(Math.min(iy2, y2[j]!) - Math.max(iy1, y1[j]!)));
      const inter = Math.fround(w * h);
      const iou = Math.fround(inter / Math.fround(Math.fround(iarea + area[j]!) - inter));
      if (iou > opts.iou) suppressed[j] = 1;
    }
  };

  // When every coordinate spans less than maxWh, offset boxes of different classes cannot
  // intersect, so class-aware NMS can run per class (same result, far fewer pairs).
  const perClass = !opts.agnostic && maxCoord - minCoord <= maxWh;
  if (!perClass) {
    const kept: Candidate[] = [];
    for (let i = 0; i < n && kept.length < maxDet; i++) {
      if (suppressed[i] === 1) continue;
      kept.push(cands[order[i]!]!);
      suppressFrom(i, (j) => j + 1, i + 1);
    }
    return kept;
  }

  // Per-class chains through the sorted order: nextSame[k] is the next index with cls[k].
  const nextSame = new Int32Array(n).fill(n);
  const lastOf = new Map<number, number>();
  for (let k = n - 1; k >= 0; k--) {
    const last = lastOf.get(cls[k]!);
    if (last !== undefined) nextSame[k] = last;
    lastOf.set(cls[k]!, k);
  }
  const step = (j: number): number => nextSame[j]!;
  const kept: Candidate[] = [];
  for (let i = 0; i < n && kept.length < maxDet; i++) {
    if (suppressed[i] === 1) continue;
    kept.push(cands[order[i]!]!);
    suppressFrom(i, step, nextSame[i]!);
  }
  return kept;
}
