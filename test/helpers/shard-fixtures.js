// Fixtures for the sharding and merge tests: a synthetic detector whose detections depend on each
// image's mean colour (so every image's record is distinct), a folder of small solid-colour
// images, and a way to run the real CLI.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { repoRoot, runCli as runCliWithEnv } from './cli.js';
import { ultralyticsMetadata, writeModel } from './onnx-builder.js';

export { repoRoot };

/**
 * [1, 6, 8] xywh-classes model (classes 'cat', 'dog') on 64×64 input. Anchor 0: cat, score
 * 0.3 + 0.6·mean(image), box centre x moved by 10·mean; anchor 1: dog at 0.8, fixed box; the other
 * anchors score 0.
 */
export function writeSyntheticModel(file) {
  const rows = 6;
  const A = 8;
  const values = new Float32Array(rows * A);
  const shift = new Float32Array(rows * A);
  const set = (arr, row, anchor, v) => (arr[row * A + anchor] = v);
  set(values, 0, 0, 32); set(values, 1, 0, 32); set(values, 2, 0, 20); set(values, 3, 0, 16);
  set(values, 4, 0, 0.3);
  set(shift, 4, 0, 0.6);
  set(shift, 0, 0, 10);
  set(values, 0, 1, 10); set(values, 1, 1, 12); set(values, 2, 1, 8); set(values, 3, 1, 8);
  set(values, 5, 1, 0.8);
  writeModel(file, { outputDims: [rows, A], values, shift, height: 64, width: 64, metadata: ultralyticsMetadata({ imgsz: [64, 64], names: ['cat', 'dog'] }) });
  return file;
}

/**
 * `count` solid-colour PNGs of varied sizes under `dir` (a third of them in sub/), plus one
 * undecodable broken.jpg. Returns the absolute paths.
 */
export async function writeImages(dir, count) {
  await mkdir(path.join(dir, 'sub'), { recursive: true });
  const files = [];
  for (let i = 0; i < count; i++) {
    const rel = i % 3 === 2 ? `sub/img-${String(i).padStart(3, '0')}.png` : `img-${String(i).padStart(3, '0')}.png`;
    const file = path.join(dir, rel);
    const background = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
    await sharp({ create: { width: 16 + (i % 5) * 4, height: 12 + (i % 3) * 4, channels: 3, background } }).png().toFile(file);
    files.push(file);
  }
  const broken = path.join(dir, 'broken.jpg');
  await writeFile(broken, 'not a jpeg');
  files.push(broken);
  return files;
}

/** Runs bin/yolo-serve; resolves with the exit code and output whatever the code. */
// The sharding variables of the environment the tests run in must not leak into the CLI.
const NO_SHARD_ENV = { JOB_COMPLETION_INDEX: undefined, AWS_BATCH_JOB_ARRAY_INDEX: undefined, YOLO_SERVE_SHARD_COUNT: undefined };

export function runCli(args, { env = {}, cwd = repoRoot, input = '' } = {}) {
  return runCliWithEnv(args, { env: { ...NO_SHARD_ENV, ...env }, cwd, stdin: input });
}

/** The test runner's environment without any shard variables a CI system may have set. */

/** Non-empty lines of a JSONL text. */
export function lines(text) {
  return text.split('\n').filter((l) => l !== '');
}
