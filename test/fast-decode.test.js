// --fast-decode (issue 11): which images are decoded reduced, that the reduced decode keeps the
// full upright size for geometry and records, and that detections on big photos stay close to
// the exact path's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

import { fastDecodeSize, MIN_SHRINK } from '../dist/preprocess/fast-decode.js';
import { decodeBuffer } from '../dist/preprocess/decode.js';
import { matchDetections } from './helpers/detection-metrics.js';
import { coco128Dir, modelsDir, parseJsonl, requireShared, runCli } from './helpers/cli.js';

/** A record's detection in the form test/helpers/detection-metrics.js compares. */
const asMetric = (d) => ({ cls: d.class, conf: d.confidence, box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2] });

/** A smooth, non-uniform RGB test picture of w×h encoded as `format`. */
async function picture(w, h, format = 'jpeg', orientation = 1) {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      raw[i] = (x * 255) / w;
      raw[i + 1] = (y * 255) / h;
      raw[i + 2] = ((x + y) * 7) & 255;
    }
  }
  let s = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  if (orientation !== 1) s = s.withMetadata({ orientation });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 90 }).toBuffer();
}

test('fastDecodeSize: only images that shrink at least MIN_SHRINK× are reduced, to their letterboxed size', () => {
  assert.equal(MIN_SHRINK, 3);
  assert.deepEqual(fastDecodeSize(4000, 3000, 640, 640), { width: 640, height: 480 });
  assert.deepEqual(fastDecodeSize(3000, 4000, 640, 640), { width: 480, height: 640 });
  assert.deepEqual(fastDecodeSize(1920, 1440, 640, 640), { width: 640, height: 480 }); // exactly 3×
  assert.equal(fastDecodeSize(1918, 1440, 640, 640), null); // just under 3× along the width
  assert.equal(fastDecodeSize(1280, 960, 640, 640), null); // 2×: sharp would not scale on load
  assert.equal(fastDecodeSize(640, 480, 640, 640), null);
  assert.deepEqual(fastDecodeSize(4000, 3000, 320, 320), { width: 320, height: 240 });
});

test('decodeBuffer with reduceJpeg: a big JPEG comes back at the chosen size with its full upright size; PNGs and small JPEGs are untouched', async () => {
  const choose = (w, h) => fastDecodeSize(w, h, 640, 640);
  const big = await decodeBuffer(await picture(2400, 1800), 'big.jpg', { maxPixels: 0, reduceJpeg: choose });
  assert.ok(big.ok);
  assert.deepEqual([big.image.width, big.image.height], [640, 480]);
  assert.deepEqual(big.reducedFrom, { width: 2400, height: 1800 });
  assert.equal(big.image.data.length, 640 * 480 * 3);
  // The reduced picture is the same picture: the horizontal red ramp survives.
  const red = (x, y) => big.image.data[(y * 640 + x) * 3];
  assert.ok(red(20, 240) < 20 && red(620, 240) > 230, `red ramp ${red(20, 240)} → ${red(620, 240)}`);

  // EXIF orientation 6 (stored 1800×2400, shown rotated 90°: upright 2400×1800): sizes are upright ones.
  const rotated = await decodeBuffer(await picture(1800, 2400, 'jpeg', 6), 'rot.jpg', { maxPixels: 0, reduceJpeg: choose });
  assert.ok(rotated.ok);
  assert.deepEqual(rotated.reducedFrom, { width: 2400, height: 1800 });
  assert.deepEqual([rotated.image.width, rotated.image.height], [640, 480]);

  const png = await decodeBuffer(await picture(2400, 1800, 'png'), 'big.png', { maxPixels: 0, reduceJpeg: choose });
  assert.ok(png.ok);
  assert.equal(png.reducedFrom, undefined);
  assert.deepEqual([png.image.width, png.image.height], [2400, 1800]);

  const small = await decodeBuffer(await picture(1280, 960), 'small.jpg', { maxPixels: 0, reduceJpeg: choose });
  assert.ok(small.ok);
  assert.equal(small.reducedFrom, undefined);
  assert.deepEqual([small.image.width, small.image.height], [1280, 960]);

  // The pixel limit still applies to the full image.
  const limited = await decodeBuffer(await picture(2400, 1800), 'big.jpg', { maxPixels: 1000 * 1000, reduceJpeg: choose });
  assert.equal(limited.ok, false);
  assert.equal(limited.error.code, 'TOO_LARGE');
});

test('batch --fast-decode on 12 MP photos: same image sizes in the records, boxes close to the exact path', async (t) => {
  if (!requireShared(t)) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-fast-decode-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const names = fs.readdirSync(coco128Dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, 4);
  for (const name of names) {
    const m = await sharp(path.join(coco128Dir, name)).metadata();
    const scale = Math.sqrt(12e6 / (m.width * m.height));
    await sharp(path.join(coco128Dir, name))
      .resize(Math.round(m.width * scale), Math.round(m.height * scale), { kernel: 'lanczos3' })
      .jpeg({ quality: 92 })
      .toFile(path.join(tmp, name));
  }
  const model = path.join(modelsDir, 'yolov8n_int8_640.onnx');
  const runs = {};
  for (const [label, extra] of [['exact', []], ['fast', ['--fast-decode']]]) {
    const out = path.join(tmp, `${label}.jsonl`);
    const run = await runCli(['batch', tmp, '--model', model, '--out', out, '--no-progress', ...extra], { timeoutMs: 240_000 });
    assert.equal(run.code, 0, run.stderr);
    runs[label] = parseJsonl(fs.readFileSync(out, 'utf8'));
  }
  assert.equal(runs.fast.length, names.length);
  let matched = 0;
  let total = 0;
  for (let i = 0; i < names.length; i++) {
    const [e, f] = [runs.exact[i], runs.fast[i]];
    assert.equal(f.path, e.path);
    assert.deepEqual([f.width, f.height], [e.width, e.height], 'the record carries the full size');
    assert.ok(f.width * f.height > 11e6);
    for (const d of f.detections) assert.ok(d.box.x2 <= f.width && d.box.y2 <= f.height, 'boxes in full-size pixels');
    const m = matchDetections(f.detections.map(asMetric), e.detections.map(asMetric), { iouThr: 0.5 });
    matched += m.matched.length;
    total += e.detections.length;
  }
  t.diagnostic(`fast-decode boxes matching the exact path's at IoU ≥ 0.5: ${matched}/${total}`);
  assert.ok(total > 0);
  assert.ok(matched / total >= 0.7, `${matched}/${total} matched`);
});
