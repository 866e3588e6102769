// The whole pipeline through the real CLI on synthetic ONNX models (test/helpers/onnx-builder.js)
// whose outputs are known exactly, so every box in the result can be computed by hand:
// letterbox geometry, decoding of each output layout, NMS, scaling back to the upright image,
// fp16, batching and result order. Needs no ../shared data.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { colourShiftCx, colourShiftDetector, writeModel, ultralyticsMetadata } from './helpers/onnx-builder.js';
import { errorLines, parseJsonl, runCli } from './helpers/cli.js';

let tmp;
const tmpPath = (name) => path.join(tmp, name);

// ---------------------------------------------------------------------------------------------
// Network-space detections shared by the 640×640 models (cx, cy, w, h → x1, y1, x2, y2):
//   A0  car   (2) 0.9   cx 320 cy 320 w 100 h 60  → [270, 290, 370, 350]
//   A1  car   (2) 0.8   cx 322 (2 px right of A0)  → IoU(A0) = 5880/6120 = 0.96 > 0.7: suppressed
//   A2  truck (7) 0.6   cx 330                      → [280, 290, 380, 350], IoU(A0) = 5400/6600 = 0.82:
//                                                     kept class-aware, suppressed by --agnostic-nms
//   A3  person(0) 0.25  (not > conf 0.25: dropped)
//   A4  person(0) 0.3   cx 500 cy 400 w 80 h 40    → [460, 380, 540, 420]
const ANCHORS = [
  { cx: 320, cy: 320, w: 100, h: 60, cls: 2, score: 0.9 },
  { cx: 322, cy: 320, w: 100, h: 60, cls: 2, score: 0.8 },
  { cx: 330, cy: 320, w: 100, h: 60, cls: 7, score: 0.6 },
  { cx: 100, cy: 200, w: 40, h: 40, cls: 0, score: 0.25 },
  { cx: 500, cy: 400, w: 80, h: 40, cls: 0, score: 0.3 },
];

/**
 * Expected boxes in each test image, computed by hand from the letterbox of a 640×640 input:
 * box = ((x - padX) / gain, (y - padY) / gain), clipped to the image.
 */
const IMAGES = {
  // 640×480: gain 1, new 640×480, pad top round(80 - 0.1) = 80
  'wide.png': { w: 640, h: 480, A0: [270, 210, 370, 270], A2: [280, 210, 380, 270], A4: [460, 300, 540, 340] },
  // 320×240: gain 2 (scale-up), new 640×480, pad top 80
  'small.png': { w: 320, h: 240, A0: [135, 105, 185, 135], A2: [140, 105, 190, 135], A4: [230, 150, 270, 170] },
  // 480×640: gain 1, pad left 80
  'tall.png': { w: 480, h: 640, A0: [190, 290, 290, 350], A2: [200, 290, 300, 350], A4: [380, 380, 460, 420] },
  // Stored 640×480 with EXIF orientation 6: upright 480×640, so the same boxes as tall.png.
  'rotated.jpg': { w: 480, h: 640, A0: [190, 290, 290, 350], A2: [200, 290, 300, 350], A4: [380, 380, 460, 420] },
  // 1000×667: gain 0.64, new height round(426.88) = 427, pad top round((640-427)/2 - 0.1) = 106
  //   A0: 270/0.64 = 421.875, (290-106)/0.64 = 287.5, 370/0.64 = 578.125, (350-106)/0.64 = 381.25
  'odd.png': { w: 1000, h: 667, A0: [421.875, 287.5, 578.125, 381.25], A2: [437.5, 287.5, 593.75, 381.25], A4: [718.75, 428.125, 843.75, 490.625] },
};
const IMAGE_NAMES = Object.keys(IMAGES);

/** [4+nc, n] channels-first values (YOLOv8/11) with the given anchors in the first columns. */
function channelsFirst(nc, n, anchors) {
  const v = new Float32Array((4 + nc) * n);
  anchors.forEach((a, j) => {
    v[j] = a.cx;
    v[n + j] = a.cy;
    v[2 * n + j] = a.w;
    v[3 * n + j] = a.h;
    v[(4 + a.cls) * n + j] = a.score;
  });
  return v;
}

/** Expected detections for one image, from anchor keys and the names list. */
function expected(image, keys, names, confs = {}) {
  return keys.map((k) => {
    const a = ANCHORS[Number(k.slice(1))];
    return { name: names[a.cls], class: a.cls, confidence: confs[k] ?? a.score, box: IMAGES[image][k] };
  });
}

const COCO_SOME = { 0: 'person', 2: 'car', 3: 'motorcycle', 7: 'truck' };

/** Detections equal up to the 2-decimal rounding of coordinates (ties may round either way). */
function assertDetections(actual, want, label) {
  assert.equal(actual.length, want.length, `${label}: ${JSON.stringify(actual)}`);
  actual.forEach((d, i) => {
    const e = want[i];
    assert.deepEqual([d.name, d.class, d.confidence], [e.name, e.class, e.confidence], `${label} #${i}`);
    assert.deepEqual(Object.keys(d.box), ['x1', 'y1', 'x2', 'y2']);
    const got = [d.box.x1, d.box.y1, d.box.x2, d.box.y2];
    got.forEach((v, k) => assert.ok(Math.abs(v - e.box[k]) <= 0.0051, `${label} #${i}: box ${got} vs ${e.box}`));
  });
}

/** Runs the CLI on `inputs` with `modelFile` and returns { run, records }. */
async function detect(modelFile, inputs, extra = []) {
  const run = await runCli(['batch', ...inputs, '--model', modelFile, '--out', '-', ...extra]);
  assert.equal(run.code, 0, run.stderr);
  const records = parseJsonl(run.stdout);
  assert.deepEqual(records.map((r) => r.path), inputs);
  for (const r of records) assert.equal(r.error, null);
  return { run, records };
}

/** Runs the five test images and checks each against `want(image)`. */
async function checkAllImages(modelFile, want, extra = []) {
  const inputs = IMAGE_NAMES.map(tmpPath);
  const { run, records } = await detect(modelFile, inputs, extra);
  records.forEach((r, i) => {
    const name = IMAGE_NAMES[i];
    assert.deepEqual([r.width, r.height], [IMAGES[name].w, IMAGES[name].h], name);
    assertDetections(r.detections, want(name), name);
  });
  return run;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-pipeline-'));
  const solid = (w, h, c = { r: 90, g: 160, b: 30 }) => sharp({ create: { width: w, height: h, channels: 3, background: c } });
  await solid(640, 480).png().toFile(tmpPath('wide.png'));
  await solid(320, 240).png().toFile(tmpPath('small.png'));
  await solid(480, 640).png().toFile(tmpPath('tall.png'));
  await solid(640, 480).withMetadata({ orientation: 6 }).jpeg().toFile(tmpPath('rotated.jpg'));
  await solid(1000, 667).png().toFile(tmpPath('odd.png'));
  assert.equal((await sharp(tmpPath('rotated.jpg')).metadata()).orientation, 6);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
describe('output layouts, scaled back to the original image', () => {
  test('[1, 84, N] (YOLOv8/11): NMS per class, threshold strictly above conf', async () => {
    const m = tmpPath('v8.onnx');
    writeModel(m, { outputDims: [84, 100], values: channelsFirst(80, 100, ANCHORS), height: 640, width: 640 });
    await checkAllImages(m, (img) => expected(img, ['A0', 'A2', 'A4'], COCO_SOME));
  });

  test('--agnostic-nms lets the car suppress the overlapping truck', async () => {
    const m = tmpPath('v8.onnx');
    await checkAllImages(m, (img) => expected(img, ['A0', 'A4'], COCO_SOME), ['--agnostic-nms']);
  });

  test('[1, N, 85] (YOLOv5): score = objectness × class probability', async () => {
    // rows: cx cy w h obj cls0..cls79
    const n = 100;
    const v = new Float32Array(n * 85);
    const row = (i, cx, cy, w, h, obj, probs) => {
      v.set([cx, cy, w, h, obj], i * 85);
      for (const [c, p] of Object.entries(probs)) v[i * 85 + 5 + Number(c)] = p;
    };
    row(0, 320, 320, 100, 60, 0.8, { 3: 0.9, 1: 0.5 }); // motorcycle 0.72 (best class of 0.72 and 0.4)
    row(1, 100, 200, 40, 40, 0.2, { 0: 1.0 }); // objectness not above conf: dropped however sure the class is
    row(2, 500, 400, 80, 40, 0.5, { 0: 0.4 }); // 0.2: dropped
    row(3, 500, 400, 80, 40, 0.9, { 0: 0.5 }); // person 0.45
    const m = tmpPath('v5.onnx');
    writeModel(m, { outputDims: [n, 85], values: v, height: 640, width: 640, outputName: 'output' });
    await checkAllImages(m, (img) => [
      { name: 'motorcycle', class: 3, confidence: 0.72, box: IMAGES[img].A0 },
      { name: 'person', class: 0, confidence: 0.45, box: IMAGES[img].A4 },
    ]);
  });

  test('[1, 300, 6] end-to-end: no NMS, model order kept, threshold only', async () => {
    const v = new Float32Array(300 * 6);
    v.set([270, 290, 370, 350, 0.9, 2], 0);
    v.set([272, 290, 372, 350, 0.8, 2], 6); // overlaps row 0 (IoU 0.96) and is still kept
    v.set([460, 380, 540, 420, 0.2, 0], 12); // below conf
    v.set([460, 380, 540, 420, 0.3, 0], 18);
    const m = tmpPath('e2e.onnx');
    writeModel(m, { outputDims: [300, 6], values: v, height: 640, width: 640 });
    await checkAllImages(m, (img) => {
      const [x1, y1, x2, y2] = IMAGES[img].A0;
      const g = IMAGES[img].w === 1000 ? 0.64 : IMAGES[img].w === 320 ? 2 : 1; // gain: 2 px in the network
      return [
        { name: 'car', class: 2, confidence: 0.9, box: IMAGES[img].A0 },
        { name: 'car', class: 2, confidence: 0.8, box: [x1 + 2 / g, y1, x2 + 2 / g, y2] },
        { name: 'person', class: 0, confidence: 0.3, box: IMAGES[img].A4 },
      ];
    });
  });

  test('float16 input and output', async () => {
    const m = tmpPath('v8-fp16.onnx');
    writeModel(m, { outputDims: [84, 100], values: channelsFirst(80, 100, ANCHORS), height: 640, width: 640, dtype: 'float16' });
    // Scores as float16 holds them, then rounded to 5 decimals:
    //   0.9 → 1843 × 2^-11 = 0.89990234375 → 0.8999;  0.6 → 1229 × 2^-11 = 0.60009765625 → 0.6001
    //   0.3 → 1229 × 2^-12 = 0.300048828125 → 0.30005; 0.25 stays exactly 0.25 (dropped)
    // Coordinates are integers, exact in float16.
    await checkAllImages(m, (img) => expected(img, ['A0', 'A2', 'A4'], COCO_SOME, { A0: 0.8999, A2: 0.6001, A4: 0.30005 }));
  });

  test('multi-output model: detections come from output 0, the other outputs are ignored', async () => {
    const m = tmpPath('multi.onnx');
    writeModel(m, {
      outputDims: [84, 100],
      values: channelsFirst(80, 100, ANCHORS),
      height: 640,
      width: 640,
      extraOutputs: [
        { name: '350', dims: [1, 3, 8, 8, 85] },
        { name: '416', dims: [1, 3, 4, 4, 85] },
      ],
    });
    const { records } = await detect(m, [tmpPath('wide.png')]);
    assertDetections(records[0].detections, expected('wide.png', ['A0', 'A2', 'A4'], COCO_SOME), 'wide.png');
  });

  test('names from metadata (3 classes) appear in the output', async () => {
    const names = ['cat', 'dog', "o'bird"];
    const anchors = [
      { cx: 320, cy: 320, w: 100, h: 60, cls: 1, score: 0.9 },
      { cx: 500, cy: 400, w: 80, h: 40, cls: 2, score: 0.5 },
    ];
    const m = tmpPath('three.onnx');
    writeModel(m, { outputDims: [7, 100], values: channelsFirst(3, 100, anchors), height: 640, width: 640, metadata: ultralyticsMetadata({ names }) });
    const { records } = await detect(m, [tmpPath('wide.png')]);
    assertDetections(
      records[0].detections,
      [
        { name: 'dog', class: 1, confidence: 0.9, box: IMAGES['wide.png'].A0 },
        { name: "o'bird", class: 2, confidence: 0.5, box: IMAGES['wide.png'].A4 },
      ],
      'wide.png',
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe('batching keeps every result with its own image, in input order', () => {
  // 64×64 model whose only detection moves with the image: cx = 10 + 40 × mean(image/255).
  // A solid image of colour (r, g, b) has mean (r + g + b) / 765, so each image's box is its own.
  const COLOURS = [
    [200, 10, 90], [20, 20, 20], [140, 250, 0], [60, 0, 180], [180, 180, 180],
    [100, 30, 220], [0, 0, 0], [240, 240, 100], [40, 160, 40], [120, 60, 255],
  ];
  const detector = colourShiftDetector();
  const names = ['red', 'green', 'blue'];

  let inputs;
  before(async () => {
    inputs = [];
    for (const [i, [r, g, b]] of COLOURS.entries()) {
      const p = tmpPath(`colour-${i}.png`);
      await sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } }).png().toFile(p);
      inputs.push(p);
    }
  });

  function checkShifted(records) {
    assert.equal(records.length, COLOURS.length);
    records.forEach((r, i) => {
      assert.equal(r.path, inputs[i], 'input order');
      assert.deepEqual([r.width, r.height], [64, 64]);
      assert.equal(r.detections.length, 1, r.path);
      const d = r.detections[0];
      assert.deepEqual([d.name, d.class, d.confidence], ['green', 1, 0.9]);
      const cx = colourShiftCx(COLOURS[i]);
      // Tolerance: ReduceMean's float32 sum, and 2-decimal rounding; neighbours differ by > 1 px.
      for (const [k, want] of [['x1', cx - 4], ['x2', cx + 4], ['y1', 28], ['y2', 36]]) {
        assert.ok(Math.abs(d.box[k] - want) < 0.02, `image ${i} ${COLOURS[i]}: ${k} ${d.box[k]}, want ${want.toFixed(3)}`);
      }
    });
  }

  test('dynamic batch, --batch 4 over 10 images (4 + 4 + 2)', async () => {
    const m = tmpPath('shift-dynamic.onnx');
    writeModel(m, { ...detector, batch: 'batch', metadata: ultralyticsMetadata({ names, imgsz: [64, 64] }) });
    const { run, records } = await detect(m, inputs, ['--batch', '4']);
    assert.match(run.stderr, /batch 4\)/);
    assert.doesNotMatch(run.stderr, /ignored/);
    checkShifted(records);
  });

  test('fixed batch 1: --batch 4 is ignored with a note, results unchanged', async () => {
    const m = tmpPath('shift-fixed.onnx');
    writeModel(m, { ...detector, batch: 1, metadata: ultralyticsMetadata({ names, imgsz: [64, 64] }) });
    const { run, records } = await detect(m, inputs, ['--batch', '4']);
    const notes = errorLines(run.stderr).filter((l) => l.startsWith('note:'));
    assert.deepEqual(notes, [`note: ${m} has a fixed batch of 1; --batch 4 ignored`]);
    assert.match(run.stderr, /batch 1\)/);
    checkShifted(records);
  });
});
