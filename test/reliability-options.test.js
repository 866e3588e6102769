// Attacks on options that used to give quietly wrong results (issue 9, item 8 and extras): a
// --classes typo or a --names file of the wrong length must stop the run before any work, with
// both counts named; a tiny --imgsz is reported as a size problem; --workers far above the cores
// warns. Synthetic models (test/helpers/onnx-builder.js), except the --imgsz check, which needs a
// real dynamic-size model from ../shared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { requireShared, runCli, sharedDir } from './helpers/cli.js';
import { ultralyticsMetadata, writeModel } from './helpers/onnx-builder.js';

const env = { ORT_DISABLE_TELEMETRY: '1' };
let dir;
let model;
let e2e;
let img;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-options-'));
  // [1, 84, 100], COCO-80 (no names metadata): a car (2) at 0.9 and a person (0) at 0.8, far apart.
  const n = 100;
  const v = new Float32Array(84 * n);
  const put = (j, cx, cy, cls, score) => {
    v[j] = cx; v[n + j] = cy; v[2 * n + j] = 10; v[3 * n + j] = 10; v[(4 + cls) * n + j] = score;
  };
  put(0, 16, 16, 2, 0.9);
  put(1, 48, 48, 0, 0.8);
  model = path.join(dir, 'model.onnx');
  writeModel(model, { outputDims: [84, n], values: v, height: 64, width: 64 });
  // End-to-end [1, 300, 6] with 80 names in its metadata: the output shape does not show the count.
  const rows = new Float32Array(300 * 6);
  rows.set([10, 10, 20, 20, 0.9, 2]);
  e2e = path.join(dir, 'e2e.onnx');
  writeModel(e2e, { outputDims: [300, 6], values: rows, height: 64, width: 64, metadata: ultralyticsMetadata({ imgsz: [64, 64], end2end: true }) });
  img = path.join(dir, 'a.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: 'grey' } }).png().toFile(img);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// stdout: the provenance header line, then the one image's record.
const classesOf = (stdout) => JSON.parse(stdout.trim().split('\n').at(-1)).detections.map((d) => `${d.class} ${d.name}`);

test('item 8: --classes with an id the model does not have is a usage error naming the class count', async () => {
  const res = await runCli(['batch', img, '--model', model, '--out', '-', '--classes', '999'], { env });
  assert.equal(res.code, 2, `exit ${res.code}: ${res.stdout}`);
  assert.equal(res.stdout, '');
  assert.match(res.stderr, /^yolo-serve: --classes 999: .*model\.onnx has 80 classes \(ids 0 to 79\): 0 person, 1 bicycle, 2 car,/m);
  const edge = await runCli(['batch', img, '--model', model, '--out', '-', '--classes', '0,80'], { env });
  assert.equal(edge.code, 2);
  assert.match(edge.stderr, /--classes 80: .* has 80 classes/);
});

test('item 8: --classes accepts class names, as Ultralytics users write them; an unknown name is an error', async () => {
  const all = await runCli(['batch', img, '--model', model, '--out', '-', '-q'], { env });
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(classesOf(all.stdout), ['2 car', '0 person']);
  const byName = await runCli(['batch', img, '--model', model, '--out', '-', '-q', '--classes', 'person'], { env });
  assert.equal(byName.code, 0, byName.stderr);
  assert.deepEqual(classesOf(byName.stdout), ['0 person']);
  const mixed = await runCli(['batch', img, '--model', model, '--out', '-', '-q', '--classes', 'Car,0', '--summary', path.join(dir, 's.json')], { env });
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.deepEqual(classesOf(mixed.stdout), ['2 car', '0 person']);
  // The summary records the ids actually kept.
  assert.deepEqual(JSON.parse(await readFile(path.join(dir, 's.json'), 'utf8')).settings.classes, [0, 2]);
  const typo = await runCli(['batch', img, '--model', model, '--out', '-', '--classes', 'persn'], { env });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^yolo-serve: --classes 'persn': .*model\.onnx has no class of that name; its classes: 0 person/m);
});

test('item 8: a --names file whose count differs from the model\'s is exit 2 naming both counts (end-to-end model too)', async () => {
  const three = path.join(dir, 'three.txt');
  await writeFile(three, 'a\nb\nc\n');
  const e = await runCli(['batch', img, '--model', e2e, '--out', '-', '--names', three], { env });
  assert.equal(e.code, 2, `exit ${e.code}: ${e.stdout}`);
  assert.match(e.stderr, /^yolo-serve: names file .*three\.txt has 3 names but the model .*e2e\.onnx has 80 classes/m);
  const r = await runCli(['batch', img, '--model', model, '--out', '-', '--names', three], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /names file .*three\.txt has 3 names but the model .*model\.onnx outputs 80 classes/);
});

test('--workers far above the core count warns', async (t) => {
  const cores = availableParallelism();
  if (cores > 4) return t.skip(`${cores} cores: the check would start ${2 * cores + 1} sessions`);
  const res = await runCli(['batch', img, '--model', model, '--out', '-', '--workers', String(2 * cores + 1)], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, new RegExp(`warning: --workers ${2 * cores + 1} is far above the ${cores} CPU cores here`));
  const fine = await runCli(['batch', img, '--model', model, '--out', '-', '--workers', String(cores)], { env });
  assert.doesNotMatch(fine.stderr, /warning: --workers/);
});

test('--imgsz too small for a dynamic model\'s stride gets a message about the size, not about classes', async (t) => {
  if (!requireShared(t)) return;
  const dyn = path.join(sharedDir, 'models', 'yolov8n_int8_dynamic.onnx');
  for (const size of ['32', '64']) {
    const res = await runCli(['batch', img, '--model', dyn, '--out', '-', '--imgsz', size], { env });
    assert.equal(res.code, 2, res.stderr);
    assert.doesNotMatch(res.stderr, /class/);
    assert.match(res.stderr, new RegExp(`^yolo-serve: --imgsz ${size}x${size} is too small for .*yolov8n_int8_dynamic\\.onnx \\(stride 32\\).*use a larger --imgsz`, 'm'));
  }
  const ok = await runCli(['batch', img, '--model', dyn, '--out', '-', '--imgsz', '128', '-q'], { env });
  assert.equal(ok.code, 0, ok.stderr);
});
