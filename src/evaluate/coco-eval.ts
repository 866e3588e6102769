// COCO evaluation, reproducing pycocotools' COCOeval (evaluate → accumulate → summarize) figure
// for figure, for boxes (iouType 'bbox'), masks ('segm', IoU of RLE masks, masks.ts) and
// keypoints ('keypoints', OKS). Written from its definition, not translated; the points where COCOeval's
// exact behaviour is easy to get subtly wrong are marked "COCOeval:".
//
// Streaming: each image is matched as it arrives (addImage) and only what accumulate needs is
// kept — per (image, category) the scores of at most maxDets[-1] detections and, per area range
// and IoU threshold, whether each was matched or ignored. Memory is proportional to detections.
import { Column, f64, i32, u16 } from './column.js';
import { rleArea, rleIou } from './masks.js';

/** A ground-truth object in COCO terms: bbox is [x, y, w, h] in pixels. */
export interface GtObject {
  category: number;
  bbox: [number, number, number, number];
  /** COCO's `area` (for instances.json the segment area, not the box area); used for size ranges. */
  area: number;
  iscrowd: boolean;
  /** segm: the object's mask. */
  mask?: Rle;
  /** keypoints: x, y, v triplets (v > 0: labelled). */
  keypoints?: number[];
}

/**
 * A detection in COCO results terms. Its area, as COCO.loadRes sets it, is the box area (bbox),
 * the mask area (segm) or the keypoints' extent (keypoints): see dtArea.
 */
export interface DtObject {
  category: number;
  bbox: [number, number, number, number];
  score: number;
  mask?: Rle;
  keypoints?: number[];
}

/** A run-length encoded mask, column-major as pycocotools stores it (masks.ts). */
export interface Rle {
  h: number;
  w: number;
  counts: number[];
}

export type IouType = 'bbox' | 'segm' | 'keypoints';

/** numpy.spacing(1): COCOeval adds it to tp + fp before dividing (and to the area in OKS). */
const EPS = 2.220446049250313e-16;

/** numpy.linspace(start, stop, num): start + i·step, with the last value exactly `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

export interface EvalParams {
  iouType: IouType;
  iouThrs: readonly number[];
  recThrs: readonly number[];
  maxDets: readonly number[];
  areaRng: readonly (readonly [number, number])[];
  areaLbl: readonly string[];
}

/** COCOeval's Params: setDetParams (bbox, segm) and setKpParams (keypoints). */
export function paramsFor(iouType: IouType): EvalParams {
  const common = { iouType, iouThrs: linspace(0.5, 0.95, 10), recThrs: linspace(0, 1, 101) };
  if (iouType === 'keypoints') {
    return {
      ...common,
      maxDets: [20],
      areaRng: [
        [0, 1e10],
        [32 ** 2, 96 ** 2],
        [96 ** 2, 1e10],
      ],
      areaLbl: ['all', 'medium', 'large'],
    };
  }
  return {
    ...common,
    maxDets: [1, 10, 100],
    areaRng: [
      [0, 1e10],
      [0, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e10],
    ],
    areaLbl: ['all', 'small', 'medium', 'large'],
  };
}

export const COCO_PARAMS = paramsFor('bbox');

/** COCO's keypoint OKS sigmas (17 person keypoints); other layouts use 1/n each, as Ultralytics does. */
export const COCO_KPT_SIGMAS = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10);

/**
 * Object keypoint similarity (COCOeval.computeOks) of a detection's keypoints with a ground
 * truth's. Ground truth without labelled keypoints: the distance to a box twice the gt's size.
 */
export function oks(dk: readonly number[], gt: GtObject): number {
  const g = gt.keypoints!;
  const k = g.length / 3;
  const sigmas = k === 17 ? COCO_KPT_SIGMAS : new Array<number>(k).fill(1 / k);
  const labelled = g.filter((_, i) => i % 3 === 2 && g[i]! > 0).length;
  const [bx, by, bw, bh] = gt.bbox;
  const x0 = bx - bw;
  const x1 = bx + bw * 2;
  const y0 = by - bh;
  const y1 = by + bh * 2;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < k; i++) {
    const xd = dk[3 * i]!;
    const yd = dk[3 * i + 1]!;
    let dx: number;
    let dy: number;
    if (labelled > 0) {
      if (!(g[3 * i + 2]! > 0)) continue;
      dx = xd - g[3 * i]!;
      dy = yd - g[3 * i + 1]!;
    } else {
      dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
      dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
    }
    const v = (sigmas[i]! * 2) ** 2;
    const e = (dx ** 2 + dy ** 2) / v / (gt.area + EPS) / 2;
    sum += Math.exp(-e);
    n++;
  }
  return sum / n;
}

/** The area COCO.loadRes gives a detection: box, mask, or the keypoints' extent. */
export function dtArea(d: DtObject, iouType: IouType): number {
  if (iouType === 'segm') return rleArea(d.mask!);
  if (iouType === 'keypoints') {
    const k = d.keypoints!;
    const xs = k.filter((_, i) => i % 3 === 0);
    const ys = k.filter((_, i) => i % 3 === 1);
    return (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
  }
  return d.bbox[2] * d.bbox[3];
}

/**
 * IoU of detection and ground-truth boxes ([x, y, w, h]) as pycocotools' maskApi bbIou computes it:
 * for a crowd ground truth the union is the detection's own area.
 */
export function bboxIou(d: readonly number[], g: readonly number[], crowd: boolean): number {
  const w = Math.min(d[2]! + d[0]!, g[2]! + g[0]!) - Math.max(d[0]!, g[0]!);
  if (w <= 0) return 0;
  const h = Math.min(d[3]! + d[1]!, g[3]! + g[1]!) - Math.max(d[1]!, g[1]!);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2]! * d[3]!;
  return i / (crowd ? da : da + g[2]! * g[3]! - i);
}

/** What accumulate needs from one (image, category): COCOeval's evalImgs entry, for all area ranges. */
interface ImageCategoryEval {
  /** Sort key of the image: COCOeval visits images in ascending id order. */
  imageOrder: number;
  /** Scores of the kept detections, highest first (stable). */
  scores: Float64Array;
  /** [a][t][d] flattened: 1 when detection d matched a ground truth (dtMatches ≠ 0). */
  matched: Uint8Array;
  /** [a][t][d]: 1 when detection d is ignored (dtIgnore). */
  ignored: Uint8Array;
  /** Per area range: ground truths not ignored (gtIgnore == 0). */
  gtCount: Int32Array;
}

/** Stable argsort of `keys` ascending (numpy's kind='mergesort'). */
function stableArgsort(keys: readonly number[]): number[] {
  return keys.map((_, i) => i).sort((i, j) => keys[i]! - keys[j]! || i - j);
}

/**
 * COCOeval.evaluateImg for one image and category, at every area range with maxDet = maxDets[-1].
 * `gts` and `dts` are that image's objects of that category.
 */
export function evaluateImageCategory(gts: readonly GtObject[], dts: readonly DtObject[], imageOrder: number, params: EvalParams = COCO_PARAMS): ImageCategoryEval | null {
  if (gts.length === 0 && dts.length === 0) return null;
  const T = params.iouThrs.length;
  const A = params.areaRng.length;
  // COCOeval: detections sorted by score with a stable sort, then cut to maxDets[-1] (computeIoU
  // and evaluateImg both do it, the same way).
  const dtOrder = stableArgsort(dts.map((d) => -d.score)).slice(0, params.maxDets[params.maxDets.length - 1]);
  const dt = dtOrder.map((i) => dts[i]!);
  const D = dt.length;
  const scores = Float64Array.from(dt, (d) => d.score);
  const matched = new Uint8Array(A * T * D);
  const ignored = new Uint8Array(A * T * D);
  const gtCount = new Int32Array(A);
  const areas = dt.map((d) => dtArea(d, params.iouType));
  if (gts.length === 0) {
    // Nothing to match: each detection is a false positive, ignored only outside a size range.
    for (let a = 0; a < A; a++) {
      const [lo, hi] = params.areaRng[a]!;
      for (let d = 0; d < D; d++) if (areas[d]! < lo || areas[d]! > hi) for (let t = 0; t < T; t++) ignored[(a * T + t) * D + d] = 1;
    }
    return { imageOrder, scores, matched, ignored, gtCount };
  }
  // IoU (or OKS) of every detection with every ground truth, in original ground-truth order.
  const similarity =
    params.iouType === 'segm'
      ? (d: DtObject, g: GtObject) => rleIou(d.mask!, g.mask!, g.iscrowd)
      : params.iouType === 'keypoints'
        ? (d: DtObject, g: GtObject) => oks(d.keypoints!, g)
        : (d: DtObject, g: GtObject) => bboxIou(d.bbox, g.bbox, g.iscrowd);
  const ious = dt.map((d) => gts.map((g) => similarity(d, g)));
  // COCOeval._prepare: `ignore` is iscrowd; for keypoints, also a ground truth with none labelled.
  const ignoreAlways = gts.map((g) => g.iscrowd || (params.iouType === 'keypoints' && !g.keypoints!.some((v, i) => i % 3 === 2 && v > 0)));

  for (let a = 0; a < A; a++) {
    const [lo, hi] = params.areaRng[a]!;
    // COCOeval: a ground truth outside the area range is ignored too.
    const gtIgAll: number[] = gts.map((g, i) => (ignoreAlways[i] || g.area < lo || g.area > hi ? 1 : 0));
    // COCOeval: ground truths sorted so that the non-ignored come first (stable).
    const gtOrder = stableArgsort(gtIgAll);
    const gtIg = gtOrder.map((g) => gtIgAll[g]!);
    const crowd = gtOrder.map((g) => gts[g]!.iscrowd);
    const G = gtOrder.length;
    gtCount[a] = gtIg.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    for (let t = 0; t < T; t++) {
      const gtm = new Uint8Array(G);
      const base = (a * T + t) * D;
      for (let d = 0; d < D; d++) {
        // COCOeval: a match needs IoU ≥ the threshold (capped just under 1); among candidates the
        // best IoU wins, a tie going to the later ground truth; once a non-ignored match is held,
        // the scan stops at the first ignored ground truth; crowds can be matched many times.
        let best = Math.min(params.iouThrs[t]!, 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (gtm[g] && !crowd[g]) continue;
          if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
          const v = ious[d]![gtOrder[g]!]!;
          if (v < best) continue;
          best = v;
          m = g;
        }
        if (m === -1) continue;
        ignored[base + d] = gtIg[m]!;
        matched[base + d] = 1;
        gtm[m] = 1;
      }
      // COCOeval: an unmatched detection outside the area range is ignored (its area as loadRes sets it).
      for (let d = 0; d < D; d++) {
        if (!matched[base + d] && (areas[d]! < lo || areas[d]! > hi)) ignored[base + d] = 1;
      }
    }
  }
  return { imageOrder, scores, matched, ignored, gtCount };
}

/** COCOeval.eval's arrays. precision[t][r][k][a][m] and recall[t][k][a][m], -1 where undefined. */
export interface Accumulated {
  categories: number[];
  precision: Float64Array;
  recall: Float64Array;
  /** Shape [T, R, K, A, M]. */
  dims: [number, number, number, number, number];
}

/** The twelve COCOeval.summarize() figures, in its order. */
export interface CocoStats {
  mAP: number;
  mAP50: number;
  mAP75: number;
  mAP_small: number;
  mAP_medium: number;
  mAP_large: number;
  AR1: number;
  AR10: number;
  AR100: number;
  AR_small: number;
  AR_medium: number;
  AR_large: number;
}

export interface ClassFigures {
  category: number;
  /** Non-crowd ground truths of all sizes. */
  gt: number;
  /** Detections scored (at most maxDets[-1] per image). */
  detections: number;
  /** mAP@[.50:.95], AP50 and AR100 over all areas; -1 when the category has no ground truth. */
  ap: number;
  ap50: number;
  ar100: number;
}

/** Counts at one score threshold, IoU 0.5, all areas (crowd and ignored matches excluded). */
export interface ThresholdCounts {
  conf: number;
  tp: number;
  fp: number;
  gt: number;
  precision: number;
  recall: number;
}

/**
 * One category's evalImgs, packed: per (image, category) entry its image order, where its
 * detections start, how many, and its non-ignored ground truths per area range; per detection
 * its score and, per area range, a bit per IoU threshold for "matched" and for "ignored".
 * About 30 bytes per detection.
 */
class CategoryStore {
  readonly entryOrder = new Column(f64);
  readonly entryStart = new Column(i32);
  readonly entryCount = new Column(i32);
  readonly entryGt = new Column(i32);
  readonly score = new Column(f64);
  readonly matched = new Column(u16);
  readonly ignored = new Column(u16);
  gtTotal = 0;

  add(e: ImageCategoryEval, A: number, T: number): void {
    const D = e.scores.length;
    this.entryOrder.push(e.imageOrder);
    this.entryStart.push(this.score.length);
    this.entryCount.push(D);
    for (let a = 0; a < A; a++) this.entryGt.push(e.gtCount[a]!);
    for (let d = 0; d < D; d++) {
      this.score.push(e.scores[d]!);
      for (let a = 0; a < A; a++) {
        let mb = 0;
        let ib = 0;
        for (let t = 0; t < T; t++) {
          mb |= e.matched[(a * T + t) * D + d]! << t;
          ib |= e.ignored[(a * T + t) * D + d]! << t;
        }
        this.matched.push(mb);
        this.ignored.push(ib);
      }
    }
  }

  get entries(): number {
    return this.entryOrder.length;
  }
}

/**
 * Collects images one at a time (addImage), then accumulates and summarises as COCOeval does.
 * Categories are evaluated in ascending id order; those without ground truth come out as -1 and
 * are left out of every mean.
 */
export class CocoEvaluator {
  private readonly stores = new Map<number, CategoryStore>();
  private images = 0;

  constructor(readonly params: EvalParams = COCO_PARAMS) {
    if (params.iouThrs.length > 16) throw new Error('at most 16 IoU thresholds');
  }

  private store(c: number): CategoryStore {
    let s = this.stores.get(c);
    if (!s) this.stores.set(c, (s = new CategoryStore()));
    return s;
  }

  /** Declares categories (e.g. every category of an instances.json) so the table lists them. */
  declareCategories(ids: Iterable<number>): void {
    for (const id of ids) this.store(id);
  }

  /** One image: its ground truths and detections. `imageOrder` sorts images as COCO image ids do. */
  addImage(imageOrder: number, gts: readonly GtObject[], dts: readonly DtObject[]): void {
    this.images++;
    const cats = new Set<number>([...gts.map((g) => g.category), ...dts.map((d) => d.category)]);
    for (const c of cats) {
      const cg = gts.filter((g) => g.category === c);
      const e = evaluateImageCategory(
        cg,
        dts.filter((d) => d.category === c),
        imageOrder,
        this.params,
      );
      const store = this.store(c);
      store.gtTotal += cg.filter((g) => !g.iscrowd).length;
      if (e) store.add(e, this.params.areaRng.length, this.params.iouThrs.length);
    }
  }

  get imageCount(): number {
    return this.images;
  }

  categories(): number[] {
    return [...this.stores.keys()].sort((a, b) => a - b);
  }

  /** COCOeval.accumulate. */
  accumulate(): Accumulated {
    const cats = this.categories();
    const { iouThrs, recThrs, maxDets, areaRng } = this.params;
    const T = iouThrs.length;
    const R = recThrs.length;
    const K = cats.length;
    const A = areaRng.length;
    const M = maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    for (const [k, cat] of cats.entries()) {
      const s = this.stores.get(cat)!;
      const nE = s.entries;
      if (nE === 0) continue;
      // COCOeval: images in ascending id order; concatenation order decides ties below.
      const entries = Array.from({ length: nE }, (_, i) => i).sort((x, y) => s.entryOrder.data[x]! - s.entryOrder.data[y]! || x - y);
      const npig = new Array<number>(A).fill(0);
      for (const e of entries) for (let a = 0; a < A; a++) npig[a] += s.entryGt.data[e * A + a]!;
      const score = s.score.data;
      const rc = new Float64Array(s.score.length);
      const pr = new Float64Array(s.score.length);
      for (const [m, maxDet] of maxDets.entries()) {
        // Each image's first maxDet detections, concatenated, then a stable sort by score.
        const concat: number[] = [];
        for (const e of entries) {
          const start = s.entryStart.data[e]!;
          const n = Math.min(maxDet, s.entryCount.data[e]!);
          for (let d = 0; d < n; d++) concat.push(start + d);
        }
        const ranked = concat.map((_, i) => i).sort((i, j) => score[concat[j]!]! - score[concat[i]!]! || i - j).map((i) => concat[i]!);
        const nd = ranked.length;
        for (let a = 0; a < A; a++) {
          if (npig[a] === 0) continue;
          for (let t = 0; t < T; t++) {
            let tp = 0;
            let fp = 0;
            for (let i = 0; i < nd; i++) {
              const det = ranked[i]! * A + a;
              if (!((s.ignored.data[det]! >> t) & 1)) {
                if ((s.matched.data[det]! >> t) & 1) tp++;
                else fp++;
              }
              rc[i] = tp / npig[a]!;
              pr[i] = tp / (fp + tp + EPS);
            }
            recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1]! : 0;
            for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
            // COCOeval: precision at the first rank whose recall reaches each recall threshold
            // (searchsorted, side='left'); 0 beyond the last rank.
            let i = 0;
            for (let r = 0; r < R; r++) {
              while (i < nd && rc[i]! < recThrs[r]!) i++;
              precision[(((t * R + r) * K + k) * A + a) * M + m] = i < nd ? pr[i]! : 0;
            }
          }
        }
      }
    }
    return { categories: cats, precision, recall, dims: [T, R, K, A, M] };
  }

  /** Precision/recall of the detections scoring ≥ conf, IoU 0.5, all areas, maxDets[-1] per image. */
  countsAt(conf: number): ThresholdCounts {
    const A = this.params.areaRng.length;
    let tp = 0;
    let fp = 0;
    let gt = 0;
    for (const s of this.stores.values()) {
      for (let e = 0; e < s.entries; e++) gt += s.entryGt.data[e * A]!; // area 0 ('all')
      for (let d = 0; d < s.score.length; d++) {
        if (s.score.data[d]! < conf || s.ignored.data[d * A]! & 1) continue; // t 0 (IoU .5)
        if (s.matched.data[d * A]! & 1) tp++;
        else fp++;
      }
    }
    return { conf, tp, fp, gt, precision: tp + fp ? tp / (tp + fp) : 0, recall: gt ? tp / gt : 0 };
  }

  /** Per-category figures (all areas, maxDets[-1]). */
  perClass(acc: Accumulated): ClassFigures[] {
    const m = this.params.maxDets.length - 1;
    return acc.categories.map((category, k) => ({
      category,
      gt: this.stores.get(category)?.gtTotal ?? 0,
      detections: this.stores.get(category)?.score.length ?? 0,
      ap: meanAp(acc, { k, a: 0, m }),
      ap50: meanAp(acc, { k, a: 0, m, t: 0 }),
      ar100: meanAr(acc, { k, a: 0, m }),
    }));
  }
}

/** COCOeval.summarize's mean: over the selected entries that are not -1; -1 when none are. */
function meanOf(values: Iterable<number>): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

interface Select {
  a: number;
  m: number;
  t?: number;
  k?: number;
}

function* range(n: number, only?: number): Generator<number> {
  if (only !== undefined) yield only;
  else for (let i = 0; i < n; i++) yield i;
}

function meanAp(acc: Accumulated, s: Select): number {
  const [Tn, R, K, An, M] = acc.dims;
  function* values() {
    for (const t of range(Tn, s.t))
      for (let r = 0; r < R; r++) for (const k of range(K, s.k)) yield acc.precision[(((t * R + r) * K + k) * An + s.a) * M + s.m]!;
  }
  return meanOf(values());
}

function meanAr(acc: Accumulated, s: Select): number {
  const [Tn, , K, An, M] = acc.dims;
  function* values() {
    for (const t of range(Tn, s.t)) for (const k of range(K, s.k)) yield acc.recall[((t * K + k) * An + s.a) * M + s.m]!;
  }
  return meanOf(values());
}

/** The ten COCOeval.summarize() figures for keypoints (maxDets 20; areas all, medium, large). */
export interface KeypointStats {
  mAP: number;
  mAP50: number;
  mAP75: number;
  mAP_medium: number;
  mAP_large: number;
  AR: number;
  AR50: number;
  AR75: number;
  AR_medium: number;
  AR_large: number;
}

/** COCOeval.summarize() for keypoints (summarizeKps). */
export function summarizeKeypoints(acc: Accumulated, params: EvalParams): KeypointStats {
  const t50 = params.iouThrs.indexOf(0.5);
  const t75 = params.iouThrs.indexOf(0.75);
  return {
    mAP: meanAp(acc, { a: 0, m: 0 }),
    mAP50: meanAp(acc, { a: 0, m: 0, t: t50 }),
    mAP75: meanAp(acc, { a: 0, m: 0, t: t75 }),
    mAP_medium: meanAp(acc, { a: 1, m: 0 }),
    mAP_large: meanAp(acc, { a: 2, m: 0 }),
    AR: meanAr(acc, { a: 0, m: 0 }),
    AR50: meanAr(acc, { a: 0, m: 0, t: t50 }),
    AR75: meanAr(acc, { a: 0, m: 0, t: t75 }),
    AR_medium: meanAr(acc, { a: 1, m: 0 }),
    AR_large: meanAr(acc, { a: 2, m: 0 }),
  };
}

/** COCOeval.summarize() for bbox and segm: the twelve standard figures. */
export function summarize(acc: Accumulated, params: EvalParams = COCO_PARAMS): CocoStats {
  const t50 = params.iouThrs.indexOf(0.5);
  const t75 = params.iouThrs.indexOf(0.75);
  return {
    mAP: meanAp(acc, { a: 0, m: 2 }),
    mAP50: meanAp(acc, { a: 0, m: 2, t: t50 }),
    mAP75: meanAp(acc, { a: 0, m: 2, t: t75 }),
    mAP_small: meanAp(acc, { a: 1, m: 2 }),
    mAP_medium: meanAp(acc, { a: 2, m: 2 }),
    mAP_large: meanAp(acc, { a: 3, m: 2 }),
    AR1: meanAr(acc, { a: 0, m: 0 }),
    AR10: meanAr(acc, { a: 0, m: 1 }),
    AR100: meanAr(acc, { a: 0, m: 2 }),
    AR_small: meanAr(acc, { a: 1, m: 2 }),
    AR_medium: meanAr(acc, { a: 2, m: 2 }),
    AR_large: meanAr(acc, { a: 3, m: 2 }),
  };
}
