// Batching in the pipeline: dynamic-batch models get runs of up to --batch images and a final
// partial run; fixed-batch models one image per run; every image keeps its own result even
// though images join a batch in the order their decodes finish. Also the inference pool's
// bounded per-worker queue. Synthetic models (test/helpers/onnx-builder.js); no ../shared data.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { InferencePool } from '../dist/inference/pool.js';
import { planParallelism } from '../dist/inference/plan.js';
import { runPipeline } from '../dist/pipeline.js';
import { colourShiftCx, colourShiftDetector, ultralyticsMetadata, writeModel } from './helpers/onnx-builder.js';

// The colour-shift detector: each image's box says which image it saw (see onnx-builder.js).
const detector = colourShiftDetector();
const NAMES = ['a', 'b', 'c'];
const POST = { conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false };

// Solid squares: 64×64 (gain 1) and 128×128 (gain 0.5, boxes doubled). Square, so no padding
// and the network input's mean is the colour's mean, (r + g + b) / 765.
const IMAGES = [
  [64, [200, 10, 90]], [128, [20, 20, 20]], [64, [140, 250, 0]], [128, [60, 0, 180]], [64, [180, 180, 180]],
  [128, [100, 30, 220]], [64, [0, 0, 0]], [128, [240, 240, 100]], [64, [40, 160, 40]], [128, [120, 60, 255]],
];

let tmp;
let files;
let dynamicModel;
let fixedModel;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-batching-'));
  files = [];
  for (const [i, [size, [r, g, b]]] of IMAGES.entries()) {
    const file = path.join(tmp, `img${i}.png`);
    await sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } }).png().toFile(file);
    files.push(file);
  }
  const metadata = ultralyticsMetadata({ names: NAMES, imgsz: [64, 64] });
  dynamicModel = path.join(tmp, 'dynamic.onnx');
  writeModel(dynamicModel, { ...detector, batch: 'batch', metadata });
  fixedModel = path.join(tmp, 'fixed.onnx');
  writeModel(fixedModel, { ...detector, batch: 1, metadata });
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function startPool(model, workers) {
  const pool = await InferencePool.start(
    { modelPath: model, intraOpThreads: 1, inputName: 'images', inputType: 'float32', outputNames: ['output0'], outputType: 'float32', imgsz: [64, 64] },
    ['cpu'],
    workers,
  );
  pool.configure({ type: 'configure', spec: { task: 'detect', layout: 'xywh-classes', numClasses: 3, pending: false, outputs: [{ name: 'output0', role: 'detections' }], extra: 0, kptShape: null, maskSize: null }, names: NAMES, post: POST });
  return pool;
}

async function run(model, { count, batch, workers = 1 }) {
  const pool = await startPool(model, workers);
  const written = [];
  const sink = { format: 'jsonl', async write(r) { written.push(r); }, async close() {} };
  try {
    const jobs = files.slice(0, count).map((p, index) => ({ index, path: p }));
    const outcome = await runPipeline(jobs, pool, sink, { imgsz: [64, 64], batch, decodeConcurrency: 3, maxPixels: 0 });
    return { outcome, written };
  } finally {
    await pool.close();
  }
}

/** Every result is its own image's box, in input order. */
function checkResults(written, count) {
  assert.deepEqual(written.map((r) => r.index), Array.from({ length: count }, (_, i) => i));
  for (const r of written) {
    const [size, [red, green, blue]] = IMAGES[r.index];
    assert.equal(r.error, null, r.path);
    assert.deepEqual([r.width, r.height], [size, size]);
    assert.equal(r.detections.length, 1, r.path);
    const d = r.detections[0];
    assert.deepEqual([d.name, d.class, d.confidence], ['b', 1, 0.9]);
    const scale = size / 64;
    const cx = colourShiftCx([red, green, blue]);
    // Tolerance: ReduceMean's float32 sum and 2-decimal rounding; any two images differ by > 1 px.
    for (const [k, want] of [['x1', (cx - 4) * scale], ['x2', (cx + 4) * scale], ['y1', 28 * scale], ['y2', 36 * scale]]) {
      assert.ok(Math.abs(d.box[k] - want) < 0.03, `image ${r.index}: ${k} = ${d.box[k]}, want ${want.toFixed(3)}`);
    }
  }
}

describe('dynamic-batch model', () => {
  test('--batch 4 over 10 images: runs of 4, 4 and a final partial 2', async () => {
    const { outcome, written } = await run(dynamicModel, { count: 10, batch: 4 });
    assert.equal(outcome.batches, 3);
    assert.deepEqual(outcome.batchSizes, [0, 0, 1, 0, 2]);
    assert.deepEqual([outcome.ok, outcome.failed, outcome.detections], [10, 0, 10]);
    checkResults(written, 10);
  });

  test('fewer images than --batch: one partial run, not dropped', async () => {
    const { outcome, written } = await run(dynamicModel, { count: 3, batch: 8 });
    assert.equal(outcome.batches, 1);
    assert.deepEqual(outcome.batchSizes, [0, 0, 0, 1, 0, 0, 0, 0, 0]);
    checkResults(written, 3);
  });

  test('exact multiple, two workers: runs of 5 only', async () => {
    const { outcome, written } = await run(dynamicModel, { count: 10, batch: 5, workers: 2 });
    assert.deepEqual(outcome.batchSizes, [0, 0, 0, 0, 0, 2]);
    checkResults(written, 10);
  });
});

describe('fixed-batch model', () => {
  test('the plan gives batch 1 whatever --batch says, and each run carries one image', async () => {
    const par = planParallelism({ device: 'cpu', cores: 2, dynamicBatch: false, workers: 'auto', threads: 'auto', batch: 4 });
    assert.equal(par.batch, 1);
    // A [1,3,64,64] model fails on a batch of 2, so ten good results also prove one image per run.
    const { outcome, written } = await run(fixedModel, { count: 10, batch: par.batch, workers: par.workers });
    assert.equal(outcome.batches, 10);
    assert.deepEqual(outcome.batchSizes, [0, 10]);
    checkResults(written, 10);
  });
});

describe('InferencePool queue', () => {
  test('each worker holds at most `depth` batches: the running one and one queued', async () => {
    const pool = await startPool(dynamicModel, 1);
    try {
      assert.deepEqual([pool.size, pool.depth, pool.capacity, pool.idle], [1, 2, 2, 2]);
      const geometry = { srcW: 64, srcH: 64, dstW: 64, dstH: 64, newW: 64, newH: 64, gain: 1, padLeft: 0, padTop: 0, padRight: 0, padBottom: 0 };
      const input = () => new Float32Array(3 * 64 * 64).fill(0.5).buffer;
      const first = pool.run(1, input(), [geometry]);
      const second = pool.run(1, input(), [geometry]);
      assert.equal(pool.idle, 0);
      await assert.rejects(pool.run(1, input(), [geometry]), /every worker full/);
      const results = await Promise.all([first, second]);
      assert.equal(pool.idle, 2);
      for (const r of results) {
        // The input buffer comes back for reuse, and the box is the one for mean 0.5: cx 30.
        assert.equal(r.input.byteLength, 3 * 64 * 64 * 4);
        assert.deepEqual(r.detections[0].map((d) => d.box), [{ x1: 26, y1: 28, x2: 34, y2: 36 }]);
      }
    } finally {
      await pool.close();
    }
  });
});
