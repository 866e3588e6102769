// Rotated-box NMS exactly as Ultralytics' non_max_suppression(rotated=True) runs it: boxes of
// different classes are kept apart by adding cls × max_wh to their centres (float32, like the
// tensors), then TorchNMS.fast_nms with iou_func=batch_probiou:
//
//   sorted = argsort(scores, descending); ious = probiou(sorted, sorted).triu_(diagonal=1)
//   keep j  ⇔  no entry of column j is >= iou
//
// This is Fast-NMS, not greedy NMS: a box is dropped when ANY higher-scored box overlaps it by
// >= iou, even one that was itself dropped (greedy NMS would keep it). The comparison is >=, in
// float32. Because triu_ leaves zeros on and below the diagonal and they are counted too,
// iou = 0 suppresses every box: Ultralytics then returns nothing, and so does this.
// At most maxNms candidates (highest scores) enter, at most maxDet leave, in score order.
//
// Ties in score keep input order here (a stable sort); torch's argsort does not promise an order.
//
// Cost: every surviving box is compared with the boxes above it until one suppresses it. When the
// class offsets provably keep classes out of each other's reach (see classesCannotMeet) only boxes
// of the same class are compared, which gives the same result with far fewer pairs.

import { covariance, maxDistanceFor, probiouFrom, type Covariance, type Rbox } from './probiou.js';
import { DEFAULT_MAX_NMS, DEFAULT_MAX_WH } from './nms.js';

const f = Math.fround;

/** A rotated box before NMS, in network-input pixels. */
export interface RotatedCandidate extends Rbox {
  score: number;
  cls: number;
}

export interface RotatedNmsOptions {
  iou: number;
  agnostic: boolean;
  maxDet: number;
  /** Most candidates that enter NMS (Ultralytics max_nms). */
  maxNms?: number;
  /** Class offset multiplier (Ultralytics max_wh). */
  maxWh?: number;
}

export function rotatedNms<T extends RotatedCandidate>(cands: readonly T[], opts: RotatedNmsOptions): T[] {
  const maxNms = opts.maxNms ?? DEFAULT_MAX_NMS;
  const maxWh = opts.maxWh ?? DEFAULT_MAX_WH;
  const maxDet = Math.max(0, Math.floor(opts.maxDet));
  const iou = f(opts.iou); // torch compares the float32 IoU matrix with the threshold as float32
  if (cands.length === 0 || maxDet === 0 || !(iou > 0)) return [];

  const order = cands.map((_, i) => i);
  order.sort((a, b) => {
    const d = cands[b]!.score - cands[a]!.score;
    return d !== 0 && !Number.isNaN(d) ? d : a - b;
  });
  if (order.length > maxNms) order.length = maxNms;
  const n = order.length;

  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  const cov: Covariance[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const c = cands[order[k]!]!;
    const off = opts.agnostic ? 0 : f(c.cls * maxWh);
    cx[k] = f(c.cx + off);
    cy[k] = f(c.cy + off);
    cov[k] = covariance(c.w, c.h, c.r);
  }

  // Earlier (higher-scored) boxes each box is compared with: all of them, or its own class's.
  const peers = classesCannotMeet(cands, order, iou, maxWh, opts.agnostic) ? sameClassBefore(cands, order) : null;

  const kept: T[] = [];
  for (let j = 0; j < n && kept.length < maxDet; j++) {
    const mates = peers === null ? null : peers[j]!;
    const count = mates === null ? j : mates.count;
    let suppressed = false;
    for (let t = 0; t < count; t++) {
      const i = mates === null ? t : mates.list[t]!;
      if (probiouFrom(cx[i]!, cy[i]!, cov[i]!, cx[j]!, cy[j]!, cov[j]!) >= iou) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(cands[order[j]!]!);
  }
  return kept;
}

/**
 * True when no two boxes of different classes can reach the IoU threshold, so comparing only boxes
 * of the same class gives the same result. ProbIoU's distance term alone bounds it: for centres Δ
 * apart, bd >= Δᵀ(Σ1+Σ2)⁻¹Δ / 4 >= 1.5·|Δ|²/M², with M the longest side of any box. Offsets of
 * cls × maxWh on both axes put boxes of different classes at least √2·(maxWh − S) apart, S the
 * spread of all centres. A margin covers float32 rounding.
 */
function classesCannotMeet(
  cands: readonly RotatedCandidate[],
  order: readonly number[],
  iou: number,
  maxWh: number,
  agnostic: boolean,
): boolean {
  if (agnostic) return false;
  let minC = Infinity;
  let maxC = -Infinity;
  let longest = 0;
  for (const k of order) {
    const c = cands[k]!;
    if (![c.cx, c.cy, c.w, c.h, c.r].every(Number.isFinite)) return false;
    minC = Math.min(minC, c.cx, c.cy);
    maxC = Math.max(maxC, c.cx, c.cy);
    longest = Math.max(longest, Math.abs(c.w), Math.abs(c.h));
  }
  const gap = maxWh - (maxC - minC);
  if (!(gap > 0) || longest === 0) return false;
  const minDistance = (3 * gap * gap) / (longest * longest);
  return minDistance > 2 * maxDistanceFor(iou) + 1;
}

/** For each sorted position: its class's sorted positions, of which the first `count` come before it. */
function sameClassBefore(cands: readonly RotatedCandidate[], order: readonly number[]): { list: number[]; count: number }[] {
  const byClass = new Map<number, number[]>();
  return order.map((k, j) => {
    const cls = cands[k]!.cls;
    let list = byClass.get(cls);
    if (list === undefined) {
      list = [];
      byClass.set(cls, list);
    }
    list.push(j);
    return { list, count: list.length - 1 };
  });
}
