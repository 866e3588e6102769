// `yolo-serve diff`: pairing rules, synthetic files with known differences (JSONL against CSV,
// retries, images in one file only, failures), the --fail-if gate, and two real models' runs on
// 12 coco128 images (yolov8n JSONL against yolo11n CSV), plus a merged shard output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { pairDetections } from '../dist/evaluate/diff.js';
import { coco128Dir, modelsDir, requireShared, runCli, withoutHeader } from './helpers/cli.js';

const det = (cls, conf, x1, y1, x2, y2, name = `c${cls}`) => ({ name, class: cls, confidence: conf, box: { x1, y1, x2, y2 } });
const rec = (p, detections, error = null) => ({ path: p, width: error ? null : 100, height: error ? null : 100, detections, error });
const jsonl = (records) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
function csv(records) {
  const rows = ['path,width,height,class,name,confidence,x1,y1,x2,y2,error'];
  for (const r of records) {
    if (r.error) rows.push(`${r.path},,,,,,,,,,${r.error.code}: ${r.error.message}`);
    else if (r.detections.length === 0) rows.push(`${r.path},${r.width},${r.height},,,,,,,,`);
    else for (const d of r.detections) rows.push([r.path, r.width, r.height, d.class, d.name, d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2, ''].join(','));
  }
  return rows.join('\n') + '\n';
}

test('pairing: same class only, best IoU first, each detection used once', () => {
  const olds = [det(0, 0.9, 0, 0, 10, 10), det(0, 0.8, 1, 0, 11, 10), det(1, 0.5, 50, 50, 60, 60)];
  const news = [det(0, 0.9, 1, 0, 11, 10), det(2, 0.5, 50, 50, 60, 60)];
  const p = pairDetections(olds, news, 0.5);
  assert.deepEqual(
    p.pairs.map(({ o, n }) => [o, n]),
    [[1, 0]],
  ); // the exact overlap wins over the higher-confidence neighbour
  assert.deepEqual(p.removed, [0, 2]);
  assert.deepEqual(p.added, [1]); // a class change is a removal plus an addition
});

test('synthetic runs: counts, moved, only-in-one, failures, retries, JSONL vs CSV, gate', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-diff-'));
  const a = det(0, 0.9, 10, 10, 50, 50);
  const b = det(1, 0.7, 60, 60, 90, 90);
  const old = [
    rec('/d/1.jpg', [a, b]), // unchanged (confidence moves a little)
    rec('/d/2.jpg', [a]), // a moves a bit (IoU ≈ 0.82) and b appears
    rec('/d/3.jpg', [a, b]), // b disappears
    rec('/d/4.jpg', [], { code: 'DECODE_FAILED', message: 'x' }), // failed, then a retry below: last record wins
    rec('/d/4.jpg', [a]),
    rec('/d/5.jpg', [a]), // fails in NEW
    rec('/d/old-only.jpg', []),
  ];
  const moved = det(0, 0.9, 14, 10, 54, 50);
  const neu = [
    rec('/d/1.jpg', [{ ...a, confidence: 0.88 }, b]),
    rec('/d/2.jpg', [moved, b]),
    rec('/d/3.jpg', [a]),
    rec('/d/4.jpg', [a]),
    rec('/d/5.jpg', [], { code: 'DECODE_FAILED', message: 'y' }),
    rec('/d/new-only.jpg', [a]),
  ];
  fs.writeFileSync(path.join(dir, 'old.jsonl'), jsonl(old));
  fs.writeFileSync(path.join(dir, 'new.csv'), csv(neu));
  const r = await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'new.csv'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.images, { compared: 5, unchanged: 2, changed: 3, changed_fraction: 0.6, only_old: 1, only_new: 1, status_changed: 1 });
  assert.deepEqual(j.detections, { old: 7, new: 6, matched: 5, moved: 1, added: 1, removed: 2 });
  assert.ok(Math.abs(j.confidence.max_abs_delta - 0.02) < 1e-9);
  assert.deepEqual(
    j.most_changed.map((e) => [e.path, e.added, e.removed, e.moved, e.status]),
    [
      ['/d/5.jpg', 0, 1, 0, 'newly failed'],
      ['/d/2.jpg', 1, 0, 1, 'ok'],
      ['/d/3.jpg', 0, 1, 0, 'ok'],
    ],
  );
  assert.deepEqual(
    j.per_class.map((c) => [c.class, c.old, c.new, c.added, c.removed, c.moved]),
    [
      [0, 5, 4, 0, 1, 1],
      [1, 2, 2, 1, 1, 0],
    ],
  );
  assert.deepEqual([j.only_old_examples, j.only_new_examples], [['/d/old-only.jpg'], ['/d/new-only.jpg']]);

  const gate = await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'new.csv'), '--fail-if', 'changed-images>0.5']);
  assert.equal(gate.code, 1);
  assert.match(gate.stderr, /^yolo-serve: diff: --fail-if: changed-images 0\.6000 is above 0\.5000\n$/);
  assert.match(gate.stdout, /5 compared, 2 unchanged, 3 changed \(60\.0%\)/);
  assert.equal((await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'new.csv'), '--fail-if', 'changed-images>60%,removed>=3'])).code, 0);
  const bad = await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'new.csv'), '--fail-if', 'changed-images>>0.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fail-if: cannot read 'changed-images>>0.5'/);
  fs.writeFileSync(path.join(dir, 'other.jsonl'), jsonl([rec('/e/1.jpg', [])]));
  const disjoint = await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'other.jsonl')]);
  assert.equal(disjoint.code, 2);
  assert.match(disjoint.stderr, /no image in common/);
  fs.writeFileSync(path.join(dir, 'junk.jsonl'), 'hello\n');
  const junk = await runCli(['diff', path.join(dir, 'old.jsonl'), path.join(dir, 'junk.jsonl')]);
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /junk\.jsonl: not a yolo-serve results file/);
});

test('two real models on 12 coco128 images (yolov8n JSONL vs yolo11n CSV), a self-diff and a merged shard output', async (t) => {
  if (!requireShared(t)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ys-diff-real-'));
  const images = fs.readdirSync(coco128Dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, 12).map((f) => path.join(coco128Dir, f));
  const manifest = path.join(dir, 'images.txt');
  fs.writeFileSync(manifest, images.join('\n') + '\n');
  const v8 = path.join(dir, 'v8.jsonl');
  const y11 = path.join(dir, 'y11.csv');
  for (const [model, out] of [['yolov8n_int8_640.onnx', v8], ['yolo11n_int8_640.onnx', y11]]) {
    const run = await runCli(['batch', manifest, '--model', path.join(modelsDir, model), '--out', out, '--quiet', '--no-progress']);
    assert.equal(run.code, 0, run.stderr);
  }
  const r = await runCli(['diff', v8, y11, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // Every detection is either paired or added/removed, in total and per class.
  const count = (file) => {
    const text = withoutHeader(fs.readFileSync(file, 'utf8')); // the provenance line first
    return file.endsWith('.csv') ? text.trim().split('\n').slice(1).filter((l) => !/,,,,,,,,$/.test(l)).length : text.trim().split('\n').reduce((n, l) => n + JSON.parse(l).detections.length, 0);
  };
  assert.equal(j.images.compared, 12);
  assert.equal(j.detections.old, count(v8));
  assert.equal(j.detections.new, count(y11));
  assert.equal(j.detections.matched + j.detections.removed, j.detections.old);
  assert.equal(j.detections.matched + j.detections.added, j.detections.new);
  for (const c of j.per_class) assert.equal(c.new - c.old, c.added - c.removed, `class ${c.name}`);
  assert.ok(j.images.changed > 0 && j.images.changed <= 12, 'two different models differ somewhere');
  assert.equal(j.images.unchanged + j.images.changed, 12);
  t.diagnostic(`yolov8n → yolo11n on 12 images: ${j.images.changed} images changed; detections ${j.detections.old} → ${j.detections.new}, ${j.detections.added} added, ${j.detections.removed} removed, ${j.detections.moved} moved`);

  const self = JSON.parse((await runCli(['diff', v8, v8, '--json'])).stdout);
  assert.equal(self.images.changed, 0);
  assert.equal(self.confidence.max_abs_delta, 0);

  // Shards written in a scrambled order and merged: the same as the unsharded run.
  // Each part keeps the run's provenance header (line 1): merge refuses parts without one.
  const [header, ...lines] = fs.readFileSync(v8, 'utf8').trim().split('\n');
  fs.writeFileSync(path.join(dir, 'p0.jsonl'), [header, ...lines.filter((_, i) => i % 2 === 1).reverse()].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'p1.jsonl'), [header, ...lines.filter((_, i) => i % 2 === 0)].join('\n') + '\n');
  const merged = path.join(dir, 'merged.csv');
  assert.equal((await runCli(['merge', merged, path.join(dir, 'p0.jsonl'), path.join(dir, 'p1.jsonl'), '--quiet'])).code, 0);
  const m = JSON.parse((await runCli(['diff', v8, merged, '--json', '--fail-if', 'changed-images>0'])).stdout);
  assert.equal(m.images.compared, 12);
  assert.equal(m.images.changed, 0);
  // A shard alone: the other half is "only in OLD".
  const half = JSON.parse((await runCli(['diff', v8, path.join(dir, 'p0.jsonl'), '--json'])).stdout);
  assert.deepEqual([half.images.compared, half.images.only_old], [6, 6]);
});
