// OBB and classify through the real CLI, with synthetic exports whose outputs the tests set
// (test/helpers/task-models.js): no real OBB or classify export is available. JSONL and CSV
// records, resume and merge, inspect. The maths behind them is tested in obb.test.js and
// classify.test.js; here the expected values follow from the images' letterbox / centre crop.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { writeModel } from './helpers/onnx-builder.js';
import { obbModel, obbEnd2endModel, classifyModel, DOTA_NAMES } from './helpers/task-models.js';
import { runCli, parseJsonl, parseCsv } from './helpers/cli.js';
import { rboxCorners } from '../dist/postprocess/obb.js';

let tmp;
const at = (...p) => path.join(tmp, ...p);
const f = Math.fround;
const r2 = (v) => Math.round(v * 100) / 100;

/** A PNG of `w`×`h` whose pixel (x, y) has colour fill(x, y) ([r, g, b]). */
async function png(file, w, h, fill) {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(fill(x, y), (y * w + x) * 3);
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

// OBB: a 64×64 model; images of 128×64 letterbox with gain 0.5 and 16 px of padding on top and
// bottom, so network (cx, cy, w, h) maps to image (2·cx, 2·(cy − 16), 2·w, 2·h).
const OBB_BOXES = [
  { cx: 32, cy: 32, w: 16, h: 8, r: 0.5, cls: 1, score: 0.9 }, // ship
  { cx: 33, cy: 32, w: 16, h: 8, r: 0.5, cls: 1, score: 0.6 }, // ship, ProbIoU ≈ 0.9 with the first: suppressed at iou 0.7
  { cx: 10, cy: 40, w: 6, h: 6, r: 0, cls: 0, score: 0.8 }, // plane
];
const NAMES3 = DOTA_NAMES.slice(0, 3);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-obbcls-'));
  fs.mkdirSync(at('imgs'));
  await png(at('imgs', 'a.png'), 128, 64, () => [40, 80, 120]);
  await png(at('imgs', 'b.png'), 128, 64, () => [200, 10, 10]);
  await png(at('imgs', 'c.png'), 128, 64, () => [0, 0, 0]);
  fs.writeFileSync(at('imgs', 'd.png'), 'not a png');
  writeModel(at('obb.onnx'), obbModel({ boxes: OBB_BOXES, names: NAMES3, extraAnchors: 5 }));
  writeModel(at('obb-e2e.onnx'), obbEnd2endModel({ boxes: [OBB_BOXES[2], OBB_BOXES[0], OBB_BOXES[1]], names: NAMES3, k: 5 }));
  // Classify, 16×16 input: logits = mean(input) × [0, 5, 0].
  writeModel(at('cls.onnx'), classifyModel({ values: [0, 0, 0], shift: [0, 5, 0], names: ['cat', 'dog', 'fox'], imgsz: [16, 16] }));
  writeModel(at('cls-probs.onnx'), classifyModel({ values: [0.1, 0.6, 0.05, 0.25], names: ['cat', 'dog', 'fox', 'owl'], imgsz: [16, 16] }));
  fs.mkdirSync(at('cls'));
  // 96×32, white only in x 24..71: the centre crop (short side 32 -> 16, long 96 -> 48, crop
  // columns 16..31, i.e. source 32..63 and their filter taps 31..65) sees only white, mean 1;
  // a letterbox would see the black sides and padding.
  await png(at('cls', 'band.png'), 96, 32, (x) => (x >= 24 && x < 72 ? [255, 255, 255] : [0, 0, 0]));
  await png(at('cls', 'black.png'), 40, 30, () => [0, 0, 0]);
  fs.writeFileSync(at('cls', 'zz-broken.png'), 'not a png');
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The record's rotated box in image pixels for network box b (128×64 images in 64×64). */
function expectedObb(b) {
  const rb = { cx: 2 * b.cx, cy: 2 * (b.cy - 16), w: 2 * b.w, h: 2 * b.h, r: f(b.r) };
  const c = rboxCorners(rb);
  const corners = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, r2(v)]));
  const xs = [c.x1, c.x2, c.x3, c.x4];
  const ys = [c.y1, c.y2, c.y3, c.y4];
  return {
    box: { x1: r2(Math.min(...xs)), y1: r2(Math.min(...ys)), x2: r2(Math.max(...xs)), y2: r2(Math.max(...ys)) },
    obb: corners,
    xywhr: { x: rb.cx, y: rb.cy, w: rb.w, h: rb.h, r: Math.round(rb.r * 1e5) / 1e5 },
  };
}

test('obb JSONL: rotated NMS, corners, xywhr and the box around them, in original-image pixels', async () => {
  const out = at('obb.jsonl');
  const r = await runCli(['batch', at('imgs'), '--model', at('obb.onnx'), '--out', out, '-q']);
  assert.equal(r.code, 1, r.stderr); // d.png fails to decode: exit 1, the others are written
  const recs = parseJsonl(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(recs.map((x) => path.basename(x.path)), ['a.png', 'b.png', 'c.png', 'd.png']);
  for (const rec of recs.slice(0, 3)) {
    assert.equal(rec.error, null);
    assert.deepEqual(rec.detections, [
      { name: 'ship', class: 1, confidence: 0.9, ...expectedObb(OBB_BOXES[0]) },
      { name: 'plane', class: 0, confidence: 0.8, ...expectedObb(OBB_BOXES[2]) },
    ]);
  }
  assert.equal(recs[3].error.code, 'DECODE_FAILED');
  // The ship's box: centre (64, 32), 32×16 at 0.5 rad -> corners 64 ± (16·cos .5 ∓ 8·sin .5), ...
  const ship = recs[0].detections[0];
  assert.ok(Math.abs(ship.obb.x1 - (64 + 16 * Math.cos(0.5) - 8 * Math.sin(0.5))) < 0.006);
  assert.ok(Math.abs(ship.obb.y1 - (32 + 16 * Math.sin(0.5) + 8 * Math.cos(0.5))) < 0.006);

  // --iou 0.95 keeps the second ship; --classes 0 keeps only the plane.
  const loose = await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb.onnx'), '--out', '-', '--iou', '0.95', '-q']);
  assert.deepEqual(parseJsonl(loose.stdout)[0].detections.map((d) => [d.name, d.confidence]), [['ship', 0.9], ['plane', 0.8], ['ship', 0.6]]);
  const planes = await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb.onnx'), '--out', '-', '--classes', '0', '-q']);
  assert.deepEqual(parseJsonl(planes.stdout)[0].detections.map((d) => d.name), ['plane']);
});

test('obb end-to-end [B, K, 7]: no NMS, model order, --max-det', async () => {
  const r = await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb-e2e.onnx'), '--out', '-', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseJsonl(r.stdout)[0].detections, [
    { name: 'plane', class: 0, confidence: 0.8, ...expectedObb(OBB_BOXES[2]) },
    { name: 'ship', class: 1, confidence: 0.9, ...expectedObb(OBB_BOXES[0]) },
    { name: 'ship', class: 1, confidence: 0.6, ...expectedObb(OBB_BOXES[1]) },
  ]);
  const two = await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb-e2e.onnx'), '--out', '-', '--max-det', '2', '-q']);
  assert.equal(parseJsonl(two.stdout)[0].detections.length, 2);
});

test('obb CSV: obb and xywhr as JSON columns after y2, the same values as JSONL; resume appends; merge keeps them', async () => {
  const jsonl = parseJsonl(fs.readFileSync(at('obb.jsonl'), 'utf8'));
  const out = at('obb.csv');
  // First a.png only, then --resume over the folder.
  const first = await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb.onnx'), '--out', out, '-q']);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await runCli(['batch', at('imgs'), '--model', at('obb.onnx'), '--out', out, '--resume', '-q']);
  assert.equal(resumed.code, 1, resumed.stderr);
  const text = fs.readFileSync(out, 'utf8');
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ['path', 'width', 'height', 'detections', 'class', 'name', 'confidence', 'x1', 'y1', 'x2', 'y2', 'obb', 'xywhr', 'error']);
  const data = rows.slice(1);
  assert.equal(data.length, 3 * 2 + 1);
  // Each image's rows carry its detection count (a record is complete when it has that many rows).
  assert.deepEqual(data.map((row) => row[3]), ['2', '2', '2', '2', '2', '2', '0']);
  const fromCsv = data.filter((row) => row[4] !== '').map((row) => ({
    file: path.basename(row[0]),
    name: row[5],
    box: { x1: +row[7], y1: +row[8], x2: +row[9], y2: +row[10] },
    obb: JSON.parse(row[11]),
    xywhr: JSON.parse(row[12]),
  }));
  const fromJsonl = jsonl.flatMap((rec) => rec.detections.map((d) => ({ file: path.basename(rec.path), name: d.name, box: d.box, obb: d.obb, xywhr: d.xywhr })));
  assert.deepEqual(fromCsv, fromJsonl);
  assert.match(data[data.length - 1][13], /^DECODE_FAILED: /);

  // Two CSV parts merge into one file with the same task columns and cells.
  const p0 = at('obb-part0.csv');
  const p1 = at('obb-part1.csv');
  assert.equal((await runCli(['batch', at('imgs', 'a.png'), '--model', at('obb.onnx'), '--out', p0, '-q'])).code, 0);
  assert.equal((await runCli(['batch', at('imgs', 'b.png'), '--model', at('obb.onnx'), '--out', p1, '-q'])).code, 0);
  const merged = at('obb-merged.csv');
  const m = await runCli(['merge', merged, p0, p1, '-q']);
  assert.equal(m.code, 0, m.stderr);
  const mrows = parseCsv(fs.readFileSync(merged, 'utf8'));
  assert.deepEqual(mrows[0], rows[0]);
  assert.deepEqual(mrows.slice(1).map((row) => row.slice(3)), data.slice(0, 4).map((row) => row.slice(3)));
});

test('classify JSONL: top-1 fields and top5 (summary() order), no detections; the input is the centre crop, not a letterbox', async () => {
  const out = at('cls.jsonl');
  const r = await runCli(['batch', at('cls'), '--model', at('cls.onnx'), '--out', out, '-q']);
  assert.equal(r.code, 1, r.stderr);
  const recs = parseJsonl(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(recs.map((x) => path.basename(x.path)), ['band.png', 'black.png', 'zz-broken.png']);
  // band.png: the crop is all white, mean 1, logits [0, 5, 0]: dog e^5/(e^5 + 2), the others 1/(e^5 + 2).
  const dog = Math.round((Math.exp(5) / (Math.exp(5) + 2)) * 1e5) / 1e5;
  const other = Math.round((1 / (Math.exp(5) + 2)) * 1e5) / 1e5;
  assert.deepEqual(recs[0], {
    path: recs[0].path,
    width: 96,
    height: 32,
    name: 'dog',
    class: 1,
    confidence: dog,
    top5: [
      { name: 'dog', class: 1, confidence: dog },
      { name: 'cat', class: 0, confidence: other },
      { name: 'fox', class: 2, confidence: other },
    ],
    detections: [],
    error: null,
  });
  // black.png: mean 0, logits all 0: a tie, kept in class order.
  assert.deepEqual(recs[1].top5.map((t) => [t.name, t.confidence]), [['cat', 0.33333], ['dog', 0.33333], ['fox', 0.33333]]);
  assert.equal(recs[1].name, 'cat');
  // A failed image has no classify fields.
  assert.equal(recs[2].error.code, 'DECODE_FAILED');
  assert.equal(recs[2].top5, undefined);

  // A model that outputs probabilities: used as they are (no softmax), five of four classes -> four.
  const probs = await runCli(['batch', at('cls', 'black.png'), '--model', at('cls-probs.onnx'), '--out', '-', '-q']);
  assert.equal(probs.code, 0, probs.stderr);
  assert.deepEqual(parseJsonl(probs.stdout)[0].top5.map((t) => [t.name, t.confidence]), [['dog', 0.6], ['owl', 0.25], ['cat', 0.1], ['fox', 0.05]]);
});

test('classify CSV: one row per image, top-1 in class/name/confidence, no box, top5 as JSON; resume and merge keep it', async () => {
  const jsonl = parseJsonl(fs.readFileSync(at('cls.jsonl'), 'utf8'));
  const out = at('cls.csv');
  assert.equal((await runCli(['batch', at('cls', 'band.png'), '--model', at('cls.onnx'), '--out', out, '-q'])).code, 0);
  const resumed = await runCli(['batch', at('cls'), '--model', at('cls.onnx'), '--out', out, '--resume', '-q']);
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.match(resumed.stderr, /1 failed|failed/);
  const rows = parseCsv(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(rows[0], ['path', 'width', 'height', 'detections', 'class', 'name', 'confidence', 'x1', 'y1', 'x2', 'y2', 'top5', 'error']);
  assert.equal(rows.length, 4);
  rows.slice(1, 3).forEach((row, i) => {
    const rec = jsonl[i];
    // A classify row has no box, so its detection count is 0.
    assert.deepEqual(row.slice(1, 11), [String(rec.width), String(rec.height), '0', String(rec.class), rec.name, String(rec.confidence), '', '', '', '']);
    assert.deepEqual(JSON.parse(row[11]), rec.top5);
    assert.equal(row[12], '');
  });
  assert.deepEqual(rows[3].slice(3, 12), ['0', '', '', '', '', '', '', '', '']);
  assert.match(rows[3][12], /^DECODE_FAILED: /);

  // A resume over a complete file has nothing to do and leaves it as it was.
  const before = fs.readFileSync(out, 'utf8');
  const again = await runCli(['batch', at('cls', 'band.png'), at('cls', 'black.png'), '--model', at('cls.onnx'), '--out', out, '--resume', '-q']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(fs.readFileSync(out, 'utf8'), before);

  // JSONL parts merge with their classify fields.
  const p0 = at('cls-part0.jsonl');
  const p1 = at('cls-part1.jsonl');
  assert.equal((await runCli(['batch', at('cls', 'black.png'), '--model', at('cls.onnx'), '--out', p0, '-q'])).code, 0);
  assert.equal((await runCli(['batch', at('cls', 'band.png'), '--model', at('cls.onnx'), '--out', p1, '-q'])).code, 0);
  const merged = await runCli(['merge', '-', p0, p1, '-q']);
  assert.equal(merged.code, 0, merged.stderr);
  assert.deepEqual(parseJsonl(merged.stdout).map((x) => [path.basename(x.path), x.name, x.top5.length]), [['band.png', 'dog', 3], ['black.png', 'cat', 3]]);
  // CSV parts too.
  const c0 = at('cls-part0.csv');
  const c1 = at('cls-part1.csv');
  assert.equal((await runCli(['batch', at('cls', 'black.png'), '--model', at('cls.onnx'), '--out', c0, '-q'])).code, 0);
  assert.equal((await runCli(['batch', at('cls', 'band.png'), '--model', at('cls.onnx'), '--out', c1, '-q'])).code, 0);
  const mcsv = await runCli(['merge', '-', c0, c1, '-q']);
  assert.equal(mcsv.code, 0, mcsv.stderr);
  const mrows = parseCsv(mcsv.stdout);
  assert.deepEqual(mrows[0], rows[0]);
  assert.deepEqual(mrows.slice(1).map((row) => [path.basename(row[0]), row[5], JSON.parse(row[11]).length]), [['band.png', 'dog', 3], ['black.png', 'cat', 3]]);
});

test('inspect names the task and its layout for OBB and classify exports', async () => {
  const o = await runCli(['inspect', at('obb.onnx'), '--json']);
  assert.equal(o.code, 0, o.stderr);
  const oj = JSON.parse(o.stdout);
  assert.equal(oj.task, 'obb');
  assert.equal(oj.layout.name, 'xywh-classes-angle');
  assert.equal(oj.classes.count, 3);
  const c = await runCli(['inspect', at('cls.onnx'), '--json']);
  assert.equal(c.code, 0, c.stderr);
  const cj = JSON.parse(c.stdout);
  assert.equal(cj.task, 'classify');
  assert.equal(cj.layout.name, 'class-scores');
  // Without metadata a [B, nc] output is still a classifier.
  const bare = classifyModel({ values: [0.5, 0.5], names: ['a', 'b'], imgsz: [8, 8] });
  writeModel(at('bare-cls.onnx'), { ...bare, metadata: {} });
  fs.writeFileSync(at('ab.txt'), 'a\nb\n');
  const b = await runCli(['inspect', at('bare-cls.onnx'), '--names', at('ab.txt')]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /output0 +float32 +\[batch, 2\] +← class scores/);
  assert.match(b.stdout, /classify/);
});
