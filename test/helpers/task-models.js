// Synthetic Ultralytics OBB and classify exports whose outputs are set by the test (built with
// onnx-builder.js, so they are real ONNX graphs run by onnxruntime), with the metadata a real
// export carries (`task: obb` / `task: classify`, imgsz, names, stride).

import { ultralyticsMetadata } from './onnx-builder.js';

/**
 * writeModel options for an OBB model with a [B, 4+nc+1, N] output (YOLOv8/YOLO11 OBB head):
 * one anchor per entry of `boxes`, `{ cx, cy, w, h, r, cls, score }` in network pixels; every
 * other class score of that anchor is 0. `names` gives nc.
 */
export function obbModel({ boxes, names, imgsz = [64, 64], batch = 'batch', extraAnchors = 0 }) {
  const nc = names.length;
  const rows = 4 + nc + 1;
  const n = boxes.length + extraAnchors;
  const values = new Float32Array(rows * n);
  boxes.forEach((b, j) => {
    values[0 * n + j] = b.cx;
    values[1 * n + j] = b.cy;
    values[2 * n + j] = b.w;
    values[3 * n + j] = b.h;
    values[(4 + b.cls) * n + j] = b.score;
    values[(rows - 1) * n + j] = b.r;
  });
  return {
    outputDims: [rows, n],
    values,
    batch,
    height: imgsz[0],
    width: imgsz[1],
    metadata: ultralyticsMetadata({ imgsz, names, extra: { task: 'obb', description: 'Ultralytics YOLO11n-obb model (synthetic)' } }),
  };
}

/** writeModel options for an end-to-end OBB model: [B, K, 7] rows cx, cy, w, h, score, class, angle. */
export function obbEnd2endModel({ boxes, names, imgsz = [64, 64], batch = 'batch', k = boxes.length }) {
  const values = new Float32Array(k * 7);
  boxes.forEach((b, i) => values.set([b.cx, b.cy, b.w, b.h, b.score, b.cls, b.r], i * 7));
  return {
    outputDims: [k, 7],
    values,
    batch,
    height: imgsz[0],
    width: imgsz[1],
    metadata: ultralyticsMetadata({ imgsz, names, end2end: true, extra: { task: 'obb', description: 'Ultralytics YOLO26n-obb model (synthetic)' } }),
  };
}

/**
 * writeModel options for a classify model: output [B, nc] = values + mean(input[b]) × shift.
 * With shift all zero the row is `values` for every image (give probabilities or logits); a
 * shift makes the output depend on the preprocessed pixels, so a test can see the centre crop.
 */
export function classifyModel({ values, names, imgsz = [32, 32], shift, batch = 'batch' }) {
  if (values.length !== names.length) throw new Error(`values has ${values.length} entries, names ${names.length}`);
  return {
    outputDims: [names.length],
    values: Float32Array.from(values),
    shift: shift ? Float32Array.from(shift) : undefined,
    batch,
    height: imgsz[0],
    width: imgsz[1],
    metadata: ultralyticsMetadata({
      imgsz,
      names,
      extra: { task: 'classify', stride: '1', description: 'Ultralytics YOLO11n-cls model (synthetic)' },
    }),
  };
}

/** DOTA v1's 15 class names, as yolo11n-obb carries them. */
export const DOTA_NAMES = [
  'plane',
  'ship',
  'storage tank',
  'baseball diamond',
  'tennis court',
  'basketball court',
  'ground track field',
  'harbor',
  'bridge',
  'large vehicle',
  'small vehicle',
  'helicopter',
  'roundabout',
  'soccer ball field',
  'swimming pool',
];
