// Pure helpers for comparing detections: IoU, one-to-one matching, YOLO label
// parsing and a small AP50 / precision / recall evaluator.
//
// A detection is any object with a class (`cls`, or `classId`), a confidence
// (`conf`, ground truth needs none) and a box given either as `box: [x1, y1, x2, y2]`
// or as `x1, y1, x2, y2` fields, in pixels. Box coordinates are continuous
// (no "+1" pixel convention), as in Ultralytics and pycocotools.

import fs from 'node:fs';

/** [x1, y1, x2, y2] of a detection, or the array itself. */
export function boxOf(d) {
  if (Array.isArray(d)) return d;
  if (Array.isArray(d.box)) return d.box;
  return [d.x1, d.y1, d.x2, d.y2];
}

/** Class id of a detection. */
export function classOf(d) {
  return d.cls ?? d.classId;
}

/** Intersection over union of two boxes/detections; 0 when the union is empty. */
export function iou(a, b) {
  const [ax1, ay1, ax2, ay2] = boxOf(a);
  const [bx1, by1, bx2, by2] = boxOf(b);
  const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = w * h;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Indices of `dets` sorted by confidence, highest first; ties keep input order. */
function byConfDesc(dets) {
  return dets.map((_, i) => i).sort((i, j) => (dets[j].conf ?? 0) - (dets[i].conf ?? 0) || i - j);
}

/**
 * Greedy one-to-one matching of `ours` against `ref` (e.g. CLI output vs the
 * reference fixture). `ours` is visited by confidence, highest first; each takes
 * the not-yet-matched `ref` detection of the same class with the highest IoU,
 * if that IoU is >= iouThr.
 *
 * Returns { matched: [{ ours, ref, iou }], onlyOurs: [...], onlyRef: [...], agreement }
 * where agreement = matched / (matched + onlyOurs + onlyRef), i.e. the Jaccard
 * index of the two sets (1 when both are empty).
 */
export function matchDetections(ours, ref, { iouThr = 0.9 } = {}) {
  const refTaken = new Array(ref.length).fill(false);
  const matched = [];
  const onlyOurs = [];
  for (const i of byConfDesc(ours)) {
    let best = -1;
    let bestIou = iouThr;
    for (let j = 0; j < ref.length; j++) {
      if (refTaken[j] || classOf(ref[j]) !== classOf(ours[i])) continue;
      const v = iou(ours[i], ref[j]);
      if (v >= bestIou && (best === -1 || v > bestIou)) {
        best = j;
        bestIou = v;
      }
    }
    if (best === -1) {
      onlyOurs.push(ours[i]);
    } else {
      refTaken[best] = true;
      matched.push({ ours: ours[i], ref: ref[best], iou: bestIou });
    }
  }
  const onlyRef = ref.filter((_, j) => !refTaken[j]);
  const total = matched.length + onlyOurs.length + onlyRef.length;
  return { matched, onlyOurs, onlyRef, agreement: total === 0 ? 1 : matched.length / total };
}

/**
 * Parse YOLO label text ("class cx cy w h" per line, normalised 0..1) into
 * pixel boxes [{ cls, x1, y1, x2, y2 }] for an image of width w and height h.
 * Blank lines are skipped; malformed lines throw.
 */
export function parseYoloLabels(text, w, h) {
  const out = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const parts = line.split(/\s+/).map(Number);
    if (parts.length < 5 || parts.some((v) => !Number.isFinite(v))) {
      throw new Error(`bad YOLO label line ${n + 1}: "${raw}"`);
    }
    const [cls, cx, cy, bw, bh] = parts;
    out.push({ cls, x1: (cx - bw / 2) * w, y1: (cy - bh / 2) * h, x2: (cx + bw / 2) * w, y2: (cy + bh / 2) * h });
  }
  return out;
}

/** Read a YOLO label file; a missing file means "no objects" (background image). */
export function readYoloLabels(labelPath, w, h) {
  if (!fs.existsSync(labelPath)) return [];
  return parseYoloLabels(fs.readFileSync(labelPath, 'utf8'), w, h);
}

/**
 * COCO-style 101-point interpolated AP from a ranked list of TP flags.
 * Precision is made monotone (running max from the right), then sampled at
 * recall r = 0, 0.01, ..., 1 (values as np.linspace(0, 1, 101) gives them) taking
 * the precision at the first rank whose recall >= r (0 if none), and averaged.
 */
export function averagePrecision101(tpFlags, nGt) {
  if (nGt === 0) return NaN;
  const n = tpFlags.length;
  const recall = new Array(n);
  const precision = new Array(n);
  let tp = 0;
  for (let k = 0; k < n; k++) {
    if (tpFlags[k]) tp++;
    recall[k] = tp / nGt;
    precision[k] = tp / (k + 1);
  }
  for (let k = n - 2; k >= 0; k--) precision[k] = Math.max(precision[k], precision[k + 1]);
  let sum = 0;
  let k = 0;
  for (let i = 0; i <= 100; i++) {
    const r = i === 100 ? 1 : i * 0.01;
    while (k < n && recall[k] < r) k++;
    sum += k < n ? precision[k] : 0;
  }
  return sum / 101;
}

/** Normalise "per image" input: an array (by index) or an object (by key). */
function imageKeys(predsPerImage, gtsPerImage) {
  if (Array.isArray(predsPerImage) || Array.isArray(gtsPerImage)) {
    const n = Math.max(predsPerImage?.length ?? 0, gtsPerImage?.length ?? 0);
    return [...Array(n).keys()];
  }
  return [...new Set([...Object.keys(predsPerImage ?? {}), ...Object.keys(gtsPerImage ?? {})])].sort();
}

/**
 * Detection quality at IoU 0.5, class-aware.
 *
 * Matching (per image and class, COCO style): predictions by confidence, highest
 * first; each takes the unmatched ground truth with the highest IoU >= 0.5, else
 * it is a false positive.
 *
 * Returns:
 *  - map50: mean over classes that have ground truth of the per-class AP
 *    (101-point interpolation, see averagePrecision101); classes with ground truth
 *    but no prediction count as AP 0; predictions of classes without ground
 *    truth are ignored, as in pycocotools and Ultralytics.
 *  - pooledAp50: one AP over all predictions of all classes ranked together
 *    (still class-aware matching), recall over all ground truth.
 *  - precision, recall, tp, fp at predictions with conf >= confThr (default 0.25).
 *  - perClass: { [cls]: { ap, nGt, nPred } }, nGt (total ground truth).
 */
export function ap50(predsPerImage, gtsPerImage, { confThr = 0.25, iouThr = 0.5 } = {}) {
  const scored = []; // { conf, tp, cls } for every prediction
  const gtPerClass = new Map();
  let nGt = 0;

  for (const key of imageKeys(predsPerImage, gtsPerImage)) {
    const preds = predsPerImage?.[key] ?? [];
    const gts = gtsPerImage?.[key] ?? [];
    nGt += gts.length;
    for (const g of gts) gtPerClass.set(classOf(g), (gtPerClass.get(classOf(g)) ?? 0) + 1);

    const gtTaken = new Array(gts.length).fill(false);
    for (const i of byConfDesc(preds)) {
      const p = preds[i];
      let best = -1;
      let bestIou = iouThr;
      for (let j = 0; j < gts.length; j++) {
        if (gtTaken[j] || classOf(gts[j]) !== classOf(p)) continue;
        const v = iou(p, gts[j]);
        if (v >= bestIou && (best === -1 || v > bestIou)) {
          best = j;
          bestIou = v;
        }
      }
      if (best !== -1) gtTaken[best] = true;
      scored.push({ conf: p.conf, tp: best !== -1, cls: classOf(p) });
    }
  }

  // Stable sort: equal confidences keep image order, then within-image order.
  const ranked = byConfDesc(scored).map((i) => scored[i]);

  const perClass = {};
  for (const [cls, clsGt] of [...gtPerClass.entries()].sort((a, b) => a[0] - b[0])) {
    const flags = ranked.filter((s) => s.cls === cls).map((s) => s.tp);
    perClass[cls] = { ap: averagePrecision101(flags, clsGt), nGt: clsGt, nPred: flags.length };
  }
  const aps = Object.values(perClass).map((c) => c.ap);
  const map50 = aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : NaN;
  const pooledAp50 = averagePrecision101(
    ranked.map((s) => s.tp),
    nGt,
  );

  const atThr = scored.filter((s) => s.conf >= confThr);
  const tp = atThr.filter((s) => s.tp).length;
  const fp = atThr.length - tp;
  return {
    map50,
    pooledAp50,
    precision: atThr.length ? tp / atThr.length : NaN,
    recall: nGt ? tp / nGt : NaN,
    tp,
    fp,
    nGt,
    confThr,
    perClass,
  };
}
