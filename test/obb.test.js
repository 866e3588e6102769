// Oriented boxes (task=obb) against Ultralytics' recipe: batch_probiou, non_max_suppression with
// rotated=True (TorchNMS.fast_nms + ProbIoU), scale_boxes(xywh=True), xywhr2xyxyxyxy, OBB.xyxy,
// regularize_rboxes. Expected values are worked out by hand in the comments.
//
// ProbIoU of two boxes with covariances Σ1, Σ2 (Σ = R·diag(w²/12, h²/12)·Rᵀ) and centres Δ apart:
//   bd = Δᵀ(Σ1+Σ2)⁻¹Δ / 4 + ½·ln(det(Σ1+Σ2) / (4·sqrt(detΣ1·detΣ2)))     (clamped to [1e-7, 100])
//   iou = 1 − sqrt(1 − e^(−bd) + 1e-7)

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { probiou, covariance, probiouFrom } from '../dist/postprocess/probiou.js';
import { rotatedNms } from '../dist/postprocess/rotated-nms.js';
import {
  extractObbCandidates,
  postprocessObbImage,
  regularizeRbox,
  rboxCorners,
  scaleRbox,
  cornersBox,
  obbLayoutOf,
} from '../dist/postprocess/obb.js';
import { letterboxGeometry } from '../dist/preprocess/letterbox.js';

const f = Math.fround;
const iouOf = (bd) => 1 - Math.sqrt(1 - Math.exp(-bd) + 1e-7);
const box = (cx, cy, w, h, r = 0) => ({ cx, cy, w, h, r });
const cand = (cx, cy, w, h, r, score, cls = 0) => ({ cx, cy, w, h, r, score: f(score), cls });
const close = (got, want, tol, what) => assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);

// ---------------------------------------------------------------------------------------------
// ProbIoU

test('probiou: squares s apart by d along x: Σ = s²/12·I, so bd = 1.5·(d/s)² and the log term is 0', () => {
  // d = s/2: bd = 0.375, iou = 1 − sqrt(1 − e^−0.375) = 0.440794 (their real IoU is 1/3).
  close(probiou(box(0, 0, 10, 10), box(5, 0, 10, 10)), iouOf(0.375), 2e-7, 'half shift');
  // d = s: bd = 1.5, iou = 0.118598.
  close(probiou(box(0, 0, 10, 10), box(10, 0, 10, 10)), iouOf(1.5), 2e-7, 'full shift');
  // The same along y, and along the diagonal with |Δ| = 5: bd = 1.5·25/100.
  close(probiou(box(0, 0, 10, 10), box(0, 5, 10, 10)), iouOf(0.375), 2e-7, 'y shift');
  close(probiou(box(0, 0, 10, 10), box(3, 4, 10, 10)), iouOf(0.375), 2e-7, 'diagonal shift');
});

test('probiou: a square is isotropic, so its rotation does not matter; a w×h box equals the h×w box turned by π/2', () => {
  close(probiou(box(0, 0, 10, 10, 0.3), box(5, 0, 10, 10, 1.1)), iouOf(0.375), 2e-7, 'rotated squares');
  // Identical Gaussians: bd is clamped to 1e-7, iou = 1 − sqrt(≈2.2e-7) = 0.99953 (never exactly 1).
  const same = probiou(box(3, 4, 8, 2, 0.2), box(3, 4, 2, 8, 0.2 + Math.PI / 2));
  close(same, 1 - Math.sqrt(2.192e-7), 1e-6, 'w/h swap + π/2');
  assert.equal(same, probiou(box(3, 4, 8, 2, 0.2), box(3, 4, 8, 2, 0.2)));
});

test('probiou: a cross of two 4×1 bars on one centre: only the shape term, bd = ½·ln(289/64), iou = 1 − sqrt(9/17)', () => {
  // Σ1 = diag(16, 1)/12, Σ2 = diag(1, 16)/12: det(Σ1+Σ2) = (17/12)², 4·sqrt(detΣ1·detΣ2) = 4·16/144.
  // e^−bd = 8/17, so iou = 1 − sqrt(9/17) = 0.272393 (the real IoU of the cross is 1/7).
  close(probiou(box(0, 0, 4, 1, 0), box(0, 0, 4, 1, Math.PI / 2)), 1 - Math.sqrt(9 / 17), 2e-7, 'cross');
  // Symmetric in its arguments.
  assert.equal(probiou(box(1, 2, 4, 1, 0.1), box(0, 0, 5, 2, 0.9)), probiou(box(0, 0, 5, 2, 0.9), box(1, 2, 4, 1, 0.1)));
});

test('probiou: far apart boxes reach the clamp (bd = 100) and score 0; NaN stays NaN', () => {
  assert.equal(probiou(box(0, 0, 10, 10), box(1000, 0, 10, 10)), 0);
  assert.ok(Number.isNaN(probiou(box(NaN, 0, 10, 10), box(0, 0, 10, 10))));
});

test('covariance: _get_covariance_matrix for a 6×3 box at π/6', () => {
  // a = 36/12 = 3, b = 9/12 = 0.75; cos² = 3/4, sin² = 1/4, cos·sin = √3/4.
  const k = covariance(6, 3, Math.PI / 6);
  close(k.a, 3 * 0.75 + 0.75 * 0.25, 1e-6, 'a');
  close(k.b, 3 * 0.25 + 0.75 * 0.75, 1e-6, 'b');
  close(k.c, (3 - 0.75) * (Math.sqrt(3) / 4), 1e-6, 'c');
});

// ---------------------------------------------------------------------------------------------
// Rotated NMS (Fast-NMS over ProbIoU)

const nms = (cands, o = {}) => rotatedNms(cands, { iou: 0.4, agnostic: false, maxDet: 300, ...o });

test('rotatedNms: Fast-NMS drops a box overlapped by a box that was itself dropped (greedy NMS would keep it)', () => {
  // A(0.9) at x=0, B(0.8) at x=5, C(0.7) at x=10, all 10×10: A–B and B–C 0.4408 >= 0.4, A–C 0.1186.
  // Column C of the upper-triangular matrix holds B's 0.4408, so C goes although B is gone.
  const A = cand(0, 0, 10, 10, 0, 0.9);
  const B = cand(5, 0, 10, 10, 0, 0.8);
  const C = cand(10, 0, 10, 10, 0, 0.7);
  assert.deepEqual(nms([C, A, B]), [A]);
  // Above 0.4408 nothing overlaps enough: all three, in score order.
  assert.deepEqual(nms([C, A, B], { iou: 0.45 }), [A, B, C]);
});

test('rotatedNms: suppression is iou >= threshold, compared in float32', () => {
  const A = cand(0, 0, 10, 10, 0, 0.9);
  const B = cand(5, 0, 10, 10, 0, 0.8);
  const iou = probiou(A, B); // a float32 value, 0.44079446...
  assert.deepEqual(nms([A, B], { iou }), [A]); // equal suppresses
  assert.deepEqual(nms([A, B], { iou: iou + 1e-7 }), [A, B]); // the next float32 above keeps B
  // The cross of two bars (0.2724): suppressed at 0.25, kept at 0.3.
  const H = cand(0, 0, 4, 1, 0, 0.9);
  const V = cand(0, 0, 4, 1, Math.PI / 2, 0.8);
  assert.deepEqual(nms([H, V], { iou: 0.25 }), [H]);
  assert.deepEqual(nms([H, V], { iou: 0.3 }), [H, V]);
});

test('rotatedNms: classes are kept apart by cls × max_wh unless agnostic', () => {
  const A = cand(0, 0, 10, 10, 0, 0.9, 0);
  const B = cand(0, 0, 10, 10, 0.4, 0.8, 3);
  assert.deepEqual(nms([A, B]), [A, B]);
  assert.deepEqual(nms([A, B], { agnostic: true }), [A]);
});

test('rotatedNms: score order out, maxDet cut, maxNms keeps the highest scores, ties keep input order', () => {
  const far = (i, s, cls = 0) => cand(i * 100, 0, 10, 10, 0, s, cls);
  const a = far(0, 0.5);
  const b = far(1, 0.9);
  const c = far(2, 0.7);
  assert.deepEqual(nms([a, b, c]), [b, c, a]);
  assert.deepEqual(nms([a, b, c], { maxDet: 2 }), [b, c]);
  assert.deepEqual(nms([a, b, c], { maxNms: 1 }), [b]);
  const t1 = far(3, 0.6);
  const t2 = far(4, 0.6);
  assert.deepEqual(nms([t1, t2]), [t1, t2]);
  assert.deepEqual(nms([t2, t1]), [t2, t1]);
  assert.deepEqual(nms([], {}), []);
  assert.deepEqual(nms([a], { maxDet: 0 }), []);
});

test('rotatedNms: iou 0 keeps nothing, as Ultralytics (the zeroed lower triangle counts as >= 0)', () => {
  assert.deepEqual(nms([cand(0, 0, 10, 10, 0, 0.9), cand(500, 0, 10, 10, 0, 0.8)], { iou: 0 }), []);
});

/** Ultralytics' recipe written out plainly: offsets, sort, full upper-triangular matrix. */
function referenceFastNms(cands, { iou, agnostic, maxDet, maxWh = 7680 }) {
  const order = cands.map((_, i) => i).sort((a, b) => cands[b].score - cands[a].score || a - b);
  const bx = order.map((k) => {
    const c = cands[k];
    const off = agnostic ? 0 : f(c.cls * maxWh);
    return { x: f(c.cx + off), y: f(c.cy + off), k: covariance(c.w, c.h, c.r) };
  });
  const kept = [];
  for (let j = 0; j < order.length; j++) {
    let hit = false;
    for (let i = 0; i < j; i++) if (probiouFrom(bx[i].x, bx[i].y, bx[i].k, bx[j].x, bx[j].y, bx[j].k) >= f(iou)) hit = true;
    if (!hit) kept.push(cands[order[j]]);
  }
  return kept.slice(0, maxDet);
}

test('rotatedNms: same result as the full upper-triangular matrix on random scenes (per-class shortcut included)', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let scene = 0; scene < 40; scene++) {
    const n = 20 + Math.floor(rnd() * 60);
    const big = scene % 5 === 0; // some scenes with huge boxes, where classes can reach each other
    const cands = Array.from({ length: n }, () =>
      cand(rnd() * 640, rnd() * 640, 5 + rnd() * (big ? 20000 : 120), 5 + rnd() * (big ? 20000 : 60), rnd() * 3 - 0.8, rnd(), Math.floor(rnd() * 4)),
    );
    for (const o of [{ iou: 0.3 }, { iou: 0.7 }, { iou: 0.05, agnostic: true }, { iou: 0.5, maxDet: 5 }]) {
      const opts = { agnostic: false, maxDet: 300, ...o };
      assert.deepEqual(rotatedNms(cands, opts), referenceFastNms(cands, opts), `scene ${scene} ${JSON.stringify(o)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Decoding the two OBB layouts

/** Channels-first [rows][N] given as an array of rows. */
const rowsOf = (rowsArr) => Float32Array.from(rowsArr.flat());
const opts = (o = {}) => ({ conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false, ...o });

// [4 + 2 + 1, 4]: 4 anchors, 2 classes, the angle in the last row.
const RAW = rowsOf([
  [10, 20, 30, 40], // cx
  [11, 21, 31, 41], // cy
  [8, 6, 4, 2], // w
  [4, 3, 2, 1], // h
  [0.9, 0.1, 0.2, NaN], // class 0
  [0.3, 0.8, 0.25, 0.9], // class 1
  [0.5, -0.25, 1.0, 2.0], // angle
]);

test('xywh-classes-angle: best class per anchor, strict float32 threshold, angle from the last row, boxes stay xywh', () => {
  // anchor 2: best 0.25 is not > 0.25; anchor 3: a NaN class score drops the anchor (torch's max is NaN).
  assert.deepEqual(extractObbCandidates('xywh-classes-angle', RAW, 7, 4, opts()), [
    { cx: 10, cy: 11, w: 8, h: 4, r: 0.5, score: f(0.9), cls: 0, source: 0 },
    { cx: 20, cy: 21, w: 6, h: 3, r: -0.25, score: f(0.8), cls: 1, source: 1 },
  ]);
  assert.deepEqual(extractObbCandidates('xywh-classes-angle', RAW, 7, 4, opts({ classes: [1] })).map((c) => c.source), [1]);
  assert.deepEqual(extractObbCandidates('xywh-classes-angle', RAW, 7, 4, opts({ conf: 0.8 })).map((c) => c.source), [0]);
  assert.throws(() => extractObbCandidates('xywh-classes-angle', RAW, 5, 4, opts()), /at least 6 rows/);
  assert.throws(() => extractObbCandidates('xywh-classes-angle', RAW, 7, 5, opts()), /does not hold/);
});

// [K=4, 7]: cx, cy, w, h, score, class, angle.
const E2E = Float32Array.from([
  [50, 60, 20, 10, 0.95, 2, 0.1],
  [10, 10, 4, 4, 0.2, 0, 0],
  [70, 80, 30, 6, 0.6, 1, 1.2],
  [90, 90, 8, 8, 0.55, 2.5, 0],
].flat());

test('xywh-score-class-angle: threshold and class filter only, model order kept, float class matched then truncated', () => {
  const got = extractObbCandidates('xywh-score-class-angle', E2E, 4, 7, opts());
  assert.deepEqual(got.map((c) => [c.source, c.cls, c.r]), [[0, 2, f(0.1)], [2, 1, f(1.2)], [3, 2, 0]]);
  // Class 2.5 is not class 2 (Ultralytics compares the float column with the ids).
  assert.deepEqual(extractObbCandidates('xywh-score-class-angle', E2E, 4, 7, opts({ classes: [2] })).map((c) => c.source), [0]);
  assert.throws(() => extractObbCandidates('xywh-score-class-angle', E2E, 4, 6, opts()), /at least 7 columns/);
});

// ---------------------------------------------------------------------------------------------
// Geometry: scale_boxes(xywh=True), corners, regularize_rboxes

test('scaleRbox: a 200×100 image in a 64×64 input: gain 0.32, pad (0, 16); centre and size scaled, angle kept, no clipping', () => {
  const g = letterboxGeometry(200, 100, 64, 64);
  assert.deepEqual(scaleRbox(box(32, 32, 16, 8, 0.7), g), { cx: 100, cy: 50, w: 50, h: 25, r: 0.7 });
  // A centre in the padding maps outside the image and stays there (summary() does not clip OBBs).
  assert.deepEqual(scaleRbox(box(-3.2, 8, 16, 8, 0), g), { cx: -10, cy: -25, w: 50, h: 25, r: 0 });
});

test('rboxCorners: ctr ± w/2·(cos, sin) ± h/2·(−sin, cos) in xywhr2xyxyxyxy order; box is their min/max', () => {
  // r = 0: vec1 = (25, 0), vec2 = (0, 12.5).
  assert.deepEqual(rboxCorners(box(100, 50, 50, 25, 0)), { x1: 125, y1: 62.5, x2: 125, y2: 37.5, x3: 75, y3: 37.5, x4: 75, y4: 62.5 });
  // r = π/6: vec1 = 25·(√3/2, 1/2), vec2 = 12.5·(−1/2, √3/2).
  const c = rboxCorners(box(100, 50, 50, 25, Math.PI / 6));
  const v1 = [25 * Math.sqrt(3) / 2, 12.5];
  const v2 = [-6.25, 12.5 * Math.sqrt(3) / 2];
  const want = [[1, 1], [1, -1], [-1, -1], [-1, 1]].map(([a, b]) => [100 + a * v1[0] + b * v2[0], 50 + a * v1[1] + b * v2[1]]);
  want.forEach(([x, y], i) => {
    close(c[`x${i + 1}`], x, 2e-5, `x${i + 1}`);
    close(c[`y${i + 1}`], y, 2e-5, `y${i + 1}`);
  });
  assert.deepEqual(cornersBox(c), {
    x1: Math.min(c.x1, c.x2, c.x3, c.x4),
    y1: Math.min(c.y1, c.y2, c.y3, c.y4),
    x2: Math.max(c.x1, c.x2, c.x3, c.x4),
    y2: Math.max(c.y1, c.y2, c.y3, c.y4),
  });
});

test('regularizeRbox: w and h swap when r mod π is in [π/2, π); r becomes r mod π/2; the rectangle is unchanged', () => {
  // r = 2.0: 2.0 mod π = 2.0 >= π/2, so swap; 2.0 mod π/2 = 2.0 − π/2 = 0.4292.
  const r1 = regularizeRbox(box(0, 0, 50, 20, 2.0));
  assert.deepEqual([r1.w, r1.h], [20, 50]);
  close(r1.r, 2.0 - Math.PI / 2, 1e-6, 'r');
  // r = −0.3: mod π = 2.8416 -> swap; mod π/2 = 1.2708.
  const r2 = regularizeRbox(box(0, 0, 50, 20, -0.3));
  assert.deepEqual([r2.w, r2.h], [20, 50]);
  close(r2.r, Math.PI / 2 - 0.3, 1e-6, 'r');
  // r = 0.5: no swap, unchanged.
  assert.deepEqual(regularizeRbox(box(0, 0, 50, 20, 0.5)), box(0, 0, 50, 20, 0.5));
  // Same four corners, only the starting one moves.
  const pts = (c) => [1, 2, 3, 4].map((i) => [c[`x${i}`], c[`y${i}`]].map((v) => Math.round(v * 1000) / 1000).join()).sort();
  assert.deepEqual(pts(rboxCorners(r1)), pts(rboxCorners(box(0, 0, 50, 20, 2.0))));
});

// ---------------------------------------------------------------------------------------------
// The whole image

test('postprocessObbImage: decode, rotated NMS, scale, corners, summary() rounding; names and xywhr', () => {
  const g = letterboxGeometry(200, 100, 64, 64);
  // Two anchors of class 1 on one spot (ProbIoU ≈ 1) and one of class 0 elsewhere.
  const raw = rowsOf([
    [32, 33, 10], // cx
    [32, 32, 40], // cy
    [16, 16, 8], // w
    [8, 8, 8], // h
    [0.1, 0.1, 0.7], // class 0
    [0.9, 0.8, 0.1], // class 1
    [0, 0, 0.5], // angle
  ]);
  const dets = postprocessObbImage('xywh-classes-angle', raw, 7, 3, g, opts(), ['plane', 'ship']);
  assert.deepEqual(dets[0], {
    name: 'ship',
    class: 1,
    confidence: 0.9,
    box: { x1: 75, y1: 37.5, x2: 125, y2: 62.5 },
    obb: { x1: 125, y1: 62.5, x2: 125, y2: 37.5, x3: 75, y3: 37.5, x4: 75, y4: 62.5 },
    xywhr: { x: 100, y: 50, w: 50, h: 25, r: 0 },
  });
  assert.equal(dets.length, 2);
  assert.equal(dets[1].name, 'plane');
  assert.equal(dets[1].confidence, 0.7);
  assert.deepEqual(dets[1].xywhr, { x: 31.25, y: 75, w: 25, h: 25, r: 0.5 });
  // regularize: true (older Ultralytics) turns the r = 0.5 square into the same square.
  const reg = postprocessObbImage('xywh-classes-angle', raw, 7, 3, g, opts(), ['plane', 'ship'], { confidence: 5, box: 2, angle: 5, regularize: true });
  assert.deepEqual(reg, dets);
  // Unknown class ids get a placeholder name.
  assert.equal(postprocessObbImage('xywh-classes-angle', raw, 7, 3, g, opts(), ['plane'])[0].name, 'class1');
});

test('postprocessObbImage: end-to-end rows skip NMS and keep the first maxDet above the threshold', () => {
  const g = letterboxGeometry(100, 100, 100, 100);
  const dets = postprocessObbImage('xywh-score-class-angle', E2E, 4, 7, g, opts({ maxDet: 2 }), ['a', 'b', 'c']);
  assert.deepEqual(dets.map((d) => [d.name, d.confidence, d.xywhr.r]), [['c', 0.95, 0.1], ['b', 0.6, 1.2]]);
});

// ---------------------------------------------------------------------------------------------
// A synthetic OBB export through onnxruntime

test('synthetic OBB models (test/helpers/task-models.js) run in onnxruntime and decode to the boxes they were given', async () => {
  const ort = await import('onnxruntime-node');
  const { buildDetectionModel } = await import('./helpers/onnx-builder.js');
  const { obbModel, obbEnd2endModel, DOTA_NAMES } = await import('./helpers/task-models.js');
  const run = async (o) => {
    const session = await ort.InferenceSession.create(buildDetectionModel(o));
    const out = await session.run({ images: new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]) });
    return out.output0;
  };
  // A and B: class 1, 16×16, 8 px apart (ProbIoU 0.4408); C: far away; D: class 0 on top of A.
  const boxes = [
    { cx: 20, cy: 20, w: 16, h: 16, r: 0, cls: 1, score: 0.9 },
    { cx: 28, cy: 20, w: 16, h: 16, r: 0.3, cls: 1, score: 0.8 },
    { cx: 50, cy: 50, w: 10, h: 4, r: 1.0, cls: 1, score: 0.7 },
    { cx: 20, cy: 20, w: 16, h: 16, r: 0, cls: 0, score: 0.6 },
  ];
  const raw = await run(obbModel({ boxes, names: DOTA_NAMES, extraAnchors: 3 }));
  assert.deepEqual(raw.dims, [2, 4 + 15 + 1, 7]);
  const g = letterboxGeometry(64, 64, 64, 64);
  const image1 = raw.data.subarray(20 * 7, 40 * 7); // the second image of the batch
  const kept = (iou) => postprocessObbImage('xywh-classes-angle', image1, 20, 7, g, opts({ iou }), DOTA_NAMES).map((d) => d.xywhr.x);
  assert.deepEqual(kept(0.4), [20, 50, 20]);
  assert.deepEqual(kept(0.7), [20, 28, 50, 20]);

  const e2e = await run(obbEnd2endModel({ boxes, names: DOTA_NAMES, k: 6 }));
  assert.deepEqual(e2e.dims, [2, 6, 7]);
  const dets = postprocessObbImage('xywh-score-class-angle', e2e.data.subarray(0, 42), 6, 7, g, opts(), DOTA_NAMES);
  assert.deepEqual(dets.map((d) => [d.name, d.confidence, d.xywhr.r]), [['ship', 0.9, 0], ['ship', 0.8, 0.3], ['ship', 0.7, 1], ['plane', 0.6, 0]]);
});

test('obbLayoutOf: [B, 4+nc+1, N] raw, [B, K, 7] end-to-end (by metadata or by shape), clear errors otherwise', () => {
  assert.deepEqual(obbLayoutOf([1, 20, 21504], false), { layout: 'xywh-classes-angle', numClasses: 15 });
  assert.deepEqual(obbLayoutOf(['batch', 20, 'anchors'], false), { layout: 'xywh-classes-angle', numClasses: 15 });
  assert.deepEqual(obbLayoutOf([1, 300, 7], false), { layout: 'xywh-score-class-angle', numClasses: null });
  assert.deepEqual(obbLayoutOf(['b', 'k', 'c'], true), { layout: 'xywh-score-class-angle', numClasses: null });
  assert.deepEqual(obbLayoutOf(null, false), { layout: 'xywh-classes-angle', numClasses: null });
  assert.throws(() => obbLayoutOf([1, 300, 6], true), /unsupported OBB output shape \[1, 300, 6\] \(end-to-end needs 7 columns\)/);
  assert.throws(() => obbLayoutOf([1, 5, 8400], false), /needs at least 6 rows/);
  // Few anchors are fine (a transposed export would fail the class-count check against the names).
  assert.deepEqual(obbLayoutOf([1, 20, 4], false), { layout: 'xywh-classes-angle', numClasses: 15 });
  assert.throws(() => obbLayoutOf([1, 20], false), /unsupported OBB output shape \[1, 20\]/);
});

// ---------------------------------------------------------------------------------------------
// Against torch

test('probiou and rotatedNms match torch running Ultralytics\' formulas in float32 (fixtures/obb-torch.json)', async () => {
  // Generated by fixtures/obb-torch.py: batch_probiou over 16 random scenes and the rotated NMS
  // picks at four settings. ProbIoU agrees to within a few float32 ulps (torch's vectorised
  // cos/sin/log/exp differ from correctly rounded ones in the last bit now and then; 96 % of the
  // pairs are bit-identical); every pick agrees exactly.
  const { readFile } = await import('node:fs/promises');
  const { scenes, torch } = JSON.parse(await readFile(new URL('./fixtures/obb-torch.json', import.meta.url), 'utf8'));
  let pairs = 0;
  let exact = 0;
  for (const [s, scene] of scenes.entries()) {
    const boxes = scene.boxes.map(([cx, cy, w, h, score, cls, r]) => ({ cx: f(cx), cy: f(cy), w: f(w), h: f(h), r: f(r), score: f(score), cls }));
    let k = 0;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++, k++) {
        const got = probiou(boxes[i], boxes[j]);
        const want = f(scene.probiou[k]);
        close(got, want, 2.5e-7, `scene ${s} pair ${i},${j} (torch ${torch})`);
        pairs++;
        if (got === want) exact++;
      }
    }
    for (const [key, want] of Object.entries(scene.picks)) {
      const [iou, agnostic] = key.split('/');
      const got = rotatedNms(boxes, { iou: Number(iou), agnostic: agnostic === 'True', maxDet: 300 }).map((c) => boxes.indexOf(c));
      assert.deepEqual(got, want, `scene ${s}, iou ${iou}, agnostic ${agnostic}`);
    }
  }
  assert.ok(exact / pairs > 0.9, `${exact} of ${pairs} ProbIoUs bit-identical to torch`);
});
