// A near-free synthetic detector with the real output shape of a 640 YOLOv8/11 detect model
// ([1, 84, 8400]): its graph only expands a constant, so session.run costs a couple of
// milliseconds and everything else yolo-serve does becomes visible. The constant output looks
// like a real head's: every class score small (below any usual threshold) except DETECTIONS
// anchors that carry one confident box each, so postprocessing scans all anchors and keeps a
// realistic number of boxes.
import path from 'node:path';
import { ultralyticsMetadata, writeModel } from '../test/helpers/onnx-builder.js';

export const SYNTHETIC_ANCHORS = 8400;
export const SYNTHETIC_CLASSES = 80;
const DETECTIONS = 20;

/** The constant [84, 8400] output (channels first: cx, cy, w, h, then 80 class scores). */
export function syntheticOutput(size = 640) {
  const n = SYNTHETIC_ANCHORS;
  const rows = 4 + SYNTHETIC_CLASSES;
  const values = new Float32Array(rows * n);
  for (let c = 0; c < SYNTHETIC_CLASSES; c++) {
    // Low, varied background scores (0 … 0.0099), as sigmoid outputs of a real head mostly are.
    for (let j = 0; j < n; j++) values[(4 + c) * n + j] = ((j * 7 + c * 13) % 100) / 10000;
  }
  const step = size / 32;
  for (let k = 0; k < DETECTIONS; k++) {
    const j = k * 397;
    values[j] = step * (2 + (k % 5) * 6);
    values[n + j] = step * (2 + Math.floor(k / 5) * 6);
    values[2 * n + j] = step * 3;
    values[3 * n + j] = step * 4;
    values[(4 + ((k * 7) % SYNTHETIC_CLASSES)) * n + j] = 0.3 + k * 0.03;
  }
  return values;
}

/** Writes the synthetic 640×640 model into `dir` and returns its path. */
export function writeSyntheticDetector(dir, { size = 640, batch = 1 } = {}) {
  const file = path.join(dir, `synthetic_${size}_84x${SYNTHETIC_ANCHORS}.onnx`);
  writeModel(file, {
    outputDims: [4 + SYNTHETIC_CLASSES, SYNTHETIC_ANCHORS],
    values: syntheticOutput(size),
    batch,
    height: size,
    width: size,
    metadata: ultralyticsMetadata({ imgsz: [size, size] }),
  });
  return file;
}
