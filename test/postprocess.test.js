// Postprocessing parity with Ultralytics predict (non_max_suppression, scale_boxes, summary())
// and YOLOv5's non_max_suppression for the objectness layout. Every expected value is worked by
// hand in the comments; f() marks a float32 value, as the torch tensors hold them.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { extractCandidates } from '../dist/postprocess/candidates.js';
import { nonMaxSuppression } from '../dist/postprocess/nms.js';
import { scaleBox, scalePadding } from '../dist/postprocess/scale.js';
import { roundDecimals } from '../dist/postprocess/round.js';
import { postprocessImage } from '../dist/postprocess/index.js';
import { letterboxGeometry } from '../dist/preprocess/letterbox.js';

const f = Math.fround;
const opts = (o = {}) => ({ conf: 0.25, iou: 0.45, maxDet: 300, classes: null, agnostic: false, ...o });

/** Channels-first [rows][N] given as an array of rows. */
const channelsFirst = (rowsArr) => Float32Array.from(rowsArr.flat());

// ---------------------------------------------------------------------------------------------
// 'xywh-classes' [4+nc, N]: 4 anchors, 3 classes.
const V8 = channelsFirst([
  [10, 20, 30, 40], // cx
  [10, 20, 30, 40], // cy
  [4, 6, 8, 10], // w
  [2, 4, 6, 8], // h
  [0.9, 0.1, 0.25, 0.3], // class 0
  [0.2, 0.8, 0.25, 0.3], // class 1
  [0.9, 0.3, 0.1, 0.2], // class 2
]);

test('xywh-classes: best class (first max wins), strict threshold, xywh -> xyxy', () => {
  // anchor 0: 0.9 in classes 0 and 2 -> class 0; box 10±2, 10±1.
  // anchor 1: class 1 at 0.8; box 20±3, 20±2.
  // anchor 2: best is 0.25, not > 0.25 -> dropped.
  // anchor 3: 0.3 in classes 0 and 1 -> class 0; box 40±5, 40±4.
  assert.deepEqual(extractCandidates('xywh-classes', V8, 7, 4, opts()), [
    { x1: 8, y1: 9, x2: 12, y2: 11, score: f(0.9), cls: 0, row: 0 },
    { x1: 17, y1: 18, x2: 23, y2: 22, score: f(0.8), cls: 1, row: 1 },
    { x1: 35, y1: 36, x2: 45, y2: 44, score: f(0.3), cls: 0, row: 3 },
  ]);
});

test('xywh-classes: the threshold is compared in float32 like torch (score f(0.3) is not > conf 0.3)', () => {
  // f(0.3) = 0.30000001192..., which is > 0.3 as a double but equal once 0.3 is cast to float32.
  const got = extractCandidates('xywh-classes', V8, 7, 4, opts({ conf: 0.3 }));
  assert.deepEqual(got.map((c) => c.score), [f(0.9), f(0.8)]);
});

test('xywh-classes: class filter applies after the argmax over all classes', () => {
  assert.deepEqual(extractCandidates('xywh-classes', V8, 7, 4, opts({ classes: [1] })).map((c) => c.cls), [1]);
  // Anchor 0 scores 0.9 for class 2 too, but its best class is 0, so class 2 finds nothing.
  assert.deepEqual(extractCandidates('xywh-classes', V8, 7, 4, opts({ classes: [2] })), []);
  assert.deepEqual(extractCandidates('xywh-classes', V8, 7, 4, opts({ classes: [0, 2] })).length, 2);
  assert.deepEqual(extractCandidates('xywh-classes', V8, 7, 4, opts({ classes: [] })), []);
});

test('xywh-classes: reads only its slice and validates the shape', () => {
  const batch = new Float32Array(V8.length * 2);
  batch.set(V8, V8.length);
  assert.equal(extractCandidates('xywh-classes', batch.subarray(V8.length), 7, 4, opts()).length, 3);
  assert.throws(() => extractCandidates('xywh-classes', V8, 7, 5, opts()), RangeError);
  assert.throws(() => extractCandidates('xywh-classes', V8.subarray(0, 16), 4, 4, opts()), RangeError);
});

// ---------------------------------------------------------------------------------------------
// 'xywh-obj-classes' [N, 5+nc]: YOLOv5, score = obj × cls.
const V5 = Float32Array.from([
  50, 50, 20, 10, 0.8, 0.5, 0.9, // obj .8: scores .4, .72 -> class 1, f(f(.9)*f(.8))
  60, 60, 20, 10, 0.2, 1.0, 1.0, // obj .2 <= conf: dropped before classes are looked at
  70, 70, 20, 10, 0.5, 0.4, 0.3, // best .2 <= conf: dropped
  80, 80, 4, 6, 0.6, 0.5, 0.5, // .3 and .3: first max, class 0
]);

test('xywh-obj-classes: objectness gate, obj*cls in float32, first max wins', () => {
  assert.deepEqual(extractCandidates('xywh-obj-classes', V5, 4, 7, opts()), [
    { x1: 40, y1: 45, x2: 60, y2: 55, score: f(f(0.9) * f(0.8)), cls: 1, row: 0 },
    { x1: 78, y1: 77, x2: 82, y2: 83, score: f(f(0.5) * f(0.6)), cls: 0, row: 3 },
  ]);
  assert.equal(f(f(0.9) * f(0.8)), 0.7199999690055847);
  assert.deepEqual(extractCandidates('xywh-obj-classes', V5, 4, 7, opts({ classes: [0] })).map((c) => c.y1), [77]);
});

// ---------------------------------------------------------------------------------------------
// 'xyxy-score-class' [K, 6]: end-to-end, model order, threshold only.
const E2E = Float32Array.from([
  1, 2, 3, 4, 0.9, 2,
  5, 6, 7, 8, 0.25, 0, // not > 0.25
  9, 10, 11, 12, 0.5, 1,
  0, 0, 1, 1, 0.3, 2,
]);

test('xyxy-score-class: keeps rows above conf in model order, boxes as given', () => {
  assert.deepEqual(extractCandidates('xyxy-score-class', E2E, 4, 6, opts()), [
    { x1: 1, y1: 2, x2: 3, y2: 4, score: f(0.9), cls: 2, row: 0 },
    { x1: 9, y1: 10, x2: 11, y2: 12, score: f(0.5), cls: 1, row: 2 },
    { x1: 0, y1: 0, x2: 1, y2: 1, score: f(0.3), cls: 2, row: 3 },
  ]);
  assert.deepEqual(extractCandidates('xyxy-score-class', E2E, 4, 6, opts({ classes: [2] })).map((c) => c.x1), [1, 0]);
});

// ---------------------------------------------------------------------------------------------
const box = (x1, y1, x2, y2, score, cls = 0) => ({ x1, y1, x2, y2, score, cls });
const nms = (c, o = {}) => nonMaxSuppression(c, { iou: 0.5, agnostic: false, maxDet: 300, ...o });

test('nms: IoU just above the threshold suppresses, just below keeps', () => {
  // A = [0,10]x[0,10], B shifted by 3: inter 70, union 130, IoU f(70/130) = 0.53846156...
  const a = box(0, 0, 10, 10, 0.9);
  const b = box(3, 0, 13, 10, 0.8);
  assert.deepEqual(nms([a, b], { iou: 0.5384 }), [a]);
  assert.deepEqual(nms([a, b], { iou: 0.5385 }), [a, b]);
  // Shifted by 4: 60/140 = 0.43 -> kept at 0.5.
  const c = box(4, 0, 14, 10, 0.8);
  assert.deepEqual(nms([a, c]), [a, c]);
});

test('nms: IoU equal to the threshold is kept (suppress only when IoU > iou)', () => {
  const a = box(0, 0, 10, 10, 0.9);
  const half = box(0, 0, 10, 5, 0.8); // inter 50, union 100
  assert.deepEqual(nms([a, half], { iou: 0.5 }), [a, half]);
  assert.deepEqual(nms([a, half], { iou: 0.4999 }), [a]);
});

test('nms: class-aware by default, agnostic merges classes', () => {
  const a = box(0, 0, 10, 10, 0.9, 0);
  const b = box(3, 0, 13, 10, 0.8, 1);
  assert.deepEqual(nms([b, a]), [a, b]);
  assert.deepEqual(nms([b, a], { agnostic: true }), [a]);
});

test('nms: greedy like torchvision (a suppressed box suppresses nothing)', () => {
  const a = box(0, 0, 10, 10, 0.9);
  const b = box(3, 0, 13, 10, 0.8); // IoU(a,b) = .54: suppressed
  const c = box(6, 0, 16, 10, 0.7); // IoU(a,c) = 40/160 = .25, IoU(b,c) = .54
  assert.deepEqual(nms([c, b, a]), [a, c]);
});

test('nms: maxDet keeps the highest scores, output in score order, ties keep input order', () => {
  const far = (i, s) => box(i * 100, 0, i * 100 + 10, 10, s);
  const cands = [far(0, 0.3), far(1, 0.9), far(2, 0.5), far(3, 0.9)];
  assert.deepEqual(nms(cands, { maxDet: 3 }), [cands[1], cands[3], cands[2]]);
  assert.deepEqual(nms(cands, { maxDet: 0 }), []);
  assert.deepEqual(nms([], {}), []);
});

test('nms: maxNms caps the candidates that enter NMS to the highest scores', () => {
  const far = (i, s) => box(i * 100, 0, i * 100 + 10, 10, s);
  const cands = [far(0, 0.3), far(1, 0.9), far(2, 0.5)];
  assert.deepEqual(nms(cands, { maxNms: 2 }), [cands[1], cands[2]]);
});

test('nms: class offsets are added in float32, so large class ids round like torch', () => {
  // Class 79 offset = 606720, where float32 steps are 0.0625: x 0.1 -> .125, .05 -> .0625,
  // .15 -> .125. A = [0,.125], B = [.0625,.125] after rounding: IoU = .0625/.125 = 0.5 > .45.
  const a = (cls) => box(0, 0, 0.1, 1, 0.9, cls);
  const b = (cls) => box(0.05, 0, 0.15, 1, 0.8, cls);
  assert.equal(nonMaxSuppression([a(79), b(79)], { iou: 0.45, agnostic: false, maxDet: 300 }).length, 1);
  // Class 0 (no offset): IoU = .05/.15 = .33 -> both kept.
  assert.equal(nonMaxSuppression([a(0), b(0)], { iou: 0.45, agnostic: false, maxDet: 300 }).length, 2);
});

test('nms: boxes larger than maxWh can cross classes, exactly as Ultralytics offsets do', () => {
  // maxWh 10: class 1's box [0,10]² is offset onto class 0's [10,20]² and suppressed by it.
  const a = box(10, 10, 20, 20, 0.9, 0);
  const b = box(0, 0, 10, 10, 0.8, 1);
  assert.deepEqual(nms([a, b], { maxWh: 10 }), [a]);
  assert.deepEqual(nms([a, b]), [a, b]);
});

// ---------------------------------------------------------------------------------------------
test('scaleBox: removes padding, divides by gain, clips to the image', () => {
  const g = letterboxGeometry(640, 427, 640, 640); // gain 1, top pad 106
  assert.deepEqual(scaleBox({ x1: 10, y1: 106, x2: 20, y2: 206 }, g), { x1: 10, y1: 0, x2: 20, y2: 100 });
  // y1 = 100-106 < 0 -> 0; x1 < 0 -> 0; x2 > 640 -> 640; y2 = 600-106 = 494 > 427 -> 427.
  assert.deepEqual(scaleBox({ x1: -5, y1: 100, x2: 700, y2: 600 }, g), { x1: 0, y1: 0, x2: 640, y2: 427 });
  const z = letterboxGeometry(1280, 720, 640, 640); // gain .5, top pad 140
  assert.deepEqual(scaleBox({ x1: 100, y1: 150, x2: 300.25, y2: 450 }, z), { x1: 200, y1: 20, x2: 600.5, y2: 620 });
});

test('scalePadding: current Ultralytics matches LetterBox; legacy formula differs for 3775x1571@1280', () => {
  const g = letterboxGeometry(3775, 1571, 1280, 1280);
  // round((1280 - round(532.68)) / 2 - 0.1) = round(373.4) = 373 = LetterBox top
  assert.deepEqual(scalePadding(g), [0, 373]);
  assert.equal(g.padTop, 373);
  // round((1280 - 532.68) / 2 - 0.1) = round(373.56) = 374 (pre PR #23967)
  assert.deepEqual(scalePadding(g, 'legacy'), [0, 374]);
  assert.equal(scaleBox({ x1: 0, y1: 374, x2: 1, y2: 375 }, g, 'legacy').y1, 0);
  assert.notEqual(scaleBox({ x1: 0, y1: 374, x2: 1, y2: 375 }, g).y1, 0);
});

// ---------------------------------------------------------------------------------------------
test('roundDecimals follows Python round(x, n): exact binary ties go to even', () => {
  assert.equal(roundDecimals(0.125, 2), 0.12); // toFixed says 0.13
  assert.equal(roundDecimals(0.375, 2), 0.38);
  assert.equal(roundDecimals(750.125, 2), 750.12);
  assert.equal(roundDecimals(2.675, 2), 2.67); // binary value is below the tie
  assert.equal(roundDecimals(-0.125, 2), -0.12);
  assert.equal(roundDecimals(2.5, 0), 2);
  assert.equal(roundDecimals(f(0.9), 5), 0.9);
  assert.equal(roundDecimals(0.1234550029039383, 5), 0.12346);
  assert.equal(roundDecimals(5e-6, 5), 1e-5); // 5e-6 is slightly above the tie in binary
});

// ---------------------------------------------------------------------------------------------
test('postprocessImage: candidates -> NMS -> scale -> rounded detections (zidane geometry)', () => {
  const g = letterboxGeometry(1280, 720, 640, 640); // gain .5, pad top 140
  const out = channelsFirst([
    [200, 205, 400.0625, 10], // cx
    [240, 240, 300, 10], // cy
    [100, 100, 50, 5], // w
    [100, 100, 20, 5], // h
    [0.9, 0.8, 0.0, 0.2], // person
    [0.1, 0.0, 0.6, 0.25], // car
  ]);
  // anchor 0: person (150,190,250,290) -> ((150)/.5, (190-140)/.5, ...) = (300,100,500,300)
  // anchor 1: person, IoU with anchor 0 = 9500/10500 -> suppressed
  // anchor 2: car (375.0625,290,425.0625,310) -> (750.125,300,850.125,340) -> 750.12, 850.12
  // anchor 3: best .25 not > .25
  const dets = postprocessImage('xywh-classes', out, 6, 4, g, opts(), ['person', 'car']);
  assert.deepEqual(dets, [
    { name: 'person', class: 0, confidence: 0.9, box: { x1: 300, y1: 100, x2: 500, y2: 300 } },
    { name: 'car', class: 1, confidence: 0.6, box: { x1: 750.12, y1: 300, x2: 850.12, y2: 340 } },
  ]);
  // Unknown class ids get a placeholder name; custom rounding keeps more decimals.
  const unnamed = postprocessImage('xywh-classes', out, 6, 4, g, opts(), ['person'], { confidence: 3, box: 3 });
  assert.deepEqual(unnamed[1], { name: 'class1', class: 1, confidence: 0.6, box: { x1: 750.125, y1: 300, x2: 850.125, y2: 340 } });
  // max_det 1 keeps only the best.
  assert.equal(postprocessImage('xywh-classes', out, 6, 4, g, opts({ maxDet: 1 }), ['person', 'car']).length, 1);
});

test('postprocessImage: end-to-end output has no NMS and takes the first maxDet rows in model order', () => {
  const g = letterboxGeometry(640, 640, 640, 640);
  const out = Float32Array.from([
    10, 10, 20, 20, 0.5, 3,
    10, 10, 20, 20, 0.9, 3, // identical box, higher score: still kept (no NMS)
    30, 30, 40, 40, 0.7, 1,
  ]);
  const all = postprocessImage('xyxy-score-class', out, 3, 6, g, opts(), []);
  assert.deepEqual(all.map((d) => [d.class, d.confidence]), [[3, 0.5], [3, 0.9], [1, 0.7]]);
  assert.equal(all[0].name, 'class3');
  const first2 = postprocessImage('xyxy-score-class', out, 3, 6, g, opts({ maxDet: 2 }), []);
  assert.deepEqual(first2.map((d) => d.confidence), [0.5, 0.9]);
});

test('postprocessImage: YOLOv5 layout goes through NMS and scaling', () => {
  const g = letterboxGeometry(320, 320, 640, 640); // gain 2, no padding
  const out = Float32Array.from([
    100, 100, 40, 40, 0.9, 0.9, 0.1, // score f(.81) class 0, box (80,80,120,120)
    102, 100, 40, 40, 0.8, 0.9, 0.1, // overlaps the first: suppressed
  ]);
  const dets = postprocessImage('xywh-obj-classes', out, 2, 7, g, opts(), ['a', 'b']);
  assert.deepEqual(dets, [{ name: 'a', class: 0, confidence: 0.81, box: { x1: 40, y1: 40, x2: 60, y2: 60 } }]);
});
