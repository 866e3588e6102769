// Acceptance: the CLI on all 128 coco128 images with yolov8n_int8_640 against the expected boxes
// of an independent re-implementation of the Ultralytics predict recipe
// (test/fixtures/coco128-yolov8n_int8_640.expected.json, made by scripts/make-parity-fixture.js),
// and against the coco128 labels. The measured figures are printed as test diagnostics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ap50, matchDetections, readYoloLabels } from './helpers/detection-metrics.js';
import { coco128Dir, modelsDir, parseJsonl, repoRoot, requireShared, runCli } from './helpers/cli.js';

const fixturePath = path.join(repoRoot, 'test', 'fixtures', 'coco128-yolov8n_int8_640.expected.json');

/** Agreement required in both directions: share of boxes with a same-class partner at IoU ≥ 0.9. */
const MIN_MATCHED = 0.99;
const MAX_CONF_DIFF = 0.005;
const MAX_AP_DIFF = 0.01;

const pct = (x) => `${(100 * x).toFixed(2)}%`;

test('coco128 × yolov8n_int8_640: CLI detections match the Ultralytics reference; AP50 against labels', async (t) => {
  if (!requireShared(t)) return;
  const fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
  assert.equal(fixture.model, 'yolov8n_int8_640.onnx');
  // The fixture was made with the CLI's defaults; a change there must regenerate it.
  assert.deepEqual([fixture.conf, fixture.iou, fixture.max_det, fixture.imgsz], [0.25, 0.7, 300, 640]);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-parity-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const out = path.join(tmp, 'coco128.jsonl');
  const run = await runCli(['batch', coco128Dir, '--model', path.join(modelsDir, 'yolov8n_int8_640.onnx'), '--out', out], { timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.stderr);
  const records = parseJsonl(fs.readFileSync(out, 'utf8'));

  // Every image exactly once, in sorted order, at the reference's size.
  const names = Object.keys(fixture.images).sort();
  assert.equal(names.length, 128);
  assert.deepEqual(records.map((r) => path.basename(r.path)), names);

  const ours = {};
  const ref = {};
  const labels = {};
  let matched = 0;
  let onlyOurs = 0;
  let onlyRef = 0;
  let maxConfDiff = 0;
  let maxBoxDiff = 0;
  let minIou = 1;
  const mismatches = [];
  for (const r of records) {
    const name = path.basename(r.path);
    const want = fixture.images[name];
    assert.equal(r.error, null, `${name}: ${JSON.stringify(r.error)}`);
    assert.deepEqual([r.width, r.height], [want.width, want.height], name);
    ours[name] = r.detections.map((d) => ({ cls: d.class, conf: d.confidence, box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2] }));
    ref[name] = want.detections;
    labels[name] = readYoloLabels(path.join(coco128Dir, 'labels', name.replace(/\.jpg$/, '.txt')), want.width, want.height);

    const m = matchDetections(ours[name], ref[name], { iouThr: 0.9 });
    matched += m.matched.length;
    onlyOurs += m.onlyOurs.length;
    onlyRef += m.onlyRef.length;
    if (m.onlyOurs.length || m.onlyRef.length) mismatches.push(`${name}: +${m.onlyOurs.length} −${m.onlyRef.length}`);
    for (const p of m.matched) {
      maxConfDiff = Math.max(maxConfDiff, Math.abs(p.ours.conf - p.ref.conf));
      minIou = Math.min(minIou, p.iou);
      for (let k = 0; k < 4; k++) maxBoxDiff = Math.max(maxBoxDiff, Math.abs(p.ours.box[k] - p.ref.box[k]));
    }
  }
  const totalOurs = matched + onlyOurs;
  const totalRef = matched + onlyRef;
  const ourMatched = matched / totalOurs;
  const refMatched = matched / totalRef;
  t.diagnostic(`CLI ${totalOurs} boxes, reference ${totalRef} boxes, matched (same class, IoU >= 0.9) ${matched}`);
  t.diagnostic(`matched: ${pct(ourMatched)} of CLI boxes, ${pct(refMatched)} of reference boxes; lowest matched IoU ${minIou.toFixed(4)}`);
  t.diagnostic(`matched boxes: max |Δconf| ${maxConfDiff.toFixed(5)}, max |Δcoordinate| ${maxBoxDiff.toFixed(2)} px`);
  if (mismatches.length) t.diagnostic(`images with unmatched boxes: ${mismatches.join(', ')}`);

  const a = ap50(ours, labels, { confThr: 0.25 });
  const b = ap50(ref, labels, { confThr: 0.25 });
  const fmt = (m) => `mAP50 ${m.map50.toFixed(4)}, class-pooled AP50 ${m.pooledAp50.toFixed(4)}, P ${m.precision.toFixed(4)} R ${m.recall.toFixed(4)} (TP ${m.tp}, FP ${m.fp}, GT ${m.nGt})`;
  t.diagnostic(`vs coco128 labels (detections at conf 0.25): CLI ${fmt(a)}`);
  t.diagnostic(`vs coco128 labels (detections at conf 0.25): reference ${fmt(b)}`);

  assert.ok(ourMatched >= MIN_MATCHED, `only ${pct(ourMatched)} of the CLI's boxes match the reference`);
  assert.ok(refMatched >= MIN_MATCHED, `only ${pct(refMatched)} of the reference boxes are found by the CLI`);
  assert.ok(maxConfDiff <= MAX_CONF_DIFF, `max |Δconf| ${maxConfDiff}`);
  for (const key of ['map50', 'pooledAp50', 'precision', 'recall']) {
    assert.ok(Math.abs(a[key] - b[key]) <= MAX_AP_DIFF, `${key}: CLI ${a[key]} vs reference ${b[key]}`);
  }
  // Sanity of the labels side: a nano model on its own training images finds about half the objects.
  assert.equal(a.nGt, 929);
  assert.ok(a.map50 > 0.4 && a.map50 < 0.8, `mAP50 ${a.map50}`);
});
