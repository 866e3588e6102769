// `yolo-serve eval` as a function: a results file against ground truth → COCO figures (equal to
// pycocotools' COCOeval, bbox), Ultralytics-style figures, and precision/recall at a threshold.
// Images stream through one at a time; what is kept grows with detections, not images × classes.
import path from 'node:path';
import { UsageError } from '../config.js';
import { CocoEvaluator, paramsFor, summarize, summarizeKeypoints, type CocoStats, type DtObject, type KeypointStats } from './coco-eval.js';
import { indexResults, RecordReader, type ResultsIndex } from './final-records.js';
import { openGroundTruth, type GtNeeds } from './ground-truth.js';
import { polygonToRle, rleFromString } from './masks.js';
import { UltralyticsAccumulator, type XyxyObject } from './ultralytics-ap.js';

export const EVAL_SCHEMA = 1;
/** batch's default --conf: the threshold P/R are read at when the run's own is unknown. */
export const DEFAULT_PR_CONF = 0.25;
/** Above this lowest confidence, a run was made at a threshold too high for mAP. */
export const LOW_CONF_LIMIT = 0.01;

export interface EvalOptions {
  results: string;
  /** Folder of YOLO labels, a COCO .json, or null for the images/ → labels/ convention. */
  labels: string | null;
  /** Threshold for P/R; null: DEFAULT_PR_CONF. */
  conf: number | null;
  /** Class names by id (for the table); null: the names the detections carry. */
  names: string[] | null;
}

export interface EvalClassRow {
  class: number;
  name: string;
  gt: number;
  detections: number;
  /** COCOeval, all areas, 100 detections per image: mAP@[.50:.95], AP50, AR100 (-1: no ground truth). */
  ap: number;
  ap50: number;
  ar100: number;
  /** Ultralytics-style AP50-95 and AP50 (null: no ground truth for the class). */
  ul_ap50_95: number | null;
  ul_ap50: number | null;
}

export interface EvalReport {
  schema: typeof EVAL_SCHEMA;
  results: string;
  labels: { kind: 'yolo' | 'coco'; source: string };
  images: {
    evaluated: number;
    /** Evaluated images with no label file (YOLO): no objects. */
    backgrounds: number;
    /** Error records in the results: not evaluated. */
    failed: number;
    /** Images the COCO file does not list: not evaluated. */
    not_in_ground_truth: number;
  };
  ground_truth: { boxes: number; crowd: number };
  detections: { total: number; unmapped: number; lowest_confidence: number | null };
  coco: CocoStats;
  /** Segmentation records: COCOeval with iouType 'segm' (mask IoU); null for box-only results. */
  segm: CocoStats | null;
  /** Pose records: COCOeval with iouType 'keypoints' (OKS); null without keypoints. */
  keypoints: KeypointStats | null;
  ultralytics: { mAP50: number; mAP50_95: number; precision: number; recall: number; f1_conf: number } | null;
  at_threshold: { conf: number; source: string; precision: number; recall: number; tp: number; fp: number; gt: number };
  per_class: EvalClassRow[];
  warnings: string[];
  notes: string[];
}

/**
 * Which extra evaluations the results call for, from the first record that has detections:
 * segmentation records carry polygons, pose records keypoints (issue 10's record shapes).
 */
function taskNeeds(index: ResultsIndex, reader: RecordReader): GtNeeds {
  for (const span of index.spans) {
    const r = reader.read(span);
    const d = r.detections[0];
    if (!d) continue;
    return { masks: Boolean(d.segments || d.rle), keypoints: d.keypoints ? d.keypoints.x.length : null };
  }
  return { masks: false, keypoints: null };
}

export async function evaluateResults(opts: EvalOptions): Promise<EvalReport> {
  const gt = await openGroundTruth(opts.labels);
  const index = await indexResults(opts.results);
  const reader = new RecordReader(index);
  try {
    return await evaluateIndexed(opts, gt, index, reader);
  } finally {
    reader.close();
  }
}

async function evaluateIndexed(opts: EvalOptions, gt: Awaited<ReturnType<typeof openGroundTruth>>, idx: ResultsIndex, reader: RecordReader): Promise<EvalReport> {
  const needs = taskNeeds(idx, reader);
  const coco = new CocoEvaluator();
  const segm = needs.masks ? new CocoEvaluator(paramsFor('segm')) : null;
  const kpts = needs.keypoints !== null ? new CocoEvaluator(paramsFor('keypoints')) : null;
  for (const e of [segm, kpts]) e?.declareCategories(gt.declaredCategories().map((c) => c.id));
  coco.declareCategories(gt.declaredCategories().map((c) => c.id));
  const ul = new UltralyticsAccumulator();
  const names = new Map<number, string>(gt.declaredCategories().map((c) => [c.id, c.name]));
  const images = { evaluated: 0, backgrounds: 0, failed: 0, not_in_ground_truth: 0 };
  const truth = { boxes: 0, crowd: 0 };
  const dets = { total: 0, unmapped: 0, lowest_confidence: null as number | null };
  let firstUnlabelled: string | null = null;
  let seq = 0;

  for (const rec of reader.all()) {
    if (rec.error || rec.width === null || rec.height === null) {
      images.failed++;
      continue;
    }
    const img = await gt.forImage({ path: rec.path, width: rec.width, height: rec.height }, seq++, needs);
    if (!img) {
      images.not_in_ground_truth++;
      continue;
    }
    images.evaluated++;
    if (!img.labelled) {
      images.backgrounds++;
      firstUnlabelled ??= rec.path;
    }
    truth.boxes += img.objects.filter((o) => !o.iscrowd).length;
    truth.crowd += img.objects.filter((o) => o.iscrowd).length;
    const dt: DtObject[] = [];
    const segDt: DtObject[] = [];
    const kptDt: DtObject[] = [];
    const preds: (XyxyObject & { conf: number })[] = [];
    for (const d of rec.detections) {
      dets.total++;
      dets.lowest_confidence = Math.min(dets.lowest_confidence ?? Infinity, d.confidence);
      const category = gt.categoryOf(d);
      if (category === null) {
        dets.unmapped++;
        continue;
      }
      if (gt.kind === 'yolo' && !names.has(category)) names.set(category, d.name);
      const { x1, y1, x2, y2 } = d.box;
      const box = { category, bbox: [x1, y1, x2 - x1, y2 - y1] as [number, number, number, number], score: d.confidence };
      dt.push(box);
      // Masks: a COCO RLE as written (--mask-format rle) is what COCOeval's segm results are;
      // a polygon is rasterised as pycocotools would (frPyObjects).
      if (segm && d.rle) segDt.push({ ...box, mask: rleFromString(d.rle.counts, d.rle.size[0], d.rle.size[1]) });
      else if (segm && d.segments && d.segments.x.length >= 3) {
        segDt.push({ ...box, mask: polygonToRle(d.segments.x.flatMap((x, i) => [x, d.segments!.y[i]!]), rec.height, rec.width) });
      }
      if (kpts && d.keypoints && d.keypoints.x.length === needs.keypoints) {
        kptDt.push({ ...box, keypoints: d.keypoints.x.flatMap((x, i) => [x, d.keypoints!.y[i]!, 2]) });
      }
      preds.push({ cls: category, box: [x1, y1, x2, y2], conf: d.confidence });
    }
    coco.addImage(img.sortKey, img.objects, dt);
    segm?.addImage(img.sortKey, img.objects, segDt);
    kpts?.addImage(img.sortKey, img.objects, kptDt);
    // Ultralytics' COCO conversion drops crowd annotations; YOLO labels have none.
    const gts = img.objects.filter((o) => !o.iscrowd).map((o) => ({ cls: o.category, box: [o.bbox[0], o.bbox[1], o.bbox[0] + o.bbox[2], o.bbox[1] + o.bbox[3]] as [number, number, number, number] }));
    ul.addImage(gts, preds);
  }

  if (images.evaluated === 0) {
    const why = images.failed > 0 ? `all ${images.failed} records are failures` : images.not_in_ground_truth > 0 ? `none of its ${images.not_in_ground_truth} images is in ${gt.source}` : 'it holds no image records';
    throw new UsageError(`nothing to evaluate in ${opts.results}: ${why}`);
  }
  if (gt.kind === 'yolo' && images.backgrounds === images.evaluated) {
    throw new UsageError(`no label file found for any of the ${images.evaluated} images (e.g. for ${firstUnlabelled}); pass --labels DIR (a folder of <image stem>.txt) or --labels instances.json`);
  }

  const acc = coco.accumulate();
  const stats = summarize(acc);
  const ulm = ul.compute();
  const ulByClass = new Map(ulm?.perClass.map((c) => [c.cls, c]) ?? []);
  const nameOf = (c: number) => opts.names?.[c] ?? names.get(c) ?? `class ${c}`;
  const perClass: EvalClassRow[] = coco.perClass(acc).map((c) => ({
    class: c.category,
    name: nameOf(c.category),
    gt: c.gt,
    detections: c.detections,
    ap: c.ap,
    ap50: c.ap50,
    ar100: c.ar100,
    ul_ap50_95: ulByClass.get(c.category)?.ap50_95 ?? null,
    ul_ap50: ulByClass.get(c.category)?.ap50 ?? null,
  }));

  const conf = opts.conf ?? DEFAULT_PR_CONF;
  const counts = coco.countsAt(conf);
  const warnings: string[] = [];
  const notes = [...gt.notes];
  const lowest = dets.lowest_confidence;
  if (lowest !== null && lowest > LOW_CONF_LIMIT) {
    warnings.push(
      `the lowest confidence in ${path.basename(opts.results)} is ${lowest}, so the run probably used --conf ${lowest.toFixed(2)} or higher (inferred from the detections): ` +
        `mAP needs the low-confidence detections and is underestimated; rerun batch with --conf 0.001, as yolo val does`,
    );
  }
  if (images.failed > 0) warnings.push(`${images.failed} failed images (error records) were not evaluated`);
  if (images.not_in_ground_truth > 0) warnings.push(`${images.not_in_ground_truth} images are not in ${gt.source} and were not evaluated`);
  if (dets.unmapped > 0) warnings.push(`${dets.unmapped} detections have no matching category and were not evaluated`);
  if (idx.tornTail) warnings.push(`${opts.results} ends in an incomplete record (an interrupted write); it was skipped`);
  if (idx.superseded > 0) notes.push(`${idx.superseded} earlier records replaced by a later record for the same image (the last record wins)`);

  return {
    schema: EVAL_SCHEMA,
    results: opts.results,
    labels: { kind: gt.kind, source: gt.source },
    images,
    ground_truth: truth,
    detections: dets,
    coco: stats,
    segm: segm ? summarize(segm.accumulate(), segm.params) : null,
    keypoints: kpts ? summarizeKeypoints(kpts.accumulate(), kpts.params) : null,
    ultralytics: ulm ? { mAP50: ulm.mAP50, mAP50_95: ulm.mAP50_95, precision: ulm.precision, recall: ulm.recall, f1_conf: ulm.f1Conf } : null,
    at_threshold: { ...counts, source: opts.conf !== null ? '--conf' : `batch's default --conf` },
    per_class: perClass,
    warnings,
    notes,
  };
}

/** The metrics --fail-under can name, with their values; NaN for one these results do not have. */
export function gateValues(r: EvalReport): Record<string, number> {
  return {
    ...r.coco,
    precision: r.at_threshold.precision,
    recall: r.at_threshold.recall,
    'ul_mAP50': r.ultralytics?.mAP50 ?? NaN,
    'ul_mAP50-95': r.ultralytics?.mAP50_95 ?? NaN,
    mask_mAP: r.segm?.mAP ?? NaN,
    mask_mAP50: r.segm?.mAP50 ?? NaN,
    pose_mAP: r.keypoints?.mAP ?? NaN,
    pose_mAP50: r.keypoints?.mAP50 ?? NaN,
  };
}

export const GATE_METRICS = ['mAP50', 'mAP', 'mAP75', 'mAP_small', 'mAP_medium', 'mAP_large', 'AR1', 'AR10', 'AR100', 'AR_small', 'AR_medium', 'AR_large', 'precision', 'recall', 'ul_mAP50', 'ul_mAP50-95', 'mask_mAP', 'mask_mAP50', 'pose_mAP', 'pose_mAP50'] as const;

const f3 = (v: number) => (v < 0 ? '  -1 ' : v.toFixed(3));

/** The human-readable report. */
export function formatEvalReport(r: EvalReport, { perClass = true } = {}): string {
  const c = r.coco;
  const lines = [
    `eval: ${r.results} against ${r.labels.source}`,
    `  ${r.images.evaluated} images (${r.images.backgrounds} without labels: backgrounds), ${r.ground_truth.boxes} ground-truth boxes${r.ground_truth.crowd ? ` + ${r.ground_truth.crowd} crowd` : ''}, ${r.detections.total} detections`,
    `COCO (as pycocotools COCOeval, bbox; 100 detections per image)`,
    `  mAP@[.50:.95] ${f3(c.mAP)}   mAP50 ${f3(c.mAP50)}   mAP75 ${f3(c.mAP75)}`,
    `  mAP small ${f3(c.mAP_small)}   medium ${f3(c.mAP_medium)}   large ${f3(c.mAP_large)}`,
    `  AR@1 ${f3(c.AR1)}   AR@10 ${f3(c.AR10)}   AR@100 ${f3(c.AR100)}   AR small ${f3(c.AR_small)}   medium ${f3(c.AR_medium)}   large ${f3(c.AR_large)}`,
  ];
  if (r.segm) {
    const m = r.segm;
    lines.push(
      `COCO masks (as COCOeval, segm: mask IoU)`,
      `  mAP@[.50:.95] ${f3(m.mAP)}   mAP50 ${f3(m.mAP50)}   mAP75 ${f3(m.mAP75)}   small ${f3(m.mAP_small)}   medium ${f3(m.mAP_medium)}   large ${f3(m.mAP_large)}`,
      `  AR@1 ${f3(m.AR1)}   AR@10 ${f3(m.AR10)}   AR@100 ${f3(m.AR100)}`,
    );
  }
  if (r.keypoints) {
    const k = r.keypoints;
    lines.push(
      `COCO keypoints (as COCOeval, keypoints: OKS; 20 detections per image)`,
      `  mAP@[.50:.95] ${f3(k.mAP)}   mAP50 ${f3(k.mAP50)}   mAP75 ${f3(k.mAP75)}   medium ${f3(k.mAP_medium)}   large ${f3(k.mAP_large)}`,
      `  AR ${f3(k.AR)}   AR50 ${f3(k.AR50)}   AR75 ${f3(k.AR75)}   medium ${f3(k.AR_medium)}   large ${f3(k.AR_large)}`,
    );
  }
  if (r.ultralytics) {
    const u = r.ultralytics;
    lines.push(
      `Ultralytics (as yolo val: ap_per_class, all detections, 101-point trapezoid)`,
      `  mAP50-95 ${f3(u.mAP50_95)}   mAP50 ${f3(u.mAP50)}   P ${f3(u.precision)}   R ${f3(u.recall)} (at conf ${u.f1_conf.toFixed(3)}, the best mean F1)`,
    );
  }
  const t = r.at_threshold;
  lines.push(`At conf ≥ ${t.conf} (${t.source}), IoU 0.5: P ${f3(t.precision)}   R ${f3(t.recall)}   (TP ${t.tp}, FP ${t.fp}, ${t.gt} ground truths)`);
  if (perClass) {
    const w = Math.max(5, ...r.per_class.map((p) => p.name.length));
    lines.push(`per class (COCO: AP = mAP@[.50:.95]; UL = Ultralytics-style):`);
    lines.push(`  ${'class'.padEnd(w)}     gt   dets  AP     AP50   AR100  UL-AP  UL-AP50`);
    for (const p of r.per_class) {
      if (p.gt === 0 && p.detections === 0) continue;
      const ul = (v: number | null) => (v === null ? '  -  ' : v.toFixed(3));
      lines.push(`  ${p.name.padEnd(w)} ${String(p.gt).padStart(6)} ${String(p.detections).padStart(6)}  ${f3(p.ap)}  ${f3(p.ap50)}  ${f3(p.ar100)}  ${ul(p.ul_ap50_95)}  ${ul(p.ul_ap50)}`);
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  for (const wn of r.warnings) lines.push(`warning: ${wn}`);
  return `${lines.join('\n')}\n`;
}
