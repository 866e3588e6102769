// `yolo-serve eval` on segmentation and pose records (issue 10's record shapes): masks by RLE as
// pycocotools rasterises polygons (maskApi.c), COCO segm metrics, and OKS keypoint metrics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { polygonToRle, rleArea, rleIou, mergeRles, rleFromString, segmentationToRle } from '../dist/evaluate/masks.js';
import { oks, CocoEvaluator, paramsFor, summarizeKeypoints } from '../dist/evaluate/coco-eval.js';
import { coco128Dir, modelsDir, requireShared, runCli, sharedDir } from './helpers/cli.js';

/** COCO's compressed RLE encoder (maskApi rleToString), written here from its definition to test the decoder. */
function rleToString(counts) {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

test('masks: rectangles rasterise to their pixel area; IoU, union, crowd, compressed RLE', () => {
  const sq = (x, y, w, h) => [x, y, x + w, y, x + w, y + h, x, y + h];
  const a = polygonToRle(sq(0, 0, 10, 10), 20, 30);
  assert.equal(rleArea(a), 100);
  assert.equal(a.counts.reduce((s, c) => s + c, 0), 600, 'counts cover the image');
  const b = polygonToRle(sq(5, 0, 10, 10), 20, 30);
  assert.equal(rleArea(b), 100);
  assert.equal(rleIou(a, b, false), 50 / 150);
  assert.equal(rleIou(a, b, true), 50 / 100); // crowd: over the detection's area
  assert.equal(rleArea(mergeRles([a, b])), 150);
  assert.equal(rleArea(mergeRles([a, b], true)), 50);
  assert.equal(rleIou(a, polygonToRle(sq(15, 15, 3, 3), 20, 30), false), 0);
  // A polygon's mask is within a pixel of its area (5× sub-pixel boundary, pixel-centre rule).
  const tri = polygonToRle([2.3, 1.7, 15.2, 3.1, 9.9, 17.6], 20, 20);
  assert.ok(Math.abs(rleArea(tri) - 97.2) < 8, `triangle area ${rleArea(tri)}`);
  // Polygons clipped by the image border stay inside it.
  assert.equal(rleArea(polygonToRle(sq(-5, -5, 10, 10), 20, 20)), 25);
  for (const counts of [a.counts, tri.counts, [0, 600], [600]]) {
    assert.deepEqual(rleFromString(rleToString(counts), 20, 30).counts, counts);
  }
  assert.deepEqual(segmentationToRle({ counts: rleToString(a.counts), size: [20, 30] }, 1, 1), a);
  assert.equal(rleArea(segmentationToRle([sq(0, 0, 10, 10), sq(5, 0, 10, 10)], 20, 30)), 150);
});

test('OKS: 1 for identical keypoints, exp(-d²/(2·s²·(2σ)²)) per labelled keypoint, unlabelled ones skipped', () => {
  const gt = { category: 0, bbox: [0, 0, 10, 10], area: 100, iscrowd: false, keypoints: [1, 1, 2, 5, 5, 2, 9, 9, 0] };
  assert.equal(oks([1, 1, 2, 5, 5, 2, 100, 100, 2], gt), 1);
  // 3 keypoints: sigma 1/3 each (not COCO's 17). One of two labelled is off by 1 px.
  const e = 1 / ((2 / 3) ** 2) / (100 + 2.220446049250313e-16) / 2;
  assert.ok(Math.abs(oks([2, 1, 2, 5, 5, 2, 0, 0, 0], gt) - (Math.exp(-e) + 1) / 2) < 1e-15);
  // Keypoint evaluation: maxDets 20 and the all/medium/large ranges.
  const ev = new CocoEvaluator(paramsFor('keypoints'));
  ev.addImage(0, [gt], [{ category: 0, bbox: [0, 0, 10, 10], score: 0.9, keypoints: [1, 1, 2, 5, 5, 2, 0, 0, 0] }]);
  const s = summarizeKeypoints(ev.accumulate(), ev.params);
  assert.ok(Math.abs(s.mAP - 1) < 1e-12);
  assert.equal(s.mAP_medium, -1); // area 100 is small, a range keypoints do not report
});

function dataset(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ys-eval-${kind}-`));
  fs.mkdirSync(path.join(dir, 'labels'));
  const W = 100;
  const H = 50;
  const rec = (name, dets) => ({ path: path.join(dir, 'images', name), width: W, height: H, detections: dets, error: null });
  if (kind === 'seg') {
    // a.jpg: a square at (10,10)-(30,30) and a triangle. The detection covers the square exactly
    // (polygon), and a box-only prediction of the triangle's box.
    fs.writeFileSync(path.join(dir, 'labels', 'a.txt'), '0 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n1 0.5 0.2 0.9 0.2 0.7 0.9\n');
    const square = { name: 'sq', class: 0, confidence: 0.9, box: { x1: 10, y1: 10, x2: 30, y2: 30 }, segments: { x: [10, 30, 30, 10], y: [10, 10, 30, 30] } };
    const tri = { name: 'tri', class: 1, confidence: 0.8, box: { x1: 50, y1: 10, x2: 90, y2: 45 }, segments: { x: [50, 90, 90, 50], y: [10, 10, 45, 45] } };
    return { dir, records: [rec('a.jpg', [square, tri])] };
  }
  // pose: one person with 3 keypoints (x y v), box (20,10)-(60,40).
  fs.writeFileSync(path.join(dir, 'labels', 'a.txt'), '0 0.4 0.5 0.4 0.6 0.3 0.4 2 0.4 0.6 2 0.5 0.5 0\n');
  const person = { name: 'person', class: 0, confidence: 0.9, box: { x1: 20, y1: 10, x2: 60, y2: 40 }, keypoints: { x: [30, 40, 0], y: [20, 30, 0], visible: [0.9, 0.8, 0.1] } };
  return { dir, records: [rec('a.jpg', [person])] };
}

test('CLI: segmentation records are also scored on masks (segm), boxes unchanged', async () => {
  const { dir, records } = dataset('seg');
  fs.writeFileSync(path.join(dir, 'r.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.segm, 'segm figures present');
  assert.equal(j.keypoints, null);
  // Class 0: the same square as polygon → mask IoU 1. Class 1: a rectangle against a triangle
  // filling half its box → IoU ≈ 0.5: a match at 0.50 only if ≥ 0.5.
  const tri = polygonToRle([50, 10, 90, 10, 70, 45], 50, 100);
  const rect = polygonToRle([50, 10, 90, 10, 90, 45, 50, 45], 50, 100);
  const iou = rleIou(rect, tri, false);
  const cls1 = iou >= 0.5 ? (iou >= 0.55 ? 2 : 1) / 10 : 0;
  assert.ok(Math.abs(j.segm.mAP - (1 + cls1) / 2) < 1e-9, `segm mAP ${j.segm.mAP}, triangle IoU ${iou}`);
  // Boxes: the square's box matches exactly; the triangle's box (50,10)-(90,45) too.
  assert.ok(Math.abs(j.coco.mAP - 1) < 1e-9);
  const text = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels'), '--no-per-class', '--fail-under', 'mask_mAP=0.99']);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /COCO masks \(as COCOeval, segm: mask IoU\)/);
  assert.match(text.stderr, /--fail-under: mask_mAP 0\.\d+ is under 0\.9900/);
  const noPose = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels'), '--fail-under', 'pose_mAP=0.5']);
  assert.equal(noPose.code, 2);
  assert.match(noPose.stderr, /pose_mAP is not available .*\(no keypoints in it\)/);
});

test('CLI: pose records are also scored on keypoints (OKS)', async () => {
  const { dir, records } = dataset('pose');
  fs.writeFileSync(path.join(dir, 'r.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.segm, null);
  // The two labelled keypoints are exact; the third is unlabelled (v 0): OKS 1.
  assert.ok(Math.abs(j.keypoints.mAP - 1) < 1e-9, JSON.stringify(j.keypoints));
  assert.match((await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels')])).stdout, /COCO keypoints \(as COCOeval, keypoints: OKS/);
  // A label with the wrong number of values for 3 keypoints is refused, naming the line.
  fs.writeFileSync(path.join(dir, 'labels', 'a.txt'), '0 0.4 0.5 0.4 0.6 0.3 0.4 2 0.4\n');
  const bad = await runCli(['eval', path.join(dir, 'r.jsonl'), '--labels', path.join(dir, 'labels')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /a\.txt line 1: a pose label needs 5 \+ 3×3 \(or 3×2\) values/);
});

test('real segment and pose runs: masks from polygons and from COCO RLE round-trip to mask mAP 1; pose is scored', async (t) => {
  if (!requireShared(t)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-eval-real-tasks-'));
  const images = fs.readdirSync(coco128Dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, 6).map((f) => path.join(coco128Dir, f));
  const manifest = path.join(dir, 'images.txt');
  fs.writeFileSync(manifest, images.join('\n') + '\n');
  for (const format of ['polygon', 'rle']) {
    const results = path.join(dir, `seg-${format}.jsonl`);
    const run = await runCli(['batch', manifest, '--model', path.join(modelsDir, 'yolo11n-seg_int8_640.onnx'), '--mask-format', format, '--out', results, '--quiet', '--no-progress']);
    assert.equal(run.code, 0, run.stderr);
    // Against coco128's box labels: masks are scored against rectangles, boxes as usual.
    const vsBoxes = JSON.parse((await runCli(['eval', results, '--labels', path.join(coco128Dir, 'labels'), '--json'])).stdout);
    assert.ok(vsBoxes.segm && vsBoxes.segm.mAP >= 0 && vsBoxes.segm.mAP < vsBoxes.coco.mAP, `${format}: masks against rectangles score below boxes`);
    // The run's own masks as ground truth (a COCO dataset export): every mask matches itself.
    const ds = path.join(dir, `seg-${format}.json`);
    assert.equal((await runCli(['export', results, '--to', 'coco-dataset', '--out', ds, '-q'])).code, 0);
    const self = JSON.parse((await runCli(['eval', results, '--labels', ds, '--json'])).stdout);
    for (const k of ['mAP', 'mAP50', 'mAP75']) assert.ok(Math.abs(self.segm[k] - 1) < 1e-9, `${format} segm ${k} ${self.segm[k]}`);
  }
  const pose = path.join(dir, 'pose.jsonl');
  const poseImages = path.join(sharedDir, 'images', 'coco8-pose', 'images');
  const run = await runCli(['batch', poseImages, '--model', path.join(modelsDir, 'yolo11n-pose_int8_640_coarse.onnx'), '--conf', '0.001', '--out', pose, '--quiet', '--no-progress']);
  assert.equal(run.code, 0, run.stderr);
  const j = JSON.parse((await runCli(['eval', pose, '--json'])).stdout); // labels by the images/ → labels/ convention
  assert.equal(j.images.evaluated, 8);
  assert.ok(j.keypoints, 'keypoint figures present');
  assert.ok(j.coco.mAP50 > 0.5, `person boxes found (mAP50 ${j.coco.mAP50})`);
  t.diagnostic(`coco8-pose, yolo11n-pose_int8_640_coarse: box mAP50 ${j.coco.mAP50.toFixed(3)}, keypoint mAP ${j.keypoints.mAP.toFixed(3)} (this coarse export's keypoint visibilities are all below 0.5, so its records carry zeroed keypoints)`);
});
