#!/usr/bin/env node
// Scores a yolo-serve JSONL result file against YOLO-format labels (class cx cy w h, normalised),
// with the evaluator the tests use (test/helpers/detection-metrics.js): class-aware matching at
// IoU 0.5, 101-point interpolated AP. Sanity figures, not official COCO mAP.
//
//   node scripts/eval-labels.js results.jsonl [--labels DIR] [--conf 0.25]
//
// --labels defaults to ../shared/images/coco128/labels; an image without a label file counts as
// having no objects. P/R are taken at --conf; run the CLI with a low --conf (e.g. 0.001) for AP.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ap50, readYoloLabels } from '../test/helpers/detection-metrics.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    labels: { type: 'string', default: path.resolve(repoRoot, '..', 'shared', 'images', 'coco128', 'labels') },
    conf: { type: 'string', default: '0.25' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/eval-labels.js results.jsonl [--labels DIR] [--conf 0.25]');
  process.exit(2);
}

const preds = {};
const gts = {};
let failed = 0;
for (const line of fs.readFileSync(positionals[0], 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const r = JSON.parse(line);
  if (r.error) {
    failed++;
    continue;
  }
  const key = r.path;
  preds[key] = r.detections.map((d) => ({ cls: d.class, conf: d.confidence, box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2] }));
  const stem = path.basename(r.path).replace(/\.[^.]+$/, '');
  gts[key] = readYoloLabels(path.join(args.labels, `${stem}.txt`), r.width, r.height);
}

const m = ap50(preds, gts, { confThr: Number(args.conf) });
const lowest = Math.min(...Object.values(preds).flat().map((d) => d.conf));
console.log(`${Object.keys(preds).length} images (${failed} failed), ${m.nGt} labelled boxes, lowest confidence in the file ${lowest}`);
console.log(`mAP50 (mean over ${Object.keys(m.perClass).length} classes with labels) ${m.map50.toFixed(4)}, class-pooled AP50 ${m.pooledAp50.toFixed(4)}`);
console.log(`at conf ${args.conf}: P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)} (TP ${m.tp}, FP ${m.fp})`);
