// `--batch auto` on a GPU picks the batch size by measurement (issue 11). The search runs against
// a fake clock here (no GPU is needed to test the choice); the worker's timing message runs on a
// real CPU session; on CPU the run never calibrates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { calibrateBatch, candidatesFor, describeCalibration, DEFAULT_CANDIDATES } from '../dist/inference/batch-calibration.js';
import { InferencePool } from '../dist/inference/pool.js';
import { colourShiftDetector, ultralyticsMetadata, writeModel } from './helpers/onnx-builder.js';

/**
 * A fake GPU: a run of b images costs `fixed + perImage × b` ms while the device is not full,
 * and scales linearly once b passes `saturation` (more images no longer overlap). Records calls.
 */
function fakeGpu({ fixed, perImage, saturation = Infinity, failAbove = Infinity, jitter = [] }) {
  const calls = [];
  let k = 0;
  const timer = async (batch, runs) => {
    calls.push({ batch, runs });
    if (batch > failAbove) throw new Error('out of device memory');
    const base = batch <= saturation ? fixed + perImage * batch : (fixed + perImage * saturation) * (batch / saturation);
    // The first (warm-up) run is slow, as a GPU's first run of a new shape is.
    return Array.from({ length: runs }, (_, i) => (i === 0 ? base * 20 : base * (1 + (jitter[k++ % Math.max(1, jitter.length)] ?? 0))));
  };
  return { timer, calls };
}

test('calibrateBatch: climbs while doubling the batch pays, and stops at the knee', async () => {
  // 4 ms launch overhead, 0.25 ms per image, no more overlap beyond 16 images:
  // images/s 1: 235, 2: 444, 4: 800, 8: 1333, 16: 2000, 32: 2000 (no gain) → 16.
  const gpu = fakeGpu({ fixed: 4, perImage: 0.25, saturation: 16 });
  const c = await calibrateBatch(gpu.timer);
  assert.equal(c.batch, 16);
  assert.equal(c.stop, 'no-gain');
  assert.deepEqual(c.steps.map((s) => s.batch), [1, 2, 4, 8, 16, 32]);
  assert.ok(Math.abs(c.steps[4].imagesPerSecond - 2000) < 1e-6, 'the warm-up run is not counted');
  assert.ok(gpu.calls.every((call) => call.runs === 4));
  assert.match(describeCalibration(c), /batch auto: 16 .*16: 2000\/s.*32: 2000\/s.*gained < 10%/);
});

test('calibrateBatch: a device that is busy from batch 1 on stays at batch 1', async () => {
  // Cost proportional to the batch: images/s flat, so doubling never gains 10%.
  const gpu = fakeGpu({ fixed: 0, perImage: 2 });
  const c = await calibrateBatch(gpu.timer);
  assert.equal(c.batch, 1);
  assert.deepEqual(c.steps.map((s) => s.batch), [1, 2]);
});

test('calibrateBatch: keeps the last size that ran when a larger one fails (out of memory)', async () => {
  const gpu = fakeGpu({ fixed: 10, perImage: 0.1, failAbove: 8 });
  const c = await calibrateBatch(gpu.timer);
  assert.equal(c.batch, 8);
  assert.equal(c.stop, 'failed');
  assert.equal(c.steps.at(-1).batch, 16);
  assert.match(c.steps.at(-1).error, /out of device memory/);
  // Failing at the very first size falls back to 1.
  assert.equal((await calibrateBatch(fakeGpu({ fixed: 1, perImage: 1, failAbove: 0 }).timer)).batch, 1);
});

test('calibrateBatch: stops trying larger sizes once its time budget is used', async () => {
  // Big fixed cost: every size gains, but each run takes long.
  const gpu = fakeGpu({ fixed: 400, perImage: 1 });
  const c = await calibrateBatch(gpu.timer, { budgetMs: 20000 });
  assert.equal(c.stop, 'budget');
  assert.ok(c.steps.length < DEFAULT_CANDIDATES.length);
  assert.equal(c.batch, c.steps.at(-1).batch);
});

test('calibrateBatch: medians, not means, so one slow run does not decide', async () => {
  // Batch 32 has one run 5× slower than the others; its median still shows the gain.
  const gpu = fakeGpu({ fixed: 8, perImage: 0.05, jitter: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0] });
  const c = await calibrateBatch(gpu.timer);
  assert.equal(c.batch, 32);
  assert.equal(c.stop, 'all');
});

test('candidatesFor: batch sizes whose float32 input fits the per-batch memory cap', () => {
  assert.deepEqual(candidatesFor(640, 640), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(candidatesFor(1280, 1280), [1, 2, 4, 8]);
  assert.deepEqual(candidatesFor(64, 64, 1), [1]);
});

test('InferencePool.timeBatch runs blank batches on the worker and reports each run', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-calibration-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const model = path.join(tmp, 'dynamic.onnx');
  writeModel(model, { ...colourShiftDetector(), batch: 'batch', metadata: ultralyticsMetadata({ imgsz: [64, 64], names: ['a', 'b', 'c'] }) });
  const pool = await InferencePool.start(
    { modelPath: model, intraOpThreads: 1, inputName: 'images', inputType: 'float32', outputNames: ['output0'], outputType: 'float32', imgsz: [64, 64] },
    ['cpu'],
    1,
  );
  try {
    const ms = await pool.timeBatch(4, 3);
    assert.equal(ms.length, 3);
    assert.ok(ms.every((v) => Number.isFinite(v) && v >= 0));
    const c = await calibrateBatch((b, runs) => pool.timeBatch(b, runs), { candidates: [1, 2] });
    assert.deepEqual(c.steps.map((s) => s.batch), [1, 2]);
  } finally {
    await pool.close();
  }
});

test('on CPU, --batch auto measures nothing and runs one image per call', async (t) => {
  const { runCli } = await import('./helpers/cli.js');
  const sharp = (await import('sharp')).default;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-calibration-cpu-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const model = path.join(tmp, 'dynamic.onnx');
  writeModel(model, { ...colourShiftDetector(), batch: 'batch', metadata: ultralyticsMetadata({ imgsz: [64, 64], names: ['a', 'b', 'c'] }) });
  for (let i = 0; i < 3; i++) await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40 * i, g: 0, b: 0 } } }).png().toFile(path.join(tmp, `i${i}.png`));
  const run = await runCli(['batch', tmp, '--model', model, '--device', 'cpu', '--out', path.join(tmp, 'r.jsonl'), '--verbose', '--no-progress']);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /batch auto:/);
  assert.match(run.stderr, /images per run: 1×3/);
});
