// Tests of the parity-test helpers themselves (test/helpers/ultralytics-reference.js,
// test/helpers/detection-metrics.js) and of the committed expected-detections fixture.
// Expected values are hand-computed; the resize cases were also checked against
// cv2.resize (OpenCV 4.6) when they were written.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  letterbox,
  loadReferenceSession,
  nonMaxSuppression,
  referencePredictWithInfo,
  resizeBilinearOpenCV,
  roundHalfEven,
  scaleBoxes,
  toChwFloat,
} from './helpers/ultralytics-reference.js';
import {
  ap50,
  averagePrecision101,
  iou,
  matchDetections,
  parseYoloLabels,
  readYoloLabels,
} from './helpers/detection-metrics.js';
import { repoRoot, requireShared, sharedDir } from './helpers/cli.js';

const modelPath = path.join(sharedDir, 'models', 'yolov8n_int8_640.onnx');
const coco128 = path.join(sharedDir, 'images', 'coco128');
const fixturePath = path.join(repoRoot, 'test', 'fixtures', 'coco128-yolov8n_int8_640.expected.json');

const close = (actual, expected, eps = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);

// ---------------------------------------------------------------------------

describe('roundHalfEven (Python round)', () => {
  test('ties go to the even neighbour, others to the nearest', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, -1.5, 106.4, 106.6, 2.4999].map(roundHalfEven), [0, 2, 2, 4, -2, 106, 107, 2]);
  });
});

describe('resizeBilinearOpenCV (cv2.INTER_LINEAR, uint8)', () => {
  test('2x2 -> 3x3 upscale matches OpenCV fixed-point maths', () => {
    // Column 1 mixes weights (1024, 1024); row 0 uses fy = 5/6 with both taps on
    // source row 0 (rows clamp, weights don't): b = (341, 1707).
    // Pixel (0,1): S = (0 + 100) * 1024 = 102400, S >> 4 = 6400,
    //   (341*6400 >> 16) + (1707*6400 >> 16) = 33 + 166, (199 + 2) >> 2 = 50.
    const out = resizeBilinearOpenCV(Uint8Array.from([0, 100, 200, 50]), 2, 2, 1, 3, 3);
    assert.deepEqual([...out], [0, 50, 100, 100, 88, 75, 200, 125, 50]);
  });

  test('truncating vertical pass differs from naive rounding (154, not 154.5 -> 155)', () => {
    // Pixel (0,1): S = (72 + 237) * 1024 = 316416, S >> 4 = 19776,
    //   (341*19776 >> 16) + (1707*19776 >> 16) = 102 + 515, (617 + 2) >> 2 = 154.
    // Pixel (2,1): S = (2 + 227) * 1024 = 234496, S >> 4 = 14656,
    //   (1707*14656 >> 16) + (341*14656 >> 16) = 381 + 76, (457 + 2) >> 2 = 114.
    const out = resizeBilinearOpenCV(Uint8Array.from([72, 237, 2, 227]), 2, 2, 1, 3, 3);
    assert.deepEqual([...out], [72, 154, 237, 37, 135, 232, 2, 114, 227]);
  });

  test('channels are interpolated independently (3-channel = three 1-channel runs)', () => {
    const rgb = Uint8Array.from([72, 0, 5, 237, 100, 6, 2, 200, 7, 227, 50, 8]);
    const out = resizeBilinearOpenCV(rgb, 2, 2, 3, 3, 3);
    const channel = (c) => [...out].filter((_, i) => i % 3 === c);
    assert.deepEqual(channel(0), [72, 154, 237, 37, 135, 232, 2, 114, 227]);
    assert.deepEqual(channel(1), [0, 50, 100, 100, 88, 75, 200, 125, 50]);
  });

  test('exact 2x downscale uses the INTER_AREA fast path: (a + b + c + d + 2) >> 2', () => {
    // (10 + 20 + 50 + 58 + 2) >> 2 = 35 (34.5 rounds up), (30 + 40 + 70 + 80 + 2) >> 2 = 55.
    const out = resizeBilinearOpenCV(Uint8Array.from([10, 20, 30, 40, 50, 58, 70, 80]), 4, 2, 1, 2, 1);
    assert.deepEqual([...out], [35, 55]);
  });

  test('same size is a copy', () => {
    const src = Uint8Array.from([1, 2, 3, 4]);
    const out = resizeBilinearOpenCV(src, 2, 2, 1, 2, 2);
    assert.deepEqual([...out], [1, 2, 3, 4]);
    assert.notEqual(out, src);
  });
});

describe('letterbox', () => {
  const image = (w, h) => ({ width: w, height: h, channels: 1, data: Uint8Array.from({ length: w * h }, (_, i) => i + 1) });

  test('odd padding: top = round(dh - 0.1), bottom = round(dh + 0.1), no resize when r == 1', () => {
    const lb = letterbox(image(8, 3), [8, 8], 114); // dh = 2.5 -> top 2, bottom 3
    assert.equal(lb.width, 8);
    assert.equal(lb.height, 8);
    assert.equal(lb.top, 2);
    assert.equal(lb.left, 0);
    assert.deepEqual(lb.newUnpad, [8, 3]);
    const row = (y) => [...lb.data.subarray(y * 8, y * 8 + 8)];
    assert.deepEqual(row(1), Array(8).fill(114));
    assert.deepEqual(row(2), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(row(4), [17, 18, 19, 20, 21, 22, 23, 24]);
    assert.deepEqual(row(5), Array(8).fill(114));
  });

  test('upscales by r = min(H/h, W/w) and centres', () => {
    const lb = letterbox(image(4, 2), [8, 8], 114); // r = 2 -> 8x4, dh = 2
    assert.equal(lb.ratio, 2);
    assert.deepEqual(lb.newUnpad, [8, 4]);
    assert.equal(lb.top, 2);
    assert.deepEqual([...lb.data.subarray(8, 16)], Array(8).fill(114));
    assert.notEqual(lb.data[2 * 8], 114);
    assert.deepEqual([...lb.data.subarray(6 * 8, 7 * 8)], Array(8).fill(114));
  });
});

describe('toChwFloat', () => {
  test('HWC uint8 -> CHW float32 / 255', () => {
    const out = toChwFloat({ width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 0, 51, 0, 255, 102]) });
    assert.deepEqual([...out], [1, 0, 0, 1, Math.fround(0.2), Math.fround(0.4)]);
  });
});

describe('nonMaxSuppression ([4 + nc, N] layout)', () => {
  // Builds the channel-major tensor from rows [cx, cy, w, h, score0, score1].
  const tensor = (rows) => {
    const n = rows.length;
    const t = new Float32Array(6 * n);
    rows.forEach((r, i) => r.forEach((v, c) => (t[c * n + i] = v)));
    return t;
  };
  const rows = [
    [50, 50, 20, 20, 0.9, 0.1], // kept
    [51, 50, 20, 20, 0.8, 0.0], // IoU 380/420 = 0.905 with #0, same class -> suppressed
    [51, 50, 20, 20, 0.0, 0.85], // same box, other class -> kept
    [56, 50, 20, 20, 0.7, 0.0], // IoU 280/520 = 0.538 with #0 -> kept
    [300, 300, 10, 10, 0.25, 0.0], // not > conf
    [400, 400, 10, 10, 0.0, 0.2500001], // just above conf
  ];

  test('class-aware, strict conf, keeps score order', () => {
    const kept = nonMaxSuppression(tensor(rows), 6, rows.length, { conf: 0.25, iou: 0.7 });
    assert.deepEqual(
      kept.map((d) => [d.cls, d.conf, d.x1, d.y1, d.x2, d.y2]),
      [
        [0, Math.fround(0.9), 40, 40, 60, 60],
        [1, Math.fround(0.85), 41, 40, 61, 60],
        [0, Math.fround(0.7), 46, 40, 66, 60],
        [1, Math.fround(0.2500001), 395, 395, 405, 405],
      ],
    );
  });

  test('agnostic NMS suppresses across classes', () => {
    const kept = nonMaxSuppression(tensor(rows), 6, rows.length, { conf: 0.25, iou: 0.7, agnostic: true });
    assert.deepEqual(kept.map((d) => d.conf), [0.9, 0.7, 0.2500001].map(Math.fround));
  });

  test('IoU exactly at the threshold is kept (suppress only IoU > iou)', () => {
    // [0,30]x[0,10] vs [10,40]x[0,10]: 200 / 400 = 0.5
    const pair = [
      [15, 5, 30, 10, 0.9, 0],
      [25, 5, 30, 10, 0.8, 0],
    ];
    assert.equal(nonMaxSuppression(tensor(pair), 6, 2, { conf: 0.25, iou: 0.5 }).length, 2);
    assert.equal(nonMaxSuppression(tensor(pair), 6, 2, { conf: 0.25, iou: 0.49 }).length, 1);
  });

  test('maxDet truncates after NMS', () => {
    assert.equal(nonMaxSuppression(tensor(rows), 6, rows.length, { conf: 0.25, iou: 0.7, maxDet: 2 }).length, 2);
  });
});

describe('scaleBoxes', () => {
  test('640x427 image: gain 1, pad y = round(106.5 - 0.1) = 106, then clip', () => {
    const [a, b] = scaleBoxes(
      [
        { x1: 10, y1: 116, x2: 20, y2: 126 },
        { x1: -5, y1: 100, x2: 700, y2: 600 },
      ],
      [640, 640],
      [427, 640],
    );
    assert.deepEqual([a.x1, a.y1, a.x2, a.y2], [10, 10, 20, 20]);
    assert.deepEqual([b.x1, b.y1, b.x2, b.y2], [0, 0, 640, 427]);
  });

  test('500x375 image: gain 1.28, pad y 80', () => {
    const [a] = scaleBoxes([{ x1: 64, y1: 144, x2: 128, y2: 208 }], [640, 640], [375, 500]);
    assert.deepEqual([a.x1, a.y1, a.x2, a.y2], [50, 50, 100, 100]);
  });
});

// ---------------------------------------------------------------------------

describe('iou', () => {
  test('hand-computed cases', () => {
    close(iou([0, 0, 10, 10], [5, 5, 15, 15]), 25 / 175);
    assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
    assert.equal(iou([0, 0, 10, 10], [10, 0, 20, 10]), 0); // touching edges
    assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
    close(iou([0, 0, 10, 10], [2, 2, 4, 4]), 4 / 100);
    assert.equal(iou([0, 0, 0, 0], [0, 0, 0, 0]), 0);
  });

  test('accepts {box} and {x1..y2} detections', () => {
    close(iou({ box: [0, 0, 10, 10] }, { x1: 5, y1: 5, x2: 15, y2: 15 }), 25 / 175);
  });
});

describe('matchDetections', () => {
  test('same class, IoU >= thr, greedy by our confidence', () => {
    const ours = [
      { cls: 0, conf: 0.8, box: [0, 0, 10, 10] }, // IoU 1 with r1, but lower confidence
      { cls: 0, conf: 0.9, box: [0, 0, 10, 10.5] }, // IoU 100/105 with r1, visited first
      { cls: 1, conf: 0.7, box: [20, 20, 30, 30] }, // IoU 100/110 with r2
      { cls: 2, conf: 0.6, box: [50, 50, 60, 60] }, // IoU 100/120 with r3: below 0.9
      { cls: 4, conf: 0.5, box: [70, 70, 80, 80] }, // r4 has the same box but class 3
    ];
    const ref = [
      { cls: 0, conf: 0.9, box: [0, 0, 10, 10] },
      { cls: 1, conf: 0.7, box: [20, 20, 30, 31] },
      { cls: 2, conf: 0.6, box: [50, 50, 60, 62] },
      { cls: 3, conf: 0.5, box: [70, 70, 80, 80] },
    ];
    const m = matchDetections(ours, ref, { iouThr: 0.9 });
    assert.deepEqual(
      m.matched.map((p) => [p.ours, p.ref]),
      [
        [ours[1], ref[0]],
        [ours[2], ref[1]],
      ],
    );
    close(m.matched[0].iou, 100 / 105);
    assert.deepEqual(m.onlyOurs, [ours[0], ours[3], ours[4]]);
    assert.deepEqual(m.onlyRef, [ref[2], ref[3]]);
    close(m.agreement, 2 / 7);
  });

  test('empty inputs agree fully; one-sided inputs not at all', () => {
    assert.equal(matchDetections([], []).agreement, 1);
    assert.equal(matchDetections([{ cls: 0, conf: 1, box: [0, 0, 1, 1] }], []).agreement, 0);
  });
});

describe('YOLO labels', () => {
  test('parseYoloLabels: normalised cx cy w h -> pixel xyxy', () => {
    const boxes = parseYoloLabels('0 0.5 0.5 0.2 0.4\n\n17 0.25 0.1 0.5 0.2\r\n', 100, 50);
    assert.equal(boxes.length, 2);
    assert.equal(boxes[0].cls, 0);
    close(boxes[0].x1, 40);
    close(boxes[0].y1, 15);
    close(boxes[0].x2, 60);
    close(boxes[0].y2, 35);
    assert.equal(boxes[1].cls, 17);
    close(boxes[1].x1, 0);
    close(boxes[1].y1, 0);
    close(boxes[1].x2, 50);
    close(boxes[1].y2, 10);
  });

  test('malformed line throws', () => {
    assert.throws(() => parseYoloLabels('0 0.5 0.5 0.2\n', 10, 10), /line 1/);
  });

  test('readYoloLabels: file on disk, missing file = no objects', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-labels-'));
    try {
      const file = path.join(dir, 'a.txt');
      fs.writeFileSync(file, '3 0.5 0.5 1 1\n');
      assert.deepEqual(readYoloLabels(file, 20, 10), [{ cls: 3, x1: 0, y1: 0, x2: 20, y2: 10 }]);
      assert.deepEqual(readYoloLabels(path.join(dir, 'missing.txt'), 20, 10), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ap50', () => {
  test('averagePrecision101: perfect ranking is 1, no ground truth is NaN', () => {
    assert.equal(averagePrecision101([true, true], 2), 1);
    assert.ok(Number.isNaN(averagePrecision101([true], 0)));
  });

  test('constructed case with known AP, pooled AP, P and R', () => {
    const gts = {
      a: [
        { cls: 0, box: [0, 0, 10, 10] },
        { cls: 0, box: [20, 0, 30, 10] },
        { cls: 1, box: [40, 0, 50, 10] },
      ],
      b: [], // background image
    };
    const preds = {
      a: [
        { cls: 0, conf: 0.9, box: [0, 0, 10, 10] }, // TP
        { cls: 0, conf: 0.8, box: [60, 60, 70, 70] }, // FP
        { cls: 0, conf: 0.7, box: [20, 0, 30, 10] }, // TP
        { cls: 2, conf: 0.6, box: [80, 80, 90, 90] }, // FP, class without ground truth
      ],
      b: [],
    };
    const m = ap50(preds, gts, { confThr: 0.75 });
    // Class 0: flags T F T, recall .5 .5 1, monotone precision 1 2/3 2/3:
    // 51 samples (r <= 0.5) at 1 and 50 at 2/3 -> (51 + 100/3) / 101 = 253/303.
    close(m.perClass[0].ap, 253 / 303);
    assert.equal(m.perClass[0].nGt, 2);
    assert.equal(m.perClass[0].nPred, 3);
    assert.deepEqual(m.perClass[1], { ap: 0, nGt: 1, nPred: 0 });
    assert.equal(m.perClass[2], undefined);
    close(m.map50, 253 / 606);
    // Pooled: flags T F T F over 3 GT, recall 1/3 1/3 2/3 2/3, monotone precision 1 2/3 2/3 1/2:
    // r = 0..0.33 (34 samples) -> 1, r = 0.34..0.66 (33) -> 2/3, r >= 0.67 (34) -> 0.
    close(m.pooledAp50, 56 / 101);
    // conf >= 0.75 keeps the TP at 0.9 and the FP at 0.8.
    assert.equal(m.tp, 1);
    assert.equal(m.fp, 1);
    assert.equal(m.nGt, 3);
    close(m.precision, 0.5);
    close(m.recall, 1 / 3);
  });

  test('arrays work as well as objects; a duplicate of a matched box is a FP', () => {
    const m = ap50(
      [
        [
          { cls: 0, conf: 0.9, x1: 0, y1: 0, x2: 10, y2: 10 },
          { cls: 0, conf: 0.8, x1: 0, y1: 0, x2: 10, y2: 10 },
        ],
      ],
      [[{ cls: 0, x1: 0, y1: 0, x2: 10, y2: 10 }]],
      { confThr: 0 },
    );
    assert.equal(m.tp, 1);
    assert.equal(m.fp, 1);
    assert.equal(m.map50, 1);
  });
});

// ---------------------------------------------------------------------------

describe('coco128 parity fixture', () => {
  const fixture = () => JSON.parse(fs.readFileSync(fixturePath, 'utf8'));

  test('was generated from the current model file', (t) => {
    if (!requireShared(t)) return;
    const sha = crypto.createHash('sha256').update(fs.readFileSync(modelPath)).digest('hex');
    const fx = fixture();
    assert.equal(fx.model, 'yolov8n_int8_640.onnx');
    assert.equal(fx.model_sha256, sha, 'model changed: rerun node scripts/make-parity-fixture.js');
    assert.equal(Object.keys(fx.images).length, 128);
    const total = Object.values(fx.images).reduce((n, im) => n + im.detections.length, 0);
    assert.equal(fx.total_detections, total);
  });

  test('the reference still reproduces it (resized colour image + grayscale image)', async (t) => {
    if (!requireShared(t)) return;
    const fx = fixture();
    const session = await loadReferenceSession(modelPath);
    // 000000000077: 500x375, upscaled to 640x480; 000000000086: single-channel JPEG.
    for (const name of ['000000000077.jpg', '000000000086.jpg']) {
      const expected = fx.images[name];
      const got = await referencePredictWithInfo(session, path.join(coco128, name), { conf: fx.conf, iou: fx.iou });
      assert.equal(got.width, expected.width);
      assert.equal(got.height, expected.height);
      assert.equal(got.detections.length, expected.detections.length, name);
      got.detections.forEach((d, i) => {
        const e = expected.detections[i];
        assert.equal(d.cls, e.cls, `${name} #${i} class`);
        // Small tolerances: onnxruntime kernels may differ in the last bits across CPUs.
        assert.ok(Math.abs(d.conf - e.conf) <= 1e-4, `${name} #${i} conf ${d.conf} vs ${e.conf}`);
        [d.x1, d.y1, d.x2, d.y2].forEach((v, k) =>
          assert.ok(Math.abs(v - e.box[k]) <= 0.05, `${name} #${i} box[${k}] ${v} vs ${e.box[k]}`),
        );
      });
    }
  });
});
