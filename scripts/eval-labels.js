#!/usr/bin/env node
// Kept for old command lines: scores a results file against YOLO labels with `yolo-serve eval`
// (COCO mAP as pycocotools computes it, plus Ultralytics-style mAP and P/R at --conf).
//
//   node scripts/eval-labels.js results.jsonl [--labels DIR] [--conf 0.25]
//
// --labels defaults to ../shared/images/coco128/labels. Prefer `yolo-serve eval` itself.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    labels: { type: 'string', default: path.resolve(repoRoot, '..', 'shared', 'images', 'coco128', 'labels') },
    conf: { type: 'string', default: '0.25' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/eval-labels.js results.jsonl [--labels DIR] [--conf 0.25]  (same as: yolo-serve eval RESULTS --labels DIR --conf N)');
  process.exit(2);
}
const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'yolo-serve'), 'eval', positionals[0], '--labels', args.labels, '--conf', args.conf], { stdio: 'inherit' });
process.exit(r.status ?? 1);
