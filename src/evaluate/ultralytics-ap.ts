// Ultralytics-style detection metrics, as `yolo val` prints them (ultralytics/utils/metrics.py
// ap_per_class + compute_ap, and DetectionValidator.match_predictions), written from their
// definition. They differ from COCOeval: every detection counts (no maxDets cap, no crowd or size
// handling), matching is by IoU over all pairs rather than by score, AP is the trapezoidal area
// under the interpolated 101-point curve, and P/R are read at the confidence that maximises the
// classes' mean F1. Ultralytics sorts scores with an unstable sort; ties here keep image order.
import { linspace } from './coco-eval.js';
import { Column, f64, i32, u16 } from './column.js';

/** Boxes here are [x1, y1, x2, y2] in pixels. */
export interface XyxyObject {
  cls: number;
  box: [number, number, number, number];
}

export interface ScoredXyxy extends XyxyObject {
  conf: number;
}

export const IOU_VECTOR = linspace(0.5, 0.95, 10);

/** torchvision-style box IoU with Ultralytics' eps (utils/metrics.py box_iou). */
function boxIou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter + 1e-7);
}

/**
 * match_predictions: per IoU threshold, every (gt, prediction) pair of the same class with IoU ≥
 * threshold, best IoU first; each prediction keeps its best pair, then each ground truth its best.
 * Returns, per prediction, a bit mask over IOU_VECTOR (bit t set: a true positive at threshold t).
 */
export function matchPredictions(preds: readonly XyxyObject[], gts: readonly XyxyObject[]): Uint16Array {
  const correct = new Uint16Array(preds.length);
  const pairs: { g: number; p: number; iou: number }[] = [];
  for (let g = 0; g < gts.length; g++) {
    for (let p = 0; p < preds.length; p++) {
      if (gts[g]!.cls !== preds[p]!.cls) continue;
      const iou = boxIou(gts[g]!.box, preds[p]!.box);
      if (iou >= IOU_VECTOR[0]!) pairs.push({ g, p, iou });
    }
  }
  // Highest IoU first; numpy's argsort()[::-1] puts equal IoUs in reverse index order.
  pairs.sort((x, y) => y.iou - x.iou || y.g - x.g || y.p - x.p);
  for (const [t, thr] of IOU_VECTOR.entries()) {
    // np.unique(matches[:, 1], return_index=True): each prediction keeps its first (best-IoU) row,
    // and the rows come out in prediction order.
    const perPred = firstPer(
      pairs.filter((m) => m.iou >= thr),
      (m) => m.p,
    ).sort((x, y) => x.p - y.p);
    // np.unique(matches[:, 0], ...) on rows now in prediction order: each ground truth keeps its
    // lowest-index (highest-confidence) prediction, not its best IoU. Ultralytics' behaviour, kept.
    for (const m of firstPer(perPred, (r) => r.g)) correct[m.p] |= 1 << t;
  }
  return correct;
}

/** The first row for each key, in the rows' order. */
function firstPer<M>(rows: M[], key: (m: M) => number): M[] {
  const seen = new Set<number>();
  return rows.filter((m) => {
    const k = key(m);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** np.interp(x, xp, fp) for increasing xp (ties allowed), with left/right defaults fp[0]/fp[-1] unless given. */
export function interp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>, left?: number, right?: number): number {
  const n = xp.length;
  if (x < xp[0]!) return left ?? fp[0]!;
  if (x > xp[n - 1]!) return right ?? fp[n - 1]!;
  // The last j with xp[j] <= x.
  let lo = 0;
  let hi = n; // first index with xp > x
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xp[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  const j = lo - 1;
  if (j === n - 1 || xp[j] === x) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / (xp[j + 1]! - xp[j]!);
  return slope * (x - xp[j]!) + fp[j]!;
}

const X101 = linspace(0, 1, 101);

/** compute_ap: precision envelope, 101-point np.interp, trapezoidal area. */
export function computeAp(recall: ArrayLike<number>, precision: ArrayLike<number>): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec[0] = 0;
  mpre[0] = 1;
  for (let i = 0; i < n; i++) {
    mrec[i + 1] = recall[i]!;
    mpre[i + 1] = precision[i]!;
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (let i = n; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  const y = X101.map((x) => interp(x, mrec, mpre));
  let area = 0;
  for (let i = 0; i + 1 < X101.length; i++) area += ((X101[i + 1]! - X101[i]!) * (y[i + 1]! + y[i]!)) / 2;
  return area;
}

export interface UltralyticsClass {
  cls: number;
  gt: number;
  detections: number;
  ap50: number;
  ap50_95: number;
}

export interface UltralyticsMetrics {
  /** Mean over classes that have ground truth (classes without detections count as 0). */
  mAP50: number;
  mAP50_95: number;
  /** Mean precision and recall over those classes at the max-mean-F1 confidence. */
  precision: number;
  recall: number;
  /** The confidence that maximises the smoothed mean F1 (what `yolo val`'s P and R are read at). */
  f1Conf: number;
  perClass: UltralyticsClass[];
}

/**
 * Streaming collector: per image, match predictions against all ground truths; keep only
 * (conf, cls, tp bits) per prediction.
 */
export class UltralyticsAccumulator {
  private readonly confCol = new Column(f64);
  private readonly clsCol = new Column(i32);
  private readonly tpCol = new Column(u16);
  private readonly gtPerClass = new Map<number, number>();

  addImage(gts: readonly XyxyObject[], preds: readonly ScoredXyxy[]): void {
    for (const g of gts) this.gtPerClass.set(g.cls, (this.gtPerClass.get(g.cls) ?? 0) + 1);
    const correct = matchPredictions(preds, gts);
    for (const [i, p] of preds.entries()) {
      this.confCol.push(p.conf);
      this.clsCol.push(p.cls);
      this.tpCol.push(correct[i]!);
    }
  }

  /** ap_per_class. null when there is no ground truth at all. */
  compute(): UltralyticsMetrics | null {
    const classes = [...this.gtPerClass.keys()].sort((a, b) => a - b);
    if (classes.length === 0) return null;
    const conf = this.confCol.data;
    const cls = this.clsCol.data;
    const tp = this.tpCol.data;
    const order = Array.from({ length: this.confCol.length }, (_, i) => i).sort((i, j) => conf[j]! - conf[i]! || i - j);
    const byClass = new Map<number, number[]>();
    for (const i of order) {
      const list = byClass.get(cls[i]!);
      if (list) list.push(i);
      else byClass.set(cls[i]!, [i]);
    }
    const xs = linspace(0, 1, 1000);
    const pCurves: Float64Array[] = [];
    const rCurves: Float64Array[] = [];
    const perClass: UltralyticsClass[] = [];
    for (const c of classes) {
      const nl = this.gtPerClass.get(c)!;
      const idx = byClass.get(c) ?? [];
      const pCurve = new Float64Array(1000);
      const rCurve = new Float64Array(1000);
      const ap = new Array<number>(IOU_VECTOR.length).fill(0);
      if (idx.length > 0) {
        const negConf = idx.map((i) => -conf[i]!);
        for (let t = 0; t < IOU_VECTOR.length; t++) {
          const rec = new Float64Array(idx.length);
          const pre = new Float64Array(idx.length);
          let tpc = 0;
          for (const [k, i] of idx.entries()) {
            if (tp[i]! & (1 << t)) tpc++;
            rec[k] = tpc / (nl + 1e-16);
            pre[k] = tpc / (k + 1);
          }
          if (t === 0) {
            for (const [k, x] of xs.entries()) {
              rCurve[k] = interp(-x, negConf, rec, 0);
              pCurve[k] = interp(-x, negConf, pre, 1);
            }
          }
          ap[t] = computeAp(rec, pre);
        }
      }
      pCurves.push(pCurve);
      rCurves.push(rCurve);
      perClass.push({ cls: c, gt: nl, detections: idx.length, ap50: ap[0]!, ap50_95: ap.reduce((s, v) => s + v, 0) / ap.length });
    }
    // F1 per class and confidence, mean over classes, box-smoothed (smooth(y, 0.1)), argmax.
    const nc = classes.length;
    const meanF1 = new Float64Array(1000);
    for (let k = 0; k < 1000; k++) {
      let s = 0;
      for (let c = 0; c < nc; c++) {
        const p = pCurves[c]![k]!;
        const r = rCurves[c]![k]!;
        s += (2 * p * r) / (p + r + 1e-16);
      }
      meanF1[k] = s / nc;
    }
    const best = argmax(smooth(meanF1, 0.1));
    const mean = (f: (c: number) => number) => classes.reduce((s, _, c) => s + f(c), 0) / nc;
    return {
      mAP50: mean((c) => perClass[c]!.ap50),
      mAP50_95: mean((c) => perClass[c]!.ap50_95),
      precision: mean((c) => pCurves[c]![best]!),
      recall: mean((c) => rCurves[c]![best]!),
      f1Conf: xs[best]!,
      perClass,
    };
  }
}

/** Ultralytics' smooth(): box filter of odd width round(n·f·2)//2+1, edges padded with the end values. */
function smooth(y: Float64Array, f: number): Float64Array {
  const nf = Math.floor(Math.round(y.length * f * 2) / 2) + 1;
  const half = Math.floor(nf / 2);
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    let s = 0;
    for (let k = i - half; k <= i + half; k++) s += y[Math.min(y.length - 1, Math.max(0, k))]!;
    out[i] = s / nf;
  }
  return out;
}

function argmax(y: Float64Array): number {
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i]! > y[best]!) best = i;
  return best;
}
