// `yolo-serve export` and `batch --save-txt`: Python "%g" formatting, YOLO lines for every task's
// record shape, each format read back, refusals, and the round trip on a real run (labels
// exported from a run, read back by eval as ground truth, give mAP 1 against the same run).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { formatG, yoloLines } from '../dist/exports/yolo-txt.js';
import { coco128Dir, modelsDir, requireShared, runCli } from './helpers/cli.js';

test('formatG is Python\'s "%g", including round-half-even on exact ties', () => {
  // Expected values printed by CPython: '%g' % v.
  const cases = [
    [0.5078125, '0.507812'],
    [1.2e-5, '1.2e-05'],
    [0.000123456789, '0.000123457'],
    [123456789, '1.23457e+08'],
    [1, '1'],
    [45, '45'],
    [-0.5, '-0.5'],
    [0.0001, '0.0001'],
    [100000, '100000'],
    [1e6, '1e+06'],
    [0.99999951, '1'],
    [0.3333333333, '0.333333'],
    [0.0390625, '0.0390625'],
    [0, '0'],
  ];
  for (const [v, s] of cases) assert.equal(formatG(v), s, String(v));
});

test('YOLO lines: boxes, confidence, polygons, keypoints, OBB corners, classification top-5', () => {
  const base = { path: '/x/a.jpg', width: 200, height: 100, error: null };
  const d = { name: 'person', class: 3, confidence: 0.87654, box: { x1: 20, y1: 10, x2: 60, y2: 50 } };
  assert.deepEqual(yoloLines({ ...base, detections: [d] }), ['3 0.2 0.3 0.2 0.4']);
  assert.deepEqual(yoloLines({ ...base, detections: [d] }, { withConf: true }), ['3 0.2 0.3 0.2 0.4 0.87654']);
  const seg = { ...d, segments: { x: [20, 60, 40], y: [10, 10, 50] } };
  assert.deepEqual(yoloLines({ ...base, detections: [seg] }), ['3 0.1 0.1 0.3 0.1 0.2 0.5']);
  const pose = { ...d, keypoints: { x: [30, 40], y: [20, 30], visible: [0.9, 0.1] } };
  assert.deepEqual(yoloLines({ ...base, detections: [pose] }), ['3 0.2 0.3 0.2 0.4 0.15 0.2 0.9 0.2 0.3 0.1']);
  const obb = { ...d, obb: { x1: 20, y1: 10, x2: 60, y2: 10, x3: 60, y3: 50, x4: 20, y4: 50 } };
  assert.deepEqual(yoloLines({ ...base, detections: [obb] }), ['3 0.1 0.1 0.3 0.1 0.3 0.5 0.1 0.5']);
  const cls = { ...base, detections: [], top5: [{ class: 1, name: 'cat', confidence: 0.914 }, { class: 2, name: 'dog', confidence: 0.05 }] };
  assert.deepEqual(yoloLines(cls), ['0.91 cat', '0.05 dog']);
  assert.deepEqual(yoloLines({ ...base, width: null, height: null, detections: [], error: { code: 'DECODE_FAILED', message: '' } }), []);
});

function synthetic() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-export-'));
  const det = (cls, name, conf, x1, y1, x2, y2) => ({ name, class: cls, confidence: conf, box: { x1, y1, x2, y2 } });
  const recs = [
    { path: '/data/set/0042.jpg', width: 200, height: 100, detections: [det(0, 'a&b <c>', 0.9, 10.4, 20.6, 50, 60), det(2, 'car', 0.5, 0, 0, 10, 10)], error: null },
    { path: '/data/set/0007.png', width: 64, height: 64, detections: [], error: null },
    { path: '/data/set/0099.jpg', width: null, height: null, detections: [], error: { code: 'DECODE_FAILED', message: 'x' } },
  ];
  fs.writeFileSync(path.join(dir, 'r.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

test('export voc/yolo/coco/coco-dataset: read back, ids, escaping, refusals', async () => {
  const dir = synthetic();
  const res = path.join(dir, 'r.jsonl');

  const voc = await runCli(['export', res, '--to', 'voc', '--out', path.join(dir, 'voc')]);
  assert.equal(voc.code, 0, voc.stderr);
  assert.match(voc.stderr, /exported 2 images, 2 detections as voc .* \(2 files\)\n  note: 1 failed images/);
  const xml = fs.readFileSync(path.join(dir, 'voc', '0042.xml'), 'utf8');
  const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const objects = [...xml.matchAll(/<object>[\s\S]*?<name>(.*?)<\/name>[\s\S]*?<xmin>(\d+)<\/xmin>\s*<ymin>(\d+)<\/ymin>\s*<xmax>(\d+)<\/xmax>\s*<ymax>(\d+)<\/ymax>/g)].map((m) => [unescape(m[1]), ...m.slice(2).map(Number)]);
  assert.deepEqual(objects, [
    ['a&b <c>', 10, 21, 50, 60],
    ['car', 0, 0, 10, 10],
  ]);
  assert.match(xml, /<size><width>200<\/width><height>100<\/height><depth>3<\/depth><\/size>/);
  assert.ok(!/<name>a&b/.test(xml), 'the name is escaped');
  assert.ok(fs.existsSync(path.join(dir, 'voc', '0007.xml')), 'VOC writes a file for an image without objects');
  const again = await runCli(['export', res, '--to', 'voc', '--out', path.join(dir, 'voc')]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds \.xml files; pass --overwrite/);

  const yolo = await runCli(['export', res, '--to', 'yolo', '--out', path.join(dir, 'yolo'), '--with-conf']);
  assert.equal(yolo.code, 0, yolo.stderr);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'yolo')), ['0042.txt']);
  assert.equal(fs.readFileSync(path.join(dir, 'yolo', '0042.txt'), 'utf8'), '0 0.151 0.403 0.198 0.394 0.9\n2 0.025 0.05 0.05 0.1 0.5\n');

  const coco = await runCli(['export', res, '--to', 'coco', '--out', path.join(dir, 'res.json')]);
  assert.equal(coco.code, 0, coco.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'res.json'), 'utf8')), [
    { image_id: 42, category_id: 0, bbox: [10.4, 20.6, 39.6, 39.4], score: 0.9 },
    { image_id: 42, category_id: 2, bbox: [0, 0, 10, 10], score: 0.5 },
  ]);
  const list = JSON.parse(fs.readFileSync(path.join(dir, 'res.images.json'), 'utf8'));
  assert.deepEqual(list.images, [
    { id: 7, file_name: '0007.png', width: 64, height: 64 },
    { id: 42, file_name: '0042.jpg', width: 200, height: 100 },
  ]);
  assert.equal((await runCli(['export', res, '--to', 'coco', '--out', path.join(dir, 'res.json')])).code, 2, 'an existing file needs --overwrite');

  // With a ground-truth file: its image ids (by file name) and category ids (by name).
  const gt = {
    images: [
      { id: 501, file_name: 'set/0042.jpg', width: 200, height: 100 },
      { id: 502, file_name: '0007.png', width: 64, height: 64 },
    ],
    annotations: [],
    categories: [
      { id: 3, name: 'car' },
      { id: 9, name: 'a&b <c>' },
    ],
  };
  fs.writeFileSync(path.join(dir, 'gt.json'), JSON.stringify(gt));
  const withGt = await runCli(['export', res, '--to', 'coco', '--out', path.join(dir, 'res-gt.json'), '--gt', path.join(dir, 'gt.json')]);
  assert.equal(withGt.code, 0, withGt.stderr);
  assert.deepEqual(
    JSON.parse(fs.readFileSync(path.join(dir, 'res-gt.json'), 'utf8')).map((a) => [a.image_id, a.category_id]),
    [
      [501, 9],
      [501, 3],
    ],
  );

  const ds = await runCli(['export', res, '--to', 'coco-dataset', '--out', path.join(dir, 'ds.json')]);
  assert.equal(ds.code, 0, ds.stderr);
  const d = JSON.parse(fs.readFileSync(path.join(dir, 'ds.json'), 'utf8'));
  assert.deepEqual(d.categories, [
    { id: 0, name: 'a&b <c>' },
    { id: 2, name: 'car' },
  ]);
  assert.deepEqual(
    d.annotations.map((a) => [a.id, a.image_id, a.category_id, a.iscrowd, a.area]),
    [
      [1, 42, 0, 0, 1560.24],
      [2, 42, 2, 0, 100],
    ],
  );
  assert.equal(d.images.length, 2);

  // Two images with one stem cannot share a label file.
  fs.appendFileSync(res, JSON.stringify({ path: '/data/other/0042.jpg', width: 10, height: 10, detections: [], error: null }) + '\n');
  const clash = await runCli(['export', res, '--to', 'yolo', '--out', path.join(dir, 'yolo2')]);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /both be written to .*0042\.txt/);
  const bad = await runCli(['export', res, '--to', 'pascal', '--out', path.join(dir, 'x')]);
  assert.equal(bad.code, 2);
});

test('round trip on a real run: batch --save-txt labels and exports, read back by eval, give mAP 1', async (t) => {
  if (!requireShared(t)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-roundtrip-'));
  const images = fs.readdirSync(coco128Dir).filter((f) => f.endsWith('.jpg')).sort().slice(20, 32).map((f) => path.join(coco128Dir, f));
  const manifest = path.join(dir, 'images.txt');
  fs.writeFileSync(manifest, images.join('\n') + '\n');
  const results = path.join(dir, 'r.jsonl');
  const saved = path.join(dir, 'saved');
  const run = await runCli(['batch', manifest, '--model', path.join(modelsDir, 'yolo11n_int8_320.onnx'), '--out', results, '--save-txt', saved, '--quiet', '--no-progress']);
  assert.equal(run.code, 0, run.stderr);

  // export --to yolo writes exactly what batch --save-txt wrote.
  const exported = path.join(dir, 'exported');
  assert.equal((await runCli(['export', results, '--to', 'yolo', '--out', exported, '-q'])).code, 0);
  const files = fs.readdirSync(saved).sort();
  assert.ok(files.length > 6, `labels for most images (${files.length})`);
  assert.deepEqual(fs.readdirSync(exported).sort(), files);
  for (const f of files) assert.equal(fs.readFileSync(path.join(exported, f), 'utf8'), fs.readFileSync(path.join(saved, f), 'utf8'), f);

  const perfect = (j) => {
    for (const k of ['mAP', 'mAP50', 'mAP75', 'AR100']) assert.ok(Math.abs(j.coco[k] - 1) < 1e-9, `${k} ${j.coco[k]}`);
    assert.equal(j.at_threshold.fp, 0);
  };
  const fromTxt = await runCli(['eval', results, '--labels', saved, '--json']);
  assert.equal(fromTxt.code, 0, fromTxt.stderr);
  perfect(JSON.parse(fromTxt.stdout));
  const ds = path.join(dir, 'ds.json');
  assert.equal((await runCli(['export', results, '--to', 'coco-dataset', '--out', ds, '-q'])).code, 0);
  const fromCoco = await runCli(['eval', results, '--labels', ds, '--json']);
  assert.equal(fromCoco.code, 0, fromCoco.stderr);
  perfect(JSON.parse(fromCoco.stdout));

  // A stale label from an earlier run is removed when the image now has no detections.
  const noDets = images.find((p) => !fs.existsSync(path.join(saved, path.basename(p).replace(/\.jpg$/, '.txt'))));
  if (noDets) {
    const stale = path.join(saved, path.basename(noDets).replace(/\.jpg$/, '.txt'));
    fs.writeFileSync(stale, '0 0.5 0.5 0.1 0.1\n');
    const rerun = await runCli(['batch', manifest, '--model', path.join(modelsDir, 'yolo11n_int8_320.onnx'), '--out', results, '--overwrite', '--save-txt', saved, '--quiet', '--no-progress']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(!fs.existsSync(stale), 'stale label removed');
  }
  const usage = await runCli(['batch', manifest, '--model', path.join(modelsDir, 'yolo11n_int8_320.onnx'), '--out', path.join(dir, 'x.jsonl'), '--save-conf']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--save-conf needs --save-txt/);
});
