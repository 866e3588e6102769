// The task seam and the segment/pose maths, on hand-made tensors (no model, no ../shared):
// recognition by metadata and shapes, mask construction as Ultralytics' process_mask /
// process_mask_native, contour tracing as OpenCV's findContours(RETR_EXTERNAL,
// CHAIN_APPROX_SIMPLE), COCO RLE, keypoint scaling, and the CSV/JSONL task fields.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outerContours, largestContour } from '../dist/postprocess/contours.js';
import { processMask, processMaskNative, maskArea } from '../dist/postprocess/masks.js';
import { encodeRle, rleCounts, rleString } from '../dist/postprocess/rle.js';
import { taskFor, TASKS } from '../dist/tasks/registry.js';
import { letterboxGeometry } from '../dist/preprocess/letterbox.js';
import { formatCsvRows, parseCsvResultRow, csvColumnsFor, taskColumnsOfHeader } from '../dist/outputs/csv.js';
import { formatJsonlLine } from '../dist/outputs/jsonl.js';
import { parseCsv } from '../dist/inputs/csv-parse.js';

/** A mask window from rows of '#' and '.'. */
function win(rows, x0 = 0, y0 = 0) {
  const h = rows.length;
  const w = rows[0].length;
  const data = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => (data[y * w + x] = c === '#' ? 1 : 0)));
  return { x0, y0, w, h, data, imageW: w + x0, imageH: h + y0 };
}
const pts = (c) => Array.from({ length: c.length / 2 }, (_, i) => [c[2 * i], c[2 * i + 1]]);

describe('contours (OpenCV findContours RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)', () => {
  test('a rectangle: four corners, down the left side first', () => {
    assert.deepEqual(outerContours(win(['.....', '.###.', '.###.', '.....'])).map(pts), [[[1, 1], [1, 2], [3, 2], [3, 1]]]);
  });
  test('single pixels and lines', () => {
    assert.deepEqual(outerContours(win(['#'])).map(pts), [[[0, 0]]]);
    assert.deepEqual(outerContours(win(['##'])).map(pts), [[[0, 0], [1, 0]]]);
    assert.deepEqual(outerContours(win(['#', '#', '#'])).map(pts), [[[0, 0], [0, 2]]]);
  });
  test('a diamond keeps only the diagonal runs\' ends', () => {
    assert.deepEqual(outerContours(win(['..#..', '.###.', '#####', '.###.', '..#..'])).map(pts), [[[2, 0], [0, 2], [2, 4], [4, 2]]]);
  });
  test('holes are not contours, and a component inside a hole is not external', () => {
    assert.deepEqual(outerContours(win(['#####', '#...#', '#.#.#', '#...#', '#####'])).map(pts), [[[0, 0], [0, 4], [4, 4], [4, 0]]]);
  });
  test('separate components, diagonal neighbours join (8-connectivity), window offset applied', () => {
    assert.deepEqual(outerContours(win(['#..#', '#..#'], 10, 20)).map(pts), [[[10, 20], [10, 21]], [[13, 20], [13, 21]]]);
    assert.equal(outerContours(win(['#.', '.#'])).length, 1);
  });
  test('largestContour: most points, first on ties', () => {
    assert.deepEqual(largestContour([[0, 0], [1, 1, 2, 2], [3, 3, 4, 4]]), [1, 1, 2, 2]);
    assert.equal(largestContour([]), null);
  });
});

describe('masks (Ultralytics process_mask / process_mask_native)', () => {
  // One prototype of 4×4 ones, coefficient 1: the logit is 1 wherever the crop keeps it.
  const protos = { data: new Float32Array(16).fill(1), nm: 1, mh: 4, mw: 4 };
  const one = Float32Array.of(1);

  test('crop in proto space, bilinear upsample (align_corners=False), > 0', () => {
    // Box 4..12 in a 16×16 input: proto columns 1, 2 kept (c >= 1 and c < 3). Output x is inside
    // when its source (x+.5)/4-.5 lies within one proto pixel of them: x = 2 (src .125) .. 13 (src 2.875).
    const m = processMask(protos, one, { x1: 4, y1: 4, x2: 12, y2: 12 }, 16, 16);
    const inside = [];
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
      const wx = x - m.x0;
      const wy = y - m.y0;
      if (wx >= 0 && wy >= 0 && wx < m.w && wy < m.h && m.data[wy * m.w + wx]) inside.push([x, y]);
    }
    const xs = inside.map(([x]) => x);
    assert.equal(Math.min(...xs), 2);
    assert.equal(Math.max(...xs), 13);
    assert.equal(inside.length, 12 * 12);
    assert.equal(maskArea(m), 144);
  });

  test('a negative logit gives an empty mask; a box outside the plane too', () => {
    assert.equal(maskArea(processMask(protos, Float32Array.of(-1), { x1: 4, y1: 4, x2: 12, y2: 12 }, 16, 16)), 0);
    assert.equal(maskArea(processMask(protos, one, { x1: 20, y1: 20, x2: 30, y2: 30 }, 16, 16)), 0);
  });

  test('native: cropped to the box in output pixels (x >= x1, x < x2)', () => {
    const m = processMaskNative(protos, one, { x1: 2.5, y1: 1, x2: 6, y2: 3.2 }, 8, 8);
    assert.deepEqual([m.x0, m.y0, m.w, m.h], [3, 1, 3, 3]);
    assert.equal(maskArea(m), 9);
  });
});

describe('COCO RLE', () => {
  test('column-major runs starting with zeros, pycocotools string', () => {
    // 3×2 (h=2, w=3); column-major pixels: col0 [0,1], col1 [1,1], col2 [0,0] → runs 1,3,2.
    const rows = ['.#.', '##.'];
    const r = encodeRle(3, 2, (x, y) => rows[y][x] === '#');
    assert.deepEqual(r.size, [2, 3]);
    assert.deepEqual(rleCounts(r.counts), [1, 3, 2]);
    assert.equal(rleString([0, 4]), '04');
    // a mask starting with a foreground pixel begins with a zero-length background run
    assert.deepEqual(rleCounts(encodeRle(2, 1, () => true).counts), [0, 2]);
  });
  test('large counts and negative deltas round-trip', () => {
    const counts = [100000, 3, 99990, 7, 5, 123456];
    assert.deepEqual(rleCounts(rleString(counts)), counts);
  });
});

describe('task recognition', () => {
  const out = (name, shape) => ({ name, elemType: 'float32', shape });
  test('metadata task first, then kpt_shape, then a prototype output, else detect', () => {
    assert.equal(taskFor({ outputs: [out('o', [1, 84, 8400])], metadata: { task: 'pose' } }).name, 'pose');
    assert.equal(taskFor({ outputs: [out('o', [1, 56, 8400])], metadata: { kpt_shape: '[17, 3]' } }).name, 'pose');
    assert.equal(taskFor({ outputs: [out('o', [1, 116, 8400]), out('p', [1, 32, 160, 160])], metadata: {} }).name, 'segment');
    // A detection export with raw 4-D head outputs is not a segmentation model.
    assert.equal(taskFor({ outputs: [out('o', [1, 84, 8400]), out('a', [1, 144, 80, 80]), out('b', [1, 144, 40, 40])], metadata: {} }).name, 'detect');
    assert.equal(taskFor({ outputs: [out('o', [1, 84, 8400])], metadata: {} }).name, 'detect');
    assert.throws(() => taskFor({ outputs: [out('o', [1, 84, 8400])], metadata: { task: 'caption' } }), /task 'caption', which yolo-serve does not run/);
  });
  test('segment resolves both layouts and the mask size', () => {
    const seg = TASKS.segment;
    const a = seg.resolve({ outputs: [out('output0', [1, 116, 8400]), out('output1', [1, 32, 160, 160])], metadata: {} });
    assert.deepEqual([a.layout, a.numClasses, a.extra, a.maskSize, a.outputs.map((o) => o.role)], ['xywh-classes', 80, 32, [160, 160], ['detections', 'protos']]);
    const e = seg.resolve({ outputs: [out('output0', [1, 300, 38]), out('output1', [1, 32, 160, 160])], metadata: { end2end: 'True' } });
    assert.equal(e.layout, 'xyxy-score-class');
    assert.throws(() => seg.resolve({ outputs: [out('output0', [1, 300, 6]), out('output1', [1, 32, 160, 160])], metadata: { end2end: 'True' } }), /needs 38 columns/);
  });
  test('pose takes kpt_shape from metadata (default [17, 3]) and checks it', () => {
    const p = TASKS.pose.resolve({ outputs: [out('output0', [1, 56, 8400])], metadata: { task: 'pose' } });
    assert.deepEqual([p.layout, p.numClasses, p.kptShape, p.extra], ['xywh-classes', 1, [17, 3], 51]);
    const q = TASKS.pose.resolve({ outputs: [out('output0', [1, 300, 16])], metadata: { kpt_shape: '[5, 2]', end2end: 'True' } });
    assert.deepEqual([q.layout, q.kptShape], ['xyxy-score-class', [5, 2]]);
    assert.throws(() => TASKS.pose.resolve({ outputs: [out('output0', [1, 56, 8400])], metadata: { kpt_shape: '[17, 4]' } }), /kpt_shape '\[17, 4\]'/);
  });
});

describe('decode on hand-made outputs', () => {
  const POST = { conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false };

  test('pose: keypoints scaled like boxes, clipped, zeroed below visibility 0.5 ([B, 4+nc+K·d, N])', () => {
    // 1 class, kpt_shape [2, 3]: rows cx,cy,w,h,score, kx0,ky0,v0, kx1,ky1,v1; N = 2 anchors.
    const spec = TASKS.pose.resolve({ outputs: [{ name: 'o', elemType: 'float32', shape: [1, 11, 2] }], metadata: { kpt_shape: '[2, 3]' } });
    const n = 2;
    const rows = [[320, 0], [320, 0], [100, 0], [60, 0], [0.9, 0.1], [330, 0], [300, 0], [0.8, 0], [700, 0], [330, 0], [0.3, 0]];
    const data = new Float32Array(11 * n);
    rows.forEach((r, i) => r.forEach((v, j) => (data[i * n + j] = v)));
    // 640×480 image in a 640 input: gain 1, pad top 80.
    const g = letterboxGeometry(640, 480, 640, 640);
    const [d, ...rest] = TASKS.pose.decode([{ data, dims: [11, 2] }], g, POST, ['person'], spec);
    assert.equal(rest.length, 0);
    assert.deepEqual(d.box, { x1: 270, y1: 210, x2: 370, y2: 270 });
    // kp0: (330, 300-80=220), visible .8; kp1: x 700 clipped to 640 but visibility .3 → (0, 0)
    assert.deepEqual(d.keypoints, { x: [330, 0], y: [220, 0], visible: [0.8, 0.3] });
  });

  test('segment: coefficients gathered from the kept row after NMS; empty masks dropped', () => {
    // 1 class, nm 1, N = 3: anchor 0 kept (coeff +1), anchor 1 suppressed by anchor 0, anchor 2 kept by NMS but its coeff -1 empties its mask.
    const spec = TASKS.segment.resolve({ outputs: [{ name: 'o', elemType: 'float32', shape: [1, 6, 3] }, { name: 'p', elemType: 'float32', shape: [1, 1, 4, 4] }], metadata: {} });
    const n = 3;
    const rows = [[8, 8.2, 4], [8, 8, 4], [8, 8, 2], [8, 8, 2], [0.9, 0.8, 0.7], [1, 1, -1]];
    const data = new Float32Array(6 * n);
    rows.forEach((r, i) => r.forEach((v, j) => (data[i * n + j] = v)));
    const g = letterboxGeometry(16, 16, 16, 16);
    const protos = { data: new Float32Array(16).fill(1), dims: [1, 4, 4] };
    const dets = TASKS.segment.decode([{ data, dims: [6, 3] }, protos], g, POST, ['thing'], spec);
    assert.equal(dets.length, 1);
    assert.deepEqual(dets[0].box, { x1: 4, y1: 4, x2: 12, y2: 12 });
    // The mask from the crop test above: x 2..13 and y 2..13; the contour's corners.
    assert.deepEqual(dets[0].segments, { x: [2, 2, 13, 13], y: [2, 13, 13, 2] });
    const rle = TASKS.segment.decode([{ data, dims: [6, 3] }, protos], g, { ...POST, maskFormat: 'rle' }, ['thing'], spec);
    assert.equal(rle[0].segments, undefined);
    // column-major 16×16: 2 empty columns (32) + 2 rows, then per column 12 in / 4 out.
    const counts = rleCounts(rle[0].rle.counts);
    assert.deepEqual(counts.slice(0, 3), [34, 12, 4]);
    assert.equal(counts.reduce((a, b) => a + b, 0), 256);
  });
});

describe('task fields in files', () => {
  const r = {
    index: 0, path: '/a.jpg', width: 10, height: 8, error: null,
    detections: [{ name: 'p', class: 0, confidence: 0.5, box: { x1: 1, y1: 2, x2: 3, y2: 4 }, keypoints: { x: [1.5], y: [2], visible: [0.9] }, segments: { x: [1, 2], y: [3, 4] } }],
  };
  test('JSONL: task fields after the box, in a fixed order', () => {
    assert.equal(formatJsonlLine(r), '{"path":"/a.jpg","width":10,"height":8,"detections":[{"name":"p","class":0,"confidence":0.5,"box":{"x1":1,"y1":2,"x2":3,"y2":4},"segments":{"x":[1,2],"y":[3,4]},"keypoints":{"x":[1.5],"y":[2],"visible":[0.9]}}],"error":null}');
  });
  test('CSV: one JSON column per task field between y2 and error; parsed back', () => {
    const cols = ['segments', 'rle'];
    assert.deepEqual(csvColumnsFor(cols), ['path', 'width', 'height', 'detections', 'class', 'name', 'confidence', 'x1', 'y1', 'x2', 'y2', 'segments', 'rle', 'error']);
    assert.deepEqual(taskColumnsOfHeader(csvColumnsFor(cols)), cols);
    assert.equal(taskColumnsOfHeader(['path', 'x']), null);
    const text = formatCsvRows(r, cols);
    const [rec] = parseCsv(text);
    assert.equal(rec.fields[11], '{"x":[1,2],"y":[3,4]}');
    assert.equal(rec.fields[12], '');
    const back = parseCsvResultRow(rec.fields, cols);
    assert.deepEqual(back.detection.segments, { x: [1, 2], y: [3, 4] });
    assert.throws(() => parseCsvResultRow(rec.fields), /expected 12 fields, got 14/);
  });
});
