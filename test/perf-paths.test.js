// The fast paths added for speed (issue 11) must give exactly what the plain formulas give:
// letterboxInto's word-at-a-time copy, its per-size coefficient tables and its vertical-copy
// shortcut against a direct, unoptimised transcription of OpenCV's INTER_LINEAR formula; the
// candidate scan's eight-at-a-time threshold against a plain loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { letterboxGeometry, letterboxInto } from '../dist/preprocess/letterbox.js';
import { extractCandidates } from '../dist/postprocess/index.js';

/** Deterministic pseudo-random bytes. */
function noise(len, seed) {
  const out = new Uint8Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 255;
  }
  return out;
}

const cvRound = (x) => {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/** OpenCV 8U INTER_LINEAR, one output pixel at a time, straight from the formula (see letterbox.ts). */
function referenceLetterbox(data, srcW, srcH, g) {
  const out = new Float32Array(3 * g.dstW * g.dstH).fill(Math.fround(114 / 255));
  const plane = g.dstW * g.dstH;
  const coefs = (d, scale, len, clamp) => {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clamp && s < 0) [s, f] = [0, 0];
    if (clamp && s >= len - 1) [s, f] = [len - 1, 0];
    return [s, cvRound(Math.fround(1 - f) * 2048), cvRound(f * 2048)];
  };
  const px = (x, y, c) => data[(Math.min(Math.max(y, 0), srcH - 1) * srcW + Math.min(x, srcW - 1)) * 3 + c];
  for (let dy = 0; dy < g.newH; dy++) {
    const [sy, b0, b1] = coefs(dy, 1 / (g.newH / srcH), srcH, false);
    for (let dx = 0; dx < g.newW; dx++) {
      const [sx, a0, a1] = coefs(dx, 1 / (g.newW / srcW), srcW, true);
      for (let c = 0; c < 3; c++) {
        let v;
        if (g.newW === srcW && g.newH === srcH) v = px(dx, dy, c);
        else {
          const h0 = (px(sx, sy, c) * a0 + px(sx + 1, sy, c) * a1) >> 4;
          const h1 = (px(sx, sy + 1, c) * a0 + px(sx + 1, sy + 1, c) * a1) >> 4;
          v = (((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2;
        }
        out[c * plane + (g.padTop + dy) * g.dstW + g.padLeft + dx] = Math.fround(v / 255);
      }
    }
  }
  return out;
}

function assertSameTensor(actual, expected, label) {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

test('letterboxInto matches the plain INTER_LINEAR formula for copies, up- and downscales, odd widths and unaligned buffers', () => {
  const dst = 48;
  // [srcW, srcH]: network width (word copy unless unaligned), odd width
  // (byte copy), 2× and 1.5× downscales, upscales, one-pixel-high, exact aspect.
  const sizes = [[48, 36], [47, 36], [48, 30], [96, 72], [72, 54], [20, 15], [13, 31], [48, 1], [1, 48], [100, 100], [33, 48]];
  for (const [w, h] of sizes) {
    for (const byteOffset of [0, 1, 4]) {
      const backing = noise(w * h * 3 + byteOffset, w * 131 + h);
      const data = new Uint8Array(backing.buffer, byteOffset, w * h * 3);
      const g = letterboxGeometry(w, h, dst, dst);
      const out = new Float32Array(3 * dst * dst + 7).fill(-1);
      letterboxInto({ data, width: w, height: h }, g, out, 7);
      assertSameTensor(out.subarray(7), referenceLetterbox(data, w, h, g), `${w}x${h} at byte offset ${byteOffset}`);
      assert.ok(out.subarray(0, 7).every((v) => v === -1), 'nothing written before the offset');
    }
  }
});

test('letterboxInto gives the same result when its per-size tables come from the cache, also after eviction', () => {
  const make = (w, h) => ({ data: noise(w * h * 3, w + 7 * h), width: w, height: h });
  const first = make(61, 45);
  const g = letterboxGeometry(61, 45, 32, 32);
  const once = new Float32Array(3 * 32 * 32);
  letterboxInto(first, g, once);
  // More distinct sizes than the cache keeps, then the first size again.
  for (let k = 0; k < 40; k++) {
    const img = make(50 + k, 40 + (k % 7));
    letterboxInto(img, letterboxGeometry(img.width, img.height, 32, 32), new Float32Array(3 * 32 * 32));
  }
  for (let k = 0; k < 2; k++) {
    const again = new Float32Array(3 * 32 * 32);
    letterboxInto(first, g, again);
    assertSameTensor(again, once, `repeat ${k}`);
  }
  assertSameTensor(once, referenceLetterbox(first.data, 61, 45, g), 'against the formula');
});

test('extractCandidates finds exactly the anchors a plain loop finds, whatever the anchor count modulo 8', () => {
  const conf = 0.25;
  for (const n of [1, 7, 8, 9, 64, 8403]) {
    const nc = 5;
    const data = new Float32Array((4 + nc) * n);
    const bytes = noise(data.length, n);
    for (let i = 0; i < data.length; i++) data[i] = (bytes[i] / 255) * 0.3; // mostly below conf
    for (let j = 0; j < n; j += 5) data[(4 + (j % nc)) * n + j] = 0.5 + (j % 3) / 10;
    if (n > 3) data[4 * n + 3] = NaN;
    const got = extractCandidates('xywh-classes', data, 4 + nc, n, { conf, classes: null });
    const c32 = Math.fround(conf);
    let expected = 0;
    for (let j = 0; j < n; j++) {
      let best = data[4 * n + j];
      for (let c = 1; c < nc; c++) best = data[(4 + c) * n + j] > best ? data[(4 + c) * n + j] : best;
      if (best > c32) expected++;
    }
    assert.equal(got.length, expected, `n=${n}`);
    assert.ok(got.every((c) => c.score > c32), `n=${n}: every candidate is above the threshold`);
  }
});

test('letterboxInto with padded=true over a place holding the same geometry equals a fresh letterbox', () => {
  const make = (w, h, seed) => ({ data: noise(w * h * 3, seed), width: w, height: h });
  const [a, b] = [make(40, 30, 1), make(40, 30, 2)];
  const g = letterboxGeometry(40, 30, 32, 32);
  const reused = new Float32Array(3 * 32 * 32);
  letterboxInto(a, g, reused);
  letterboxInto(b, g, reused, 0, true);
  const fresh = new Float32Array(3 * 32 * 32);
  letterboxInto(b, g, fresh);
  assertSameTensor(reused, fresh, 'reused place');
});

test('BatchAssembler hands back the pad key a place held, and forgets it for a place written but not committed', async () => {
  const { BatchAssembler } = await import('../dist/pipeline/batch-assembler.js');
  const asm = new BatchAssembler(2, 4);
  assert.equal(asm.placeWithPad().previousPad, null);
  asm.commit('i0', 'k0');
  assert.equal(asm.placeWithPad().previousPad, null);
  asm.commit('i1', 'k1');
  const batch = asm.take(false);
  assert.deepEqual(batch.padKeys, ['k0', 'k1']);
  asm.recycle(batch.buffer, batch.padKeys);
  const first = asm.placeWithPad();
  assert.equal(first.previousPad, 'k0');
  // Not committed (say the write threw): the place's padding is unknown from now on.
  const again = asm.placeWithPad();
  assert.equal(again.previousPad, null);
  asm.commit('j0', 'k2');
  assert.equal(asm.placeWithPad().previousPad, 'k1');
  // A buffer recycled without keys knows nothing.
  const b2 = new BatchAssembler(1, 4);
  b2.recycle(new ArrayBuffer(16));
  assert.equal(b2.placeWithPad().previousPad, null);
});

test('pipeline: images of alternating geometries through reused batch buffers see exactly their own padding', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const sharp = (await import('sharp')).default;
  const { InferencePool } = await import('../dist/inference/pool.js');
  const { runPipeline } = await import('../dist/pipeline.js');
  const { letterboxToTensor } = await import('../dist/preprocess/letterbox.js');
  const { colourShiftDetector, ultralyticsMetadata, writeModel } = await import('./helpers/onnx-builder.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-padreuse-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const model = path.join(tmp, 'm.onnx');
  writeModel(model, { ...colourShiftDetector(), metadata: ultralyticsMetadata({ imgsz: [64, 64], names: ['a', 'b', 'c'] }) });
  // Landscape (pads above/below), portrait (pads left/right), square (none), in a rotation that
  // makes each buffer place see a different geometry than last time as well as the same one.
  const sizes = [[64, 48], [48, 64], [64, 64], [64, 48], [64, 48], [48, 64]];
  const files = [];
  for (let i = 0; i < 24; i++) {
    const [w, h] = sizes[i % sizes.length];
    const file = path.join(tmp, `i${String(i).padStart(2, '0')}.png`);
    await sharp({ create: { width: w, height: h, channels: 3, background: { r: 60 + ((i * 37) % 190), g: 200 - i * 5, b: (i * 53) % 256 } } }).png().toFile(file);
    files.push(file);
  }
  const pool = await InferencePool.start(
    { modelPath: model, intraOpThreads: 1, inputName: 'images', inputType: 'float32', outputNames: ['output0'], outputType: 'float32', imgsz: [64, 64] },
    ['cpu'],
    1,
  );
  const written = [];
  try {
    // As test/batching.test.js configures its pool for the same model.
    pool.configure({ type: 'configure', spec: { task: 'detect', layout: 'xywh-classes', numClasses: 3, pending: false, outputs: [{ name: 'output0', role: 'detections' }], extra: 0, kptShape: null, maskSize: null }, names: ['a', 'b', 'c'], post: { conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false } });
    const sink = { format: 'jsonl', async write(r) { written.push(r); }, async close() {} };
    await runPipeline(files.map((p, index) => ({ index, path: p })), pool, sink, { imgsz: [64, 64], batch: 1, decodeConcurrency: 3, maxPixels: 0 });
  } finally {
    await pool.close();
  }
  assert.equal(written.length, files.length);
  for (const r of written) {
    const { data, info } = await sharp(files[r.index]).raw().toBuffer({ resolveWithObject: true });
    const { tensor, geometry } = letterboxToTensor({ data, width: info.width, height: info.height }, 64, 64);
    const mean = tensor.reduce((a, v) => a + v, 0) / tensor.length;
    const cxOriginal = 10 + 40 * mean - geometry.padLeft; // gain 1 for every size here
    assert.equal(r.detections.length, 1, r.path);
    const box = r.detections[0].box;
    assert.ok(Math.abs((box.x1 + box.x2) / 2 - cxOriginal) < 0.03, `${path.basename(r.path)}: centre ${(box.x1 + box.x2) / 2}, want ${cxOriginal.toFixed(3)}`);
  }
});
