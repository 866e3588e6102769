// Classification (task=classify) against Ultralytics' recipe: classify_transforms(imgsz) as the
// ClassificationPredictor applies it (torchvision Resize on a PIL image -> Pillow's antialiased
// BILINEAR resample, CenterCrop, ToTensor) and Results.summary() for Probs (top 5). Expected
// values are worked out by hand in the comments.
//
// Pillow's BILINEAR taps for a downscale by `scale`: support = scale, for output pixel x the
// centre is (x + 0.5)·scale, source pixels trunc(centre − support + 0.5) .. trunc(centre + support
// + 0.5) − 1, weight 1 − |(src − centre + 0.5) / scale|, normalised, then 22-bit fixed point;
// value = (Σ p·k + 2^21) >> 22. The horizontal pass runs first into an 8-bit image.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { bilinearTaps, classifyGeometry, classifyInto, classifyToTensor, resizeCropRgb } from '../dist/preprocess/classify.js';
import { classifyClassesOf, classifyRow, isDistribution, softmax, topK, probabilities } from '../dist/postprocess/classify.js';

const f = Math.fround;

/** A packed RGB image whose three channels all hold value(x, y). */
function grey(width, height, value) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.fill(value(x, y), (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return { data, width, height };
}

/** Channel 0 of a packed RGB buffer as rows. */
const rowsOfChannel0 = (rgb, width, height) =>
  Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => rgb[(y * width + x) * 3]));

// ---------------------------------------------------------------------------------------------
// Geometry

test('classifyGeometry: square imgsz resizes the short side (long side truncated), then a centred crop with Python rounding', () => {
  // 640×480 at 224: short side 480 -> 224, long side int(224·640/480) = int(298.67) = 298;
  // crop left round(74/2) = 37.
  assert.deepEqual(classifyGeometry(640, 480, 224, 224), { srcW: 640, srcH: 480, resizeW: 298, resizeH: 224, cropLeft: 37, cropTop: 0, dstW: 224, dstH: 224 });
  // Portrait: width is the short side.
  assert.deepEqual(classifyGeometry(480, 640, 224, 224), { srcW: 480, srcH: 640, resizeW: 224, resizeH: 298, cropLeft: 0, cropTop: 37, dstW: 224, dstH: 224 });
  // Offsets of 0.5 and 1.5 round to even: 0 and 2.
  assert.equal(classifyGeometry(225, 224, 224, 224).cropLeft, 0);
  assert.equal(classifyGeometry(227, 224, 224, 224).cropLeft, 2);
  // Square source: both sides 224, nothing cropped.
  assert.deepEqual(classifyGeometry(1000, 1000, 224, 224), { srcW: 1000, srcH: 1000, resizeW: 224, resizeH: 224, cropLeft: 0, cropTop: 0, dstW: 224, dstH: 224 });
  // Non-square imgsz: Resize((h, w)) to exactly that size (aspect not kept), so the crop is empty.
  assert.deepEqual(classifyGeometry(640, 480, 320, 224), { srcW: 640, srcH: 480, resizeW: 320, resizeH: 224, cropLeft: 0, cropTop: 0, dstW: 320, dstH: 224 });
  assert.throws(() => classifyGeometry(0, 10, 224, 224), /srcW must be a positive integer/);
});

// ---------------------------------------------------------------------------------------------
// Pillow's bilinear taps and resample

test('bilinearTaps: 4 -> 2 (scale 2): three taps 3/7, 3/7, 1/7 and 1/7, 3/7, 3/7 in 22-bit fixed point', () => {
  // x = 0: centre 1, sources trunc(−0.5) = 0 .. trunc(3.5) − 1 = 2; weights 0.75, 0.75, 0.25 (sum 1.75).
  // 3/7·2^22 = 1797558.86 -> 1797559; 1/7·2^22 = 599186.29 -> 599186.
  const t = bilinearTaps(4, 2, 0, 2);
  assert.equal(t.ksize, 5);
  assert.deepEqual([...t.start], [0, 1]);
  assert.deepEqual([...t.length], [3, 3]);
  assert.deepEqual([...t.k.slice(0, 3)], [1797559, 1797559, 599186]);
  assert.deepEqual([...t.k.slice(5, 8)], [599186, 1797559, 1797559]);
  // A window of outputs gives the same taps as the full table.
  const one = bilinearTaps(4, 2, 1, 1);
  assert.deepEqual([...one.start, ...one.length, ...one.k.slice(0, 3)], [1, 3, 599186, 1797559, 1797559]);
});

test('resizeCropRgb: horizontal 4 -> 2 is antialiased: (3·10 + 3·20 + 30)/7 = 17.1 -> 17 and (20 + 3·30 + 3·40)/7 = 32.9 -> 33', () => {
  // cv2's INTER_LINEAR would give 15 and 35 (two taps at 0.5, 2.5): the antialias is what differs.
  // Fixed point: (2^21 + 10·1797559 + 20·1797559 + 30·599186) >> 22 = 73999502 >> 22 = 17;
  //              (2^21 + 20·599186 + 30·1797559 + 40·1797559) >> 22 = 139910002 >> 22 = 33.
  const img = grey(4, 1, (x) => 10 * (x + 1));
  const g = { srcW: 4, srcH: 1, resizeW: 2, resizeH: 1, cropLeft: 0, cropTop: 0, dstW: 2, dstH: 1 };
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img, g), 2, 1), [[17, 33]]);
});

test('resizeCropRgb: upscale 2 -> 4 (support 1): 10, (0.75·10 + 0.25·20) = 12.5 -> 13, 17.5 -> 18, 20', () => {
  // x = 0: centre 0.25, only source 0 -> 10. x = 1: centre 0.75, weights 0.75, 0.25 -> 12.5 + 0.5 -> 13.
  // x = 2: centre 1.25, weights 0.25, 0.75 -> 17.5 + 0.5 -> 18. x = 3: centre 1.75, only source 1 -> 20.
  const img = grey(2, 1, (x) => 10 * (x + 1));
  const g = { srcW: 2, srcH: 1, resizeW: 4, resizeH: 1, cropLeft: 0, cropTop: 0, dstW: 4, dstH: 1 };
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img, g), 4, 1), [[10, 13, 18, 20]]);
});

test('resizeCropRgb: vertical pass after the horizontal one; constant rows pass the horizontal pass unchanged', () => {
  // 4×4, row y holds 10·(y+1): the horizontal taps sum to exactly 2^22, so rows stay 10..40; the
  // vertical 4 -> 2 then gives 17 and 33 as in the horizontal case.
  const img = grey(4, 4, (x, y) => 10 * (y + 1));
  const g = classifyGeometry(4, 4, 2, 2);
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img, g), 2, 2), [[17, 17], [33, 33]]);
  // The transpose: columns 10..40.
  const t = grey(4, 4, (x) => 10 * (x + 1));
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(t, g), 2, 2), [[17, 33], [17, 33]]);
});

test('resizeCropRgb: 8×4 at 2: resize to 4×2, crop columns 1..2; their taps are 1/8, 3/8, 3/8, 1/8', () => {
  // Output column 1: centre 3, sources 1..4, weights 0.25, 0.75, 0.75, 0.25 (sum 2):
  // 10/8 + 3·20/8 + 3·30/8 + 40/8 = 25 (exactly, +0.5 -> 25). Column 2: sources 3..6 -> 45.
  const img = grey(8, 4, (x) => 10 * x);
  const g = classifyGeometry(8, 4, 2, 2);
  assert.deepEqual([g.resizeW, g.resizeH, g.cropLeft, g.cropTop], [4, 2, 1, 0]);
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img, g), 2, 2), [[25, 45], [25, 45]]);
});

test('resizeCropRgb: no resize when the short side already fits, only the centred crop (offsets 1, 2 and 0)', () => {
  const img = (w) => grey(w, 4, (x, y) => 10 * x + y);
  // 6×4 at 4: crop left round(1) = 1 -> columns 1..4.
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img(6), classifyGeometry(6, 4, 4, 4)), 4, 4)[0], [10, 20, 30, 40]);
  // 7×4: round(1.5) = 2 -> columns 2..5; 5×4: round(0.5) = 0 -> columns 0..3.
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img(7), classifyGeometry(7, 4, 4, 4)), 4, 4)[3], [23, 33, 43, 53]);
  assert.deepEqual(rowsOfChannel0(resizeCropRgb(img(5), classifyGeometry(5, 4, 4, 4)), 4, 4)[2], [2, 12, 22, 32]);
});

test('resizeCropRgb: channels are resampled independently', () => {
  const data = new Uint8Array([10, 200, 0, 20, 100, 255, 30, 0, 255, 40, 50, 0]); // 4×1 RGB
  const g = { srcW: 4, srcH: 1, resizeW: 2, resizeH: 1, cropLeft: 0, cropTop: 0, dstW: 2, dstH: 1 };
  // Red as before: 17, 33. Green: (3·200 + 3·100 + 0)/7 = 128.57 -> 129; (100 + 0 + 3·50)/7 = 35.7 -> 36.
  // Blue: (0 + 3·255 + 255)/7 = 145.7 -> 146; (255 + 3·255 + 0)/7 = 145.7 -> 146.
  assert.deepEqual([...resizeCropRgb({ data, width: 4, height: 1 }, g)], [17, 129, 146, 33, 36, 146]);
});

test('classifyInto: planar RGB, u8 / 255 in float32, at an offset; checks the output size', () => {
  const data = new Uint8Array([255, 0, 128, 1, 2, 3]); // 2×1
  const out = new Float32Array(10);
  const g = classifyGeometry(2, 1, 1, 1); // short side already 1: no resize; crop 1×1 at round(0.5) = 0
  assert.deepEqual([g.resizeW, g.resizeH, g.cropLeft], [2, 1, 0]);
  classifyInto({ data, width: 2, height: 1 }, g, out, 4);
  assert.deepEqual([...out.slice(4, 7)], [1, 0, f(128 / 255)]);
  assert.equal(out[3], 0);
  assert.throws(() => classifyInto({ data, width: 2, height: 1 }, g, new Float32Array(2), 0), /cannot hold/);
  assert.throws(() => classifyInto({ data, width: 3, height: 1 }, g, out, 0), /geometry expects 2x1/);
  const { tensor, geometry } = classifyToTensor(grey(8, 4, (x) => 10 * x), 2, 2);
  assert.equal(geometry.cropLeft, 1);
  assert.deepEqual([...tensor.slice(0, 4)], [25, 45, 25, 45].map((v) => f(v / 255)));
});

// ---------------------------------------------------------------------------------------------
// Probabilities and the top 5

test('isDistribution / probabilities: a probability row is used as it is, logits get a softmax', () => {
  const probs = Float32Array.from([1 / 6, 1 / 3, 1 / 2]);
  assert.equal(isDistribution(probs), true);
  assert.equal(probabilities(probs), probs);
  // Logits 0, ln 2, ln 3 -> e^x = 1, 2, 3 -> 1/6, 1/3, 1/2.
  const sm = probabilities(Float32Array.from([0, Math.log(2), Math.log(3)]));
  [1 / 6, 1 / 3, 1 / 2].forEach((p, i) => assert.ok(Math.abs(sm[i] - p) < 1e-7));
  assert.equal(isDistribution(Float32Array.from([0.5, 0.6])), false); // sums to 1.1
  assert.equal(isDistribution(Float32Array.from([1.5, -0.5])), false); // sums to 1, outside [0, 1]
  assert.equal(isDistribution(Float32Array.from([0.5, NaN])), false);
  // Shift invariance (the max is subtracted first): huge logits do not overflow.
  assert.deepEqual([...softmax([1000, 1000])], [0.5, 0.5]);
});

test('topK: highest first, ties by lower index, NaN last, fewer than k classes', () => {
  assert.deepEqual(topK([0.1, 0.4, 0.4, NaN, 0.05, 0.05], 5), [1, 2, 0, 4, 5]);
  assert.deepEqual(topK([0.7, 0.3], 5), [0, 1]);
});

test('classifyRow: summary() fields, top 5 rounded to 5 decimals, top-1 fields first; names fall back to classN', () => {
  const row = Float32Array.from([0.05, 0.5, 0.1, 0.15, 0.02, 0.18]);
  const names = ['cat', 'dog', 'fox', 'owl', 'bee'];
  assert.deepEqual(classifyRow(row, names), {
    name: 'dog',
    class: 1,
    confidence: 0.5,
    top5: [
      { name: 'dog', class: 1, confidence: 0.5 },
      { name: 'class5', class: 5, confidence: 0.18 },
      { name: 'owl', class: 3, confidence: 0.15 },
      { name: 'fox', class: 2, confidence: 0.1 },
      { name: 'cat', class: 0, confidence: 0.05 },
    ],
  });
  // round(f32(1/3), 5) = 0.33333; logits go through softmax first.
  assert.equal(classifyRow(Float32Array.from([0, 0, 0]), ['a', 'b', 'c']).confidence, 0.33333);
  assert.throws(() => classifyRow(new Float32Array(0), []), /empty/);
});

// ---------------------------------------------------------------------------------------------
// Against real Pillow

test('resizeCropRgb: byte for byte what Pillow gives for classify_transforms (fixtures/classify-pillow.json)', async () => {
  // Generated by fixtures/classify-pillow.py with Pillow's own Image.resize(BILINEAR) and crop,
  // sized the way torchvision's Resize/CenterCrop size them: downscales, upscales, portrait,
  // non-square imgsz, odd crop offsets and a 200×3 strip.
  const { readFile } = await import('node:fs/promises');
  const { cases, pillow } = JSON.parse(await readFile(new URL('./fixtures/classify-pillow.json', import.meta.url), 'utf8'));
  assert.ok(cases.length >= 8, `fixture from Pillow ${pillow}`);
  for (const c of cases) {
    const img = { data: new Uint8Array(Buffer.from(c.source, 'base64')), width: c.width, height: c.height };
    const got = resizeCropRgb(img, classifyGeometry(c.width, c.height, c.dstW, c.dstH));
    const want = new Uint8Array(Buffer.from(c.expected, 'base64'));
    const diff = got.findIndex((v, i) => v !== want[i]);
    assert.equal(diff, -1, `${c.width}x${c.height} -> ${c.dstW}x${c.dstH}: first difference at byte ${diff} (${got[diff]} vs ${want[diff]})`);
  }
});

test('synthetic classify models (test/helpers/task-models.js) run in onnxruntime: [B, nc] rows, shifted by the input mean', async () => {
  const ort = await import('onnxruntime-node');
  const { buildDetectionModel } = await import('./helpers/onnx-builder.js');
  const { classifyModel } = await import('./helpers/task-models.js');
  const names = ['cat', 'dog', 'fox'];
  const o = classifyModel({ values: [0, 0, 0], shift: [0, 4, 0], names, imgsz: [4, 4] });
  assert.equal(o.metadata.task, 'classify');
  const session = await ort.InferenceSession.create(buildDetectionModel(o));
  // Image 0 all zero, image 1 all one: logits [0, 0, 0] and [0, 4, 0].
  const input = new Float32Array(2 * 3 * 16);
  input.fill(1, 48);
  const out = (await session.run({ images: new ort.Tensor('float32', input, [2, 3, 4, 4]) })).output0;
  assert.deepEqual(out.dims, [2, 3]);
  assert.equal(classifyRow(out.data.subarray(0, 3), names).confidence, 0.33333);
  // softmax([0, 4, 0]) = e^4 / (e^4 + 2) = 0.964661.
  assert.deepEqual(classifyRow(out.data.subarray(3, 6), names).top5.map((t) => [t.name, t.confidence]), [['dog', 0.96466], ['cat', 0.01767], ['fox', 0.01767]]);
});

test('classifyClassesOf: [B, nc] gives nc (null when symbolic); any other rank is refused by name', () => {
  assert.equal(classifyClassesOf([1, 1000]), 1000);
  assert.equal(classifyClassesOf(['batch', 'nc']), null);
  assert.equal(classifyClassesOf(null), null);
  assert.throws(() => classifyClassesOf([1, 84, 8400]), /unsupported classify output shape \[1, 84, 8400\]/);
  assert.throws(() => classifyClassesOf([1, 0]), /unsupported classify output shape/);
});
