// batch --save-annotated / --save-crops: where files go (the input layout mirrored, no collisions,
// Ultralytics' crop layout), what they hold (drawn images at the right size, crops of the original
// pixels), failed images get none, and --shard / --resume keep working with the same folders.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { annotatedPath, classDirName, cropName, OUTSIDE_ROOT_DIR } from '../dist/annotate/paths.js';
import { cropRect } from '../dist/draw/geometry.js';
import { parseJsonl, requireShared, runCli, sharedDir } from './helpers/cli.js';

const model = path.join(sharedDir, 'models', 'yolov8n_int8_640.onnx');

test('annotated paths mirror the input root; outside the root under _outside_root; format from the extension', () => {
  assert.deepEqual(annotatedPath('/out', '/data', '/data/a/x.jpg'), { file: '/out/a/x.jpg', format: 'jpeg' });
  assert.deepEqual(annotatedPath('/out', '/data', '/data/b/x.jpg'), { file: '/out/b/x.jpg', format: 'jpeg' });
  assert.deepEqual(annotatedPath('/out', '/data', '/data/p.PNG'), { file: '/out/p.PNG', format: 'png' });
  assert.deepEqual(annotatedPath('/out', '/data', '/data/t.tif'), { file: '/out/t.tif', format: 'tiff' });
  assert.deepEqual(annotatedPath('/out', '/data', '/elsewhere/y.jpg'), { file: path.join('/out', OUTSIDE_ROOT_DIR, 'elsewhere/y.jpg'), format: 'jpeg' });
  assert.deepEqual(annotatedPath('/out', '/data', '/data/odd.bmp'), { file: '/out/odd.bmp.jpg', format: 'jpeg' });
  // A folder named like a parent reference is still inside the root.
  assert.equal(annotatedPath('/out', '/data', '/data/..x/y.jpg').file, '/out/..x/y.jpg');
});

test('crop names: Ultralytics increment_path numbering; class names made safe folder names', () => {
  assert.deepEqual([1, 2, 3].map((n) => cropName('bus', n)), ['bus.jpg', 'bus2.jpg', 'bus3.jpg']);
  assert.equal(classDirName('traffic light'), 'traffic light');
  assert.equal(classDirName('a/b\\c'), 'a_b_c');
  assert.equal(classDirName('..'), '_..');
  assert.equal(classDirName(''), '_');
});

let tmp;
let images;
before(async () => {
  if (!fs.existsSync(sharedDir)) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-annotate-'));
  images = path.join(tmp, 'images');
  const coco = path.join(sharedDir, 'images', 'coco128');
  const picks = fs.readdirSync(coco).filter((f) => f.endsWith('.jpg')).sort().slice(0, 4);
  for (const d of ['a', 'b', 'c']) fs.mkdirSync(path.join(images, d), { recursive: true });
  // Same file name in two folders; a PNG; a broken file.
  fs.copyFileSync(path.join(coco, picks[0]), path.join(images, 'a', 'same.jpg'));
  fs.copyFileSync(path.join(coco, picks[1]), path.join(images, 'b', 'same.jpg'));
  fs.copyFileSync(path.join(coco, picks[2]), path.join(images, 'a', picks[2]));
  await sharp(path.join(coco, picks[3])).png().toFile(path.join(images, 'c', 'pic.png'));
  fs.writeFileSync(path.join(images, 'c', 'broken.jpg'), 'not a jpeg');
});
after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

test('batch --save-annotated --save-crops: mirrored layout, sizes, crops of the original, no file for a failed image', async (t) => {
  if (!requireShared(t)) return;
  const out = path.join(tmp, 'r.jsonl');
  const ann = path.join(tmp, 'ann');
  const crops = path.join(tmp, 'crops');
  const res = await runCli(['batch', images, '--model', model, '--out', out, '--save-annotated', ann, '--save-crops', crops, '--annotate-max-side', '320', '--no-progress']);
  assert.equal(res.code, 1, res.stderr); // broken.jpg failed
  const records = parseJsonl(fs.readFileSync(out, 'utf8'));
  const detections = records.reduce((n, r) => n + r.detections.length, 0);
  assert.ok(detections > 0);
  assert.match(res.stderr, new RegExp(`saved: 4 annotated images in ${ann}, ${detections} crops in ${crops}`));

  assert.deepEqual(filesUnder(ann), ['a/' + fs.readdirSync(path.join(images, 'a')).find((f) => f !== 'same.jpg'), 'a/same.jpg', 'b/same.jpg', 'c/pic.png'].sort());
  for (const f of filesUnder(ann)) {
    const m = await sharp(path.join(ann, f)).metadata();
    assert.equal(m.format, f.endsWith('.png') ? 'png' : 'jpeg');
    assert.ok(Math.max(m.width, m.height) === 320, `${f}: ${m.width}x${m.height}`);
  }
  // The two same-named images are different pictures.
  assert.notDeepEqual(fs.readFileSync(path.join(ann, 'a/same.jpg')), fs.readFileSync(path.join(ann, 'b/same.jpg')));

  const cropFiles = filesUnder(crops);
  assert.equal(cropFiles.length, detections);
  const classes = new Set(records.flatMap((r) => r.detections.map((d) => d.name)));
  assert.deepEqual(new Set(cropFiles.map((f) => path.dirname(f))), classes);
  // Crops of one image's class: the first is stem.jpg, then stem2.jpg … (repeats from same-named images included).
  const first = records.find((r) => r.detections.length > 0 && r.path.endsWith('pic.png'));
  if (first) {
    const d = first.detections[0];
    const m = await sharp(path.join(crops, d.name, 'pic.jpg')).metadata();
    const r = cropRect(d.box, first.width, first.height);
    assert.deepEqual([m.width, m.height], [r.width, r.height], 'cropped from the full-size original, not the 320 px copy');
  }
});

test('batch --shard 0/2 and 1/2 share the folders without collisions; --resume draws only what it processes', async (t) => {
  if (!requireShared(t)) return;
  const ann = path.join(tmp, 'ann-shards');
  const crops = path.join(tmp, 'crops-shards');
  const outs = [0, 1].map((i) => path.join(tmp, `part${i}.jsonl`));
  for (const i of [0, 1]) {
    const res = await runCli(['batch', images, '--model', model, '--out', outs[i], '--shard', `${i}/2`, '--save-annotated', ann, '--save-crops', crops, '--no-progress']);
    assert.ok(res.code === 0 || res.code === 1, res.stderr);
  }
  const records = outs.flatMap((f) => parseJsonl(fs.readFileSync(f, 'utf8')));
  assert.equal(records.length, 5);
  assert.equal(filesUnder(ann).length, 4);
  assert.equal(filesUnder(crops).length, records.reduce((n, r) => n + r.detections.length, 0));

  // Resume: keep the first two records of a full run; the rest is processed and drawn.
  const out = path.join(tmp, 'resume.jsonl');
  const ann2 = path.join(tmp, 'ann-resume');
  const full = await runCli(['batch', images, '--model', model, '--out', out, '--no-progress']);
  assert.equal(full.code, 1, full.stderr);
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).slice(1); // after the provenance header
  fs.writeFileSync(out, fs.readFileSync(out, 'utf8').split('\n')[0] + '\n' + lines.slice(0, 2).join('\n') + '\n');
  const res = await runCli(['batch', images, '--model', model, '--out', out, '--resume', '--save-annotated', ann2, '--no-progress']);
  assert.equal(res.code, 1, res.stderr);
  assert.equal(parseJsonl(fs.readFileSync(out, 'utf8')).length, 5);
  const skipped = lines.slice(0, 2).map((l) => JSON.parse(l).path);
  const drawn = filesUnder(ann2).map((f) => path.join(images, f));
  assert.equal(drawn.length, 4 - skipped.filter((p) => !p.endsWith('broken.jpg')).length);
  for (const p of skipped) assert.ok(!drawn.includes(p), `${p} was done before the resume`);
});

test('batch --save-annotated refuses the input folder itself and a file in the way', async (t) => {
  if (!requireShared(t)) return;
  const same = await runCli(['batch', images, '--model', model, '--out', path.join(tmp, 'x.jsonl'), '--save-annotated', images, '--no-progress']);
  assert.equal(same.code, 2);
  assert.match(same.stderr, /is the input folder/);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  const clash = await runCli(['batch', images, '--model', model, '--out', path.join(tmp, 'y.jsonl'), '--save-crops', file, '--no-progress']);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /--save-crops .*a-file is not a directory/);
  const stdoutReport = await runCli(['batch', images, '--model', model, '--out', '-', '--report', path.join(tmp, 'r.html'), '--no-progress']);
  assert.equal(stdoutReport.code, 2);
  assert.match(stdoutReport.stderr, /--report reads the results back from --out/);
});

test('ImageSaver: a file that cannot be written is counted and named, never thrown; failed records get nothing', async () => {
  const { ImageSaver } = await import('../dist/annotate/saver.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-saver-'));
  try {
    const root = path.join(dir, 'in');
    const ann = path.join(dir, 'ann');
    fs.mkdirSync(ann);
    fs.writeFileSync(path.join(ann, 'blocked'), 'a file where a folder should go');
    const saver = new ImageSaver({ annotateDir: ann, cropsDir: path.join(dir, 'crops'), root, quality: 80, maxSide: null }, 2);
    const image = { data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48 };
    const det = { name: 'cat', class: 15, confidence: 0.8, box: { x1: 5, y1: 5, x2: 40, y2: 30 } };
    const rec = (p, extra = {}) => ({ index: 0, path: path.join(root, p), width: 64, height: 48, detections: [det, det], error: null, ...extra });
    await saver.enqueue(rec('ok.jpg'), image);
    await saver.enqueue(rec('blocked/x.jpg'), image);
    await saver.enqueue(rec('bad.jpg', { error: { code: 'DECODE_FAILED', message: 'x' } }), image);
    await saver.enqueue(rec('nopixels.jpg'), null);
    await saver.flush();
    assert.equal(saver.annotated, 1);
    assert.equal(saver.crops, 4);
    assert.equal(saver.failures, 1);
    assert.match(saver.describe(), /1 annotated images in .*, 4 crops in .*; 1 files could not be written \(first: .*blocked/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'crops', 'cat')).sort(), ['ok.jpg', 'ok2.jpg', 'x.jpg', 'x2.jpg']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
