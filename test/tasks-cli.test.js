// The segment and pose tasks end to end through the CLI on real exports (small subsets):
// yolo11n-seg_fp32_640_1class (plain fp32 graph, one class) on sample images, and
// yolo11n-pose_int8_640_coarse on coco8-pose (see ../shared/ASSETS.md: coarse coordinates, every
// visibility 0). Records, CSV columns, resume and merge with task fields, inspect's task fields.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readCsvResults, readJsonlResults } from '../dist/outputs/read-results.js';
import { modelsDir, parseJsonl, requireShared, runCli, sharedDir, withoutHeader } from './helpers/cli.js';

const SEG = path.join(modelsDir, 'yolo11n-seg_fp32_640_1class.onnx');
const POSE = path.join(modelsDir, 'yolo11n-pose_int8_640_coarse.onnx');
const samples = ['bus.jpg', 'zidane.jpg', 'person.jpg'].map((f) => path.join(sharedDir, 'images', 'samples', f));
const posesDir = path.join(sharedDir, 'images', 'coco8-pose');

let tmp;
/** The JSONL records of the default segment run on `samples` (first test), the reference for the CSV ones. */
let segJsonl;
before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-tasks-'))));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function collect(gen) {
  const out = [];
  for await (const r of gen) out.push(r);
  return out;
}

/** Every polygon point inside the image and near its box (masks are cropped to the box). */
function checkPolygon(r, d) {
  const { x, y } = d.segments;
  assert.ok(x.length >= 1 && x.length === y.length, JSON.stringify(d.segments).slice(0, 80));
  for (let i = 0; i < x.length; i++) {
    assert.ok(x[i] >= 0 && x[i] <= r.width && y[i] >= 0 && y[i] <= r.height, `${x[i]},${y[i]} outside ${r.width}x${r.height}`);
    // The crop happens on the 160×160 prototypes, then bilinear upsampling spreads the edge by up
    // to 1.5 prototype pixels (6 network pixels): 8 network pixels of slack, in image pixels.
    const slack = (8 * Math.max(r.width, r.height)) / 640;
    assert.ok(x[i] >= d.box.x1 - slack && x[i] <= d.box.x2 + slack && y[i] >= d.box.y1 - slack && y[i] <= d.box.y2 + slack, `point ${x[i]},${y[i]} far outside box ${JSON.stringify(d.box)}`);
  }
}

describe('segment: yolo11n-seg_fp32_640_1class', () => {
  test('JSONL: polygons in image pixels inside their boxes; RLE and retina masks agree in area', async (t) => {
    if (!requireShared(t)) return;
    const run = await runCli(['batch', ...samples, '--model', SEG, '--out', '-', '--conf', '0.1', '--workers', '1', '-q']);
    assert.equal(run.code, 0, run.stderr);
    const recs = parseJsonl(run.stdout);
    segJsonl = recs;
    assert.equal(recs.length, 3);
    const dets = recs.flatMap((r) => r.detections.map((d) => [r, d]));
    assert.ok(dets.length >= 3, `only ${dets.length} detections`);
    for (const [r, d] of dets) {
      assert.equal(d.name, 'person');
      assert.deepEqual(Object.keys(d), ['name', 'class', 'confidence', 'box', 'segments']);
      checkPolygon(r, d);
    }

    const rle = parseJsonl((await runCli(['batch', ...samples, '--model', SEG, '--out', '-', '--conf', '0.1', '--workers', '1', '--mask-format', 'rle', '-q'])).stdout);
    const retina = parseJsonl((await runCli(['batch', ...samples, '--model', SEG, '--out', '-', '--conf', '0.1', '--workers', '1', '--mask-format', 'rle', '--retina-masks', '-q'])).stdout);
    const { decodeMask, maskIou } = await import('./helpers/coco-rle.js');
    rle.forEach((r, i) => {
      assert.equal(r.detections.length, retina[i].detections.length);
      r.detections.forEach((d, k) => {
        assert.equal(d.segments, undefined);
        assert.deepEqual(d.rle.size, [r.height, r.width]);
        const a = decodeMask(d.rle.counts, r.width, r.height);
        const b = decodeMask(retina[i].detections[k].rle.counts, r.width, r.height);
        // The same mask from the 160×160 prototypes, upsampled in one step or two.
        assert.ok(maskIou(a, b) > 0.85, `${r.path} #${k}: IoU ${maskIou(a, b)}`);
      });
    });
  });

  test('CSV: a segments column, resume appends, merge keeps the column', async (t) => {
    if (!requireShared(t)) return;
    const out = path.join(tmp, 'seg.csv');
    const first = await runCli(['batch', ...samples.slice(0, 2), '--model', SEG, '--out', out, '--conf', '0.1', '--workers', '1', '-q']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(withoutHeader(fs.readFileSync(out, 'utf8')).split('\n')[0], 'path,width,height,detections,class,name,confidence,x1,y1,x2,y2,segments,rle,error');
    const resumed = await runCli(['batch', ...samples, '--model', SEG, '--out', out, '--conf', '0.1', '--workers', '1', '--resume', '-q']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const csv = await collect(readCsvResults(out));
    assert.deepEqual(csv.map((r) => path.basename(r.path)), ['bus.jpg', 'zidane.jpg', 'person.jpg']);
    const jsonl = segJsonl ?? parseJsonl((await runCli(['batch', ...samples, '--model', SEG, '--out', '-', '--conf', '0.1', '--workers', '1', '-q'])).stdout);
    csv.forEach((r, i) => assert.deepEqual(r.detections, jsonl[i].detections, r.path));

    // A detect run cannot append rows without the task's columns to this file.
    const det = await runCli(['batch', samples[0], '--model', path.join(modelsDir, 'yolo11n_int8_320.onnx'), '--out', out, '--resume', '-q']);
    assert.notEqual(det.code, 0);

    const parts = [0, 1].map((k) => path.join(tmp, `part${k}.csv`));
    for (const [k, p] of parts.entries()) {
      const r = await runCli(['batch', ...samples, '--model', SEG, '--out', p, '--conf', '0.1', '--workers', '1', '--shard', `${k}/2`, '-q']);
      assert.equal(r.code, 0, r.stderr);
    }
    const merged = path.join(tmp, 'merged.csv');
    const m = await runCli(['merge', merged, ...parts]);
    assert.equal(m.code, 0, m.stderr);
    const back = await collect(readCsvResults(merged));
    assert.equal(back.length, 3);
    for (const r of back) assert.deepEqual(r.detections, jsonl.find((j) => j.path === r.path).detections);
  });

  test('inspect: task, output roles, mask size', async (t) => {
    if (!requireShared(t)) return;
    const r = await runCli(['inspect', SEG, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.task, 'segment');
    assert.deepEqual(rep.outputs.map((o) => o.role), ['detections', 'protos']);
    assert.deepEqual(rep.mask_size, [160, 160]);
    assert.equal(rep.kpt_shape, null);
    assert.deepEqual(rep.probe.outputs_dims, [[1, 37, 8400], [1, 32, 160, 160]]);
    const text = await runCli(['inspect', SEG, '--no-probe']);
    assert.match(text.stdout, /← mask prototypes/);
    assert.match(text.stdout, /\nmask size +160x160 prototypes/);
  });
});

describe('pose: yolo11n-pose_int8_640_coarse on coco8-pose', () => {
  test('17 keypoints per person, clipped to the image, zeroed where visibility < 0.5; CSV keypoints column', async (t) => {
    if (!requireShared(t)) return;
    const out = path.join(tmp, 'pose.jsonl');
    const run = await runCli(['batch', posesDir, '--model', POSE, '--out', out, '-q']);
    assert.equal(run.code, 0, run.stderr);
    const recs = await collect(readJsonlResults(out));
    assert.equal(recs.length, 8);
    const dets = recs.flatMap((r) => r.detections.map((d) => [r, d]));
    assert.ok(dets.length >= 8, `only ${dets.length} people`);
    for (const [r, d] of dets) {
      assert.equal(d.name, 'person');
      const { x, y, visible } = d.keypoints;
      assert.equal(x.length, 17);
      assert.equal(y.length, 17);
      assert.equal(visible.length, 17);
      for (let i = 0; i < 17; i++) {
        assert.ok(x[i] >= 0 && x[i] <= r.width && y[i] >= 0 && y[i] <= r.height);
        assert.ok(visible[i] >= 0 && visible[i] <= 1);
        if (visible[i] < 0.5) assert.deepEqual([x[i], y[i]], [0, 0]);
      }
    }
    const csvOut = path.join(tmp, 'pose.csv');
    assert.equal((await runCli(['batch', posesDir, '--model', POSE, '--out', csvOut, '-q'])).code, 0);
    assert.equal(withoutHeader(fs.readFileSync(csvOut, 'utf8')).split('\n')[0], 'path,width,height,detections,class,name,confidence,x1,y1,x2,y2,keypoints,error');
    const csv = await collect(readCsvResults(csvOut));
    csv.forEach((r, i) => assert.deepEqual(r.detections, recs[i].detections));

    const ins = JSON.parse((await runCli(['inspect', POSE, '--json', '--no-probe'])).stdout);
    assert.deepEqual([ins.task, ins.kpt_shape, ins.mask_size], ['pose', [17, 3], null]);
  });
});
