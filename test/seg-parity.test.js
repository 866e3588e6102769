// Acceptance for segmentation: the CLI on all 128 coco128 images with both real 80-class seg
// models (yolo11n-seg_int8_640: [1,116,8400] + protos; yolo26n-seg_int8_e2e_640: end-to-end
// [1,300,38] + protos) against the expected boxes and masks of an independent re-implementation
// of Ultralytics' recipe (test/fixtures/coco128-*.seg.expected.json, made by
// scripts/make-seg-fixture.js from test/helpers/ultralytics-seg-reference.js).
// Boxes: ≥ 99% matched both ways (same class, IoU ≥ 0.9). Masks (COCO RLE at the image size,
// --mask-format rle): IoU ≥ 0.95 for ≥ 95% of matched instances. Figures print as diagnostics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeMask, maskIou } from './helpers/coco-rle.js';
import { matchDetections } from './helpers/detection-metrics.js';
import { coco128Dir, modelsDir, parseJsonl, repoRoot, requireShared, runCli } from './helpers/cli.js';

const pct = (x) => `${(100 * x).toFixed(2)}%`;

for (const model of ['yolo11n-seg_int8_640', 'yolo26n-seg_int8_e2e_640']) {
  test(`coco128 × ${model}: boxes and masks match the Ultralytics segmentation reference`, async (t) => {
    if (!requireShared(t)) return;
    const fixture = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', `coco128-${model}.seg.expected.json`), 'utf8'));
    assert.equal(fixture.model, `${model}.onnx`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-seg-parity-'));
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const out = path.join(tmp, 'seg.jsonl');
    const run = await runCli(['batch', coco128Dir, '--model', path.join(modelsDir, `${model}.onnx`), '--out', out, '--mask-format', 'rle', '-q'], { timeoutMs: 400_000 });
    assert.equal(run.code, 0, run.stderr);
    const records = parseJsonl(fs.readFileSync(out, 'utf8'));
    const names = Object.keys(fixture.images).sort();
    assert.equal(records.length, 128);
    assert.deepEqual(records.map((r) => path.basename(r.path)), names);

    let matched = 0;
    let ours = 0;
    let refs = 0;
    const ious = [];
    for (const r of records) {
      const name = path.basename(r.path);
      const want = fixture.images[name];
      assert.equal(r.error, null, name);
      assert.deepEqual([r.width, r.height], [want.width, want.height], name);
      const a = r.detections.map((d) => ({ cls: d.class, conf: d.confidence, box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2], rle: d.rle }));
      const m = matchDetections(a, want.detections, { iouThr: 0.9 });
      ours += a.length;
      refs += want.detections.length;
      matched += m.matched.length;
      for (const p of m.matched) {
        assert.deepEqual(p.ours.rle.size, [r.height, r.width]);
        ious.push(maskIou(decodeMask(p.ours.rle.counts, r.width, r.height), decodeMask(p.ref.rle, r.width, r.height)));
      }
    }
    const good = ious.filter((v) => v >= 0.95).length / ious.length;
    const sorted = [...ious].sort((x, y) => x - y);
    t.diagnostic(`boxes: CLI ${ours}, reference ${refs}, matched ${matched} (${pct(matched / ours)} of CLI, ${pct(matched / refs)} of reference)`);
    t.diagnostic(`masks: ${ious.length} matched instances, IoU >= 0.95 for ${pct(good)}; median ${sorted[Math.floor(sorted.length / 2)].toFixed(4)}, lowest ${sorted[0].toFixed(4)}`);
    assert.ok(matched / ours >= 0.99 && matched / refs >= 0.99, 'boxes below 99% matched');
    assert.ok(good >= 0.95, `only ${pct(good)} of matched masks have IoU >= 0.95`);
  });
}
