// `yolo-serve eval`: hand-computed COCOeval cases (ties, crowds, empty images, classes absent
// from the ground truth, no detections, IoU and size boundaries), the Ultralytics-style figures,
// the CLI (gate, JSON, warnings, bad input), and coco128 against the independent reference
// (scripts/coco-reference.py, numpy) to 1e-6.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { CocoEvaluator, summarize, bboxIou } from '../dist/evaluate/coco-eval.js';
import { computeAp, interp, matchPredictions, UltralyticsAccumulator } from '../dist/evaluate/ultralytics-ap.js';
import { parseGate } from '../dist/evaluate/gate.js';
import { conventionalLabelPath } from '../dist/evaluate/ground-truth.js';
import { coco128Dir, repoRoot, requireShared, runCli } from './helpers/cli.js';

const gt = (category, bbox, { area = bbox[2] * bbox[3], iscrowd = false } = {}) => ({ category, bbox, area, iscrowd });
const dt = (category, bbox, score) => ({ category, bbox, score });
const R = 101;
/** COCOeval divides by tp + fp + eps, so a perfect precision is 1 − 1e-16: compare to 1e-12. */
const approx = (a, b) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

function evalImages(images) {
  const e = new CocoEvaluator();
  for (const [i, im] of images.entries()) e.addImage(im.order ?? i, im.gts, im.dts);
  const acc = e.accumulate();
  return { stats: summarize(acc), perClass: e.perClass(acc), e };
}

test('a perfect detection: every figure is 1; sizes with no ground truth are -1', () => {
  const { stats } = evalImages([{ gts: [gt(0, [10, 10, 50, 50])], dts: [dt(0, [10, 10, 50, 50], 0.9)] }]);
  approx(stats.mAP, 1);
  approx(stats.mAP50, 1);
  approx(stats.AR1, 1);
  approx(stats.mAP_medium, 1); // 2500 px² is medium
  approx(stats.mAP_small, -1);
  approx(stats.mAP_large, -1);
});

test('a false positive ranked first halves the precision at every recall: AP 0.5', () => {
  const { stats } = evalImages([{ gts: [gt(0, [0, 0, 40, 40])], dts: [dt(0, [100, 100, 40, 40], 0.9), dt(0, [0, 0, 40, 40], 0.8)] }]);
  approx(stats.mAP, 0.5);
  approx(stats.AR1, 0); // the top-1 detection is the false positive
  approx(stats.AR10, 1);
});

test('ties across images are broken by image order, as COCOeval\'s stable sort does', () => {
  // Image A: a true positive at 0.9. Image B: a false positive at 0.9 (and a missed object).
  const A = { gts: [gt(0, [0, 0, 40, 40])], dts: [dt(0, [0, 0, 40, 40], 0.9)] };
  const B = { gts: [gt(0, [0, 0, 40, 40])], dts: [dt(0, [200, 200, 40, 40], 0.9)] };
  // A first: precision 1 up to recall 0.5 → 51 of 101 recall points at 1.
  assert.ok(Math.abs(evalImages([{ ...A, order: 1 }, { ...B, order: 2 }]).stats.mAP - 51 / R) < 1e-12);
  // B first: precision 0.5 (the envelope) up to recall 0.5.
  assert.ok(Math.abs(evalImages([{ ...A, order: 2 }, { ...B, order: 1 }]).stats.mAP - (51 * 0.5) / R) < 1e-12);
  // Within one image, equal scores keep the results file's order.
  const inOne = (first, second) => evalImages([{ gts: [gt(0, [0, 0, 40, 40])], dts: [first, second] }]).stats.mAP;
  approx(inOne(dt(0, [0, 0, 40, 40], 0.5), dt(0, [300, 0, 40, 40], 0.5)), 1);
  approx(inOne(dt(0, [300, 0, 40, 40], 0.5), dt(0, [0, 0, 40, 40], 0.5)), 0.5);
});

test('IoU thresholds are inclusive: IoU exactly 0.6 is a match at .50, .55 and .60 only', () => {
  assert.equal(bboxIou([0, 0, 6, 10], [0, 0, 10, 10], false), 0.6);
  const { stats } = evalImages([{ gts: [gt(0, [0, 0, 10, 10])], dts: [dt(0, [0, 0, 6, 10], 0.9)] }]);
  assert.ok(Math.abs(stats.mAP - 0.3) < 1e-12);
  approx(stats.mAP50, 1);
  approx(stats.mAP75, 0);
});

test('empty images, background images, absent classes and no detections', () => {
  const { stats, perClass } = evalImages([
    { gts: [], dts: [] }, // nothing at all: no effect
    { gts: [gt(0, [0, 0, 40, 40])], dts: [dt(0, [0, 0, 40, 40], 0.9)] },
    { gts: [], dts: [dt(0, [0, 0, 40, 40], 0.1)] }, // a background image: its detection is a false positive, ranked last
    { gts: [], dts: [dt(7, [0, 0, 40, 40], 0.95)] }, // class 7 has no ground truth: -1, out of every mean
    { gts: [gt(3, [0, 0, 40, 40])], dts: [] }, // class 3 never detected: AP 0
  ]);
  const byCls = Object.fromEntries(perClass.map((c) => [c.category, c]));
  approx(byCls[0].ap, 1); // the late false positive comes after recall 1
  approx(byCls[7].ap, -1);
  approx(byCls[7].ar100, -1);
  approx(byCls[3].ap, 0);
  approx(byCls[3].ar100, 0);
  approx(stats.mAP, 0.5); // mean of classes 0 and 3
  const none = evalImages([{ gts: [gt(0, [0, 0, 40, 40])], dts: [] }]).stats;
  approx(none.mAP, 0);
  approx(none.AR100, 0);
});

test('crowds: detections on a crowd are ignored (neither TP nor FP), and a crowd matches many', () => {
  const crowd = gt(0, [0, 0, 100, 100], { iscrowd: true });
  const { stats, e } = evalImages([
    {
      gts: [gt(0, [300, 300, 40, 40]), crowd],
      dts: [dt(0, [0, 0, 30, 30], 0.99), dt(0, [50, 50, 30, 30], 0.98), dt(0, [300, 300, 40, 40], 0.5)],
    },
  ]);
  // The two crowd detections (IoU with a crowd = intersection / detection area = 1) are ignored.
  approx(stats.mAP, 1);
  assert.deepEqual(
    (({ tp, fp, gt: n }) => ({ tp, fp, gt: n }))(e.countsAt(0)),
    { tp: 1, fp: 0, gt: 1 },
  );
  assert.equal(bboxIou([0, 0, 30, 30], [0, 0, 100, 100], true), 1);
});

test('size ranges: a small ground truth is ignored in the large range, and its match too', () => {
  const { stats } = evalImages([
    { gts: [gt(0, [0, 0, 20, 20]), gt(0, [100, 100, 200, 200])], dts: [dt(0, [0, 0, 20, 20], 0.9), dt(0, [100, 100, 200, 200], 0.8)] },
  ]);
  approx(stats.mAP_small, 1);
  approx(stats.mAP_large, 1);
  approx(stats.mAP_medium, -1);
});

test('maxDets: AR@1 counts only each image\'s best detection', () => {
  const { stats } = evalImages([{ gts: [gt(0, [0, 0, 40, 40]), gt(0, [100, 0, 40, 40])], dts: [dt(0, [0, 0, 40, 40], 0.9), dt(0, [100, 0, 40, 40], 0.8)] }]);
  approx(stats.AR1, 0.5);
  approx(stats.AR10, 1);
});

test('Ultralytics-style: np.interp semantics, compute_ap of a perfect curve is 0.995, matching by IoU', () => {
  assert.equal(interp(1, [0, 1, 1], [1, 1, 0]), 0); // a repeated xp: the last one's value
  assert.equal(interp(0.5, [0, 1], [1, 0]), 0.5);
  assert.equal(interp(-1, [0, 1], [2, 3], 9), 9);
  assert.ok(Math.abs(computeAp([1], [1]) - 0.995) < 1e-12);
  // One ground truth, two predictions: each threshold's match goes to the first prediction in order.
  const c = matchPredictions(
    [
      { cls: 0, box: [0, 0, 10, 10] },
      { cls: 0, box: [0, 0, 10, 9] },
    ],
    [{ cls: 0, box: [0, 0, 10, 10] }],
  );
  assert.equal(c[0], 0b1111111111);
  assert.equal(c[1], 0);
  const acc = new UltralyticsAccumulator();
  acc.addImage([{ cls: 0, box: [0, 0, 10, 10] }], [{ cls: 0, box: [0, 0, 10, 10], conf: 0.9 }]);
  acc.addImage([{ cls: 1, box: [0, 0, 10, 10] }], []);
  const m = acc.compute();
  assert.ok(Math.abs(m.mAP50 - 0.995 / 2) < 1e-12); // class 1 has ground truth and no prediction: AP 0
});

test('gate grammar: floors, operators, percentages and clear errors', () => {
  const known = ['mAP50', 'mAP', 'changed-images'];
  assert.deepEqual(
    parseGate('--fail-under', 'mAP50=0.55, map=0.35', known, '<').map((c) => [c.metric, c.op, c.value]),
    [
      ['mAP50', '<', 0.55],
      ['mAP', '<', 0.35],
    ],
  );
  assert.deepEqual(parseGate('--fail-if', 'changed-images>5%', known, '>').map((c) => [c.metric, c.op, c.value]), [['changed-images', '>', 0.05]]);
  assert.throws(() => parseGate('--fail-under', 'mAP50', known, '<'), /--fail-under: cannot read 'mAP50'/);
  assert.throws(() => parseGate('--fail-under', 'mAP9=1', known, '<'), /unknown metric 'mAP9'.*known: mAP50, mAP, changed-images/);
  assert.throws(() => parseGate('--fail-if', '', known, '>'), /empty/);
});

test('label paths follow Ultralytics\' images/ → labels/ rule', () => {
  assert.equal(conventionalLabelPath('/d/images/train/a.b.jpg'), '/d/labels/train/a.b.txt');
  assert.equal(conventionalLabelPath('/d/pics/a.jpg'), null);
});

/** A tiny dataset on disk: a results JSONL and YOLO labels. */
function tinyDataset() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-eval-'));
  fs.mkdirSync(path.join(dir, 'images'));
  fs.mkdirSync(path.join(dir, 'labels'));
  // a.jpg 100×100: one object of class 0 at (10,10)-(50,50). b.jpg: background (no label file).
  fs.writeFileSync(path.join(dir, 'labels', 'a.txt'), '0 0.3 0.3 0.4 0.4\n');
  const rec = (p, dets, extra = {}) => JSON.stringify({ path: path.join(dir, 'images', p), width: 100, height: 100, detections: dets, error: null, ...extra });
  const det = (cls, name, conf, x1, y1, x2, y2) => ({ name, class: cls, confidence: conf, box: { x1, y1, x2, y2 } });
  const lines = [
    rec('a.jpg', [det(0, 'person', 0.9, 10, 10, 50, 50), det(2, 'car', 0.3, 60, 60, 90, 90)]),
    rec('b.jpg', [det(0, 'person', 0.4, 0, 0, 20, 20)]),
    JSON.stringify({ path: path.join(dir, 'images', 'c.jpg'), width: null, height: null, detections: [], error: { code: 'DECODE_FAILED', message: 'x' } }),
  ];
  fs.writeFileSync(path.join(dir, 'results.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

test('CLI: YOLO labels by convention, backgrounds, failures, JSON, P/R at --conf and the high-conf warning', async () => {
  const dir = tinyDataset();
  const r = await runCli(['eval', path.join(dir, 'results.jsonl'), '--json', '--conf', '0.35']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.images, { evaluated: 2, backgrounds: 1, failed: 1, not_in_ground_truth: 0 });
  approx(j.coco.mAP, 1);
  assert.deepEqual([j.at_threshold.tp, j.at_threshold.fp, j.at_threshold.gt], [1, 1, 1]);
  approx(j.at_threshold.precision, 0.5);
  assert.deepEqual(
    j.per_class.map((c) => [c.name, Number(c.ap.toFixed(6))]),
    [
      ['person', 1],
      ['car', -1],
    ],
  );
  assert.match(r.stderr, /warning: the lowest confidence in results.jsonl is 0.3.*--conf 0.001/);
  assert.match(r.stderr, /1 failed images/);
  const text = await runCli(['eval', path.join(dir, 'results.jsonl'), '--labels', path.join(dir, 'labels')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /mAP@\[\.50:\.95\] 1\.000/);
  assert.match(text.stdout, /person\s+1\s+2\s+1\.000/);
});

test('CLI: --fail-under exits 1 with a one-line reason; usage errors exit 2', async () => {
  const dir = tinyDataset();
  const res = path.join(dir, 'results.jsonl');
  const fail = await runCli(['eval', res, '--fail-under', 'mAP50=0.5,precision=0.9', '--no-per-class']);
  assert.equal(fail.code, 1);
  const reason = fail.stderr.split('\n').filter((l) => l.includes('--fail-under'));
  assert.equal(reason.length, 1);
  assert.match(reason[0], /^yolo-serve: eval: --fail-under: precision 0\.\d+ is under 0\.9000$/);
  assert.equal((await runCli(['eval', res, '--fail-under', 'mAP50=0.5'])).code, 0);
  const bad = await runCli(['eval', res, '--fail-under', 'mAP51=0.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown metric 'mAP51'/);
  const noLabels = await runCli(['eval', res, '--labels', path.join(dir, 'images')]);
  assert.equal(noLabels.code, 2);
  assert.match(noLabels.stderr, /no label file found for any of the 2 images/);
  const missing = await runCli(['eval', path.join(dir, 'nope.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.jsonl: no such results file/);
  fs.writeFileSync(path.join(dir, 'labels', 'a.txt'), '0 0.3 0.3 zero 0.4\n');
  const badLabel = await runCli(['eval', res]);
  assert.equal(badLabel.code, 2);
  assert.match(badLabel.stderr, /a\.txt line 1: not a YOLO label/);
});

test('CLI: COCO instances.json ground truth, categories mapped by name, crowds ignored', async () => {
  const dir = tinyDataset();
  const coco = {
    images: [
      { id: 7, file_name: 'a.jpg', width: 100, height: 100 },
      { id: 3, file_name: 'b.jpg', width: 100, height: 100 },
    ],
    annotations: [
      { id: 1, image_id: 7, category_id: 1, bbox: [10, 10, 40, 40], area: 1600, iscrowd: 0 },
      { id: 2, image_id: 3, category_id: 1, bbox: [0, 0, 30, 30], area: 900, iscrowd: 1 },
    ],
    categories: [
      { id: 1, name: 'person' },
      { id: 3, name: 'car' },
    ],
  };
  fs.writeFileSync(path.join(dir, 'instances.json'), JSON.stringify(coco));
  const r = await runCli(['eval', path.join(dir, 'results.jsonl'), '--labels', path.join(dir, 'instances.json'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.ground_truth, { boxes: 1, crowd: 1 });
  // b.jpg's person detection lies on the crowd: ignored, so person AP is 1 and there is no FP.
  approx(j.coco.mAP, 1);
  assert.equal(j.at_threshold.fp, 1); // only the car (no car ground truth) is a false positive at conf 0.25
  assert.deepEqual(
    j.per_class.map((c) => [c.class, c.name]),
    [
      [1, 'person'],
      [3, 'car'],
    ],
  );
});

test('coco128: eval equals the independent numpy reference (scripts/coco-reference.py)', async (t) => {
  if (!requireShared(t)) return;
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'coco128-yolov8n_int8_640-conf0.001');
  const ref = JSON.parse(fs.readFileSync(`${fixture}.reference.json`, 'utf8'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-eval128-'));
  const results = path.join(dir, 'coco128.jsonl');
  fs.writeFileSync(results, zlib.gunzipSync(fs.readFileSync(`${fixture}.jsonl.gz`)));
  const r = await runCli(['eval', results, '--labels', path.join(coco128Dir, 'labels'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.images.evaluated, ref.images);
  const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs reference ${b}`);
  for (const [k, v] of Object.entries(ref.coco)) close(j.coco[k], v, `coco ${k}`);
  for (const row of j.per_class) {
    const rc = ref.per_class[String(row.class)];
    for (const k of ['ap', 'ap50', 'ar100']) close(row[k], rc[k], `class ${row.class} ${k}`);
    const ru = ref.ultralytics.per_class[String(row.class)];
    if (ru) close(row.ul_ap50_95, ru.ap50_95, `class ${row.class} ul ap50_95`);
  }
  for (const k of ['mAP50', 'mAP50_95', 'precision', 'recall', 'f1_conf']) close(j.ultralytics[k], ref.ultralytics[k], `ultralytics ${k}`);
  t.diagnostic(`coco128 yolov8n_int8_640 conf 0.001: mAP ${j.coco.mAP.toFixed(4)} mAP50 ${j.coco.mAP50.toFixed(4)} mAP75 ${j.coco.mAP75.toFixed(4)}; Ultralytics mAP50-95 ${j.ultralytics.mAP50_95.toFixed(4)} mAP50 ${j.ultralytics.mAP50.toFixed(4)}`);
});

test('a COCO file with crowds, ties and a category without detections equals the numpy reference', async () => {
  const dir = path.join(repoRoot, 'test', 'fixtures', 'coco-tiny');
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8'));
  const r = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'inst.json'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const [k, v] of Object.entries(ref.coco)) assert.ok(Math.abs(j.coco[k] - v) < 1e-9, `${k}: ${j.coco[k]} vs ${v}`);
  for (const row of j.per_class) for (const k of ['ap', 'ap50', 'ar100']) assert.ok(Math.abs(row[k] - ref.per_class[row.class][k]) < 1e-9, `${row.class} ${k}`);
});

test('CSV results evaluate exactly as the same results in JSONL', async () => {
  const dir = path.join(repoRoot, 'test', 'fixtures', 'coco-tiny');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-eval-csv-'));
  const rows = ['path,width,height,class,name,confidence,x1,y1,x2,y2,error'];
  for (const line of fs.readFileSync(path.join(dir, 'r.jsonl'), 'utf8').trim().split('\n')) {
    const r = JSON.parse(line);
    for (const d of r.detections) rows.push([r.path, r.width, r.height, d.class, d.name, d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2, ''].join(','));
  }
  fs.writeFileSync(path.join(tmp, 'r.csv'), rows.join('\n') + '\n');
  const run = async (file) => {
    const r = await runCli(['eval', file, '--labels', path.join(dir, 'inst.json'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    return { coco: j.coco, ul: j.ultralytics, per: j.per_class, at: j.at_threshold };
  };
  assert.deepEqual(await run(path.join(tmp, 'r.csv')), await run(path.join(dir, 'r.jsonl')));
});
