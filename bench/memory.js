// Memory check: peak RSS of yolo-serve on a small and a large number of distinct images must be
// about the same (the pipeline is bounded; only the input list grows with the image count).
// With a real model (bench.js --memory) the images are symlinks cycling over a folder. The
// synthetic variant (--memory-synthetic: a 320×320 model with a constant output and almost no
// compute, and generated JPEGs of about 640×480) needs no data and runs at ~200 images/s; its
// process is small (~200 MB), so the ±10 MB by which garbage-collection timing of decoded
// pixel buffers moves the peak is a visible share of it.
import path from 'node:path';
import sharp from 'sharp';
import { writeModel, ultralyticsMetadata } from '../test/helpers/onnx-builder.js';
import { measureServe } from './serve.js';
import { fmt, linkFolder, makeTempDir, removeDir, table } from './util.js';

const SIZE = 320;

/** A [1,3,320,320] → [1,84,128] model whose anchor 0 is a 0.9 class-0 box. */
function tinyModel(dir) {
  const n = 128;
  const values = new Float32Array(84 * n);
  values[0 * n] = 32;
  values[1 * n] = 32;
  values[2 * n] = 20;
  values[3 * n] = 20;
  values[4 * n] = 0.9;
  const file = path.join(dir, `synthetic_${SIZE}.onnx`);
  writeModel(file, { outputDims: [84, n], values, height: SIZE, width: SIZE, metadata: ultralyticsMetadata({ imgsz: [SIZE, SIZE] }) });
  return file;
}

/** `count` distinct JPEGs around 640×480, in both orientations (patterned, so decoding is real work). */
async function makeImages(dir, count) {
  const files = [];
  for (let i = 0; i < count; i++) {
    const [w, h] = i % 4 === 3 ? [480, 640] : [640 - (i % 5) * 16, 480 - (i % 3) * 24];
    const raw = Buffer.alloc(w * h * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (j * 31 + i * 17 + ((j * j) >> 7)) & 255;
    const file = path.join(dir, `img${String(i).padStart(3, '0')}.jpg`);
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
    files.push(file);
  }
  return files;
}

export async function memoryCheck({ counts, realModel, realImages, log }) {
  const work = makeTempDir('memory');
  const dirs = [];
  try {
    let model;
    let images;
    if (realModel) {
      model = realModel;
      images = realImages;
    } else {
      model = tinyModel(work);
      images = await makeImages(work, 64);
    }
    log(`memory check: ${realModel ? path.basename(model) : `synthetic ${SIZE}×${SIZE} model, 64 generated JPEGs of about 640×480`}, runs of ${counts.join(' and ')} distinct paths (symlinks)`);
    const rows = [];
    const results = [];
    for (const count of counts) {
      const dir = linkFolder(images, count, `mem${count}`);
      dirs.push(dir);
      const out = path.join(work, `out-${count}.jsonl`);
      const r = await measureServe({ args: [dir, '--model', model], out, expected: count });
      results.push({ count, ...r });
      rows.push([`${count} images`, fmt(r.ips), fmt(r.totalS), fmt(r.peakRssMb)]);
      log(`  ${count} images: ${fmt(r.peakRssMb)} MB peak RSS (${r.rssSource}), ${fmt(r.ips)} images/s`);
    }
    const base = results[0];
    const big = results[results.length - 1];
    const growth = big.peakRssMb / base.peakRssMb - 1;
    const pass = growth <= 0.1;
    const text =
      table(['run', 'images/s', 'wall s', 'peak RSS MB'], rows) +
      `\n\npeak RSS growth ${counts[0]} → ${counts[counts.length - 1]} images: ${(growth * 100).toFixed(1)}% (target ≤ 10%): ${pass ? 'PASS' : 'FAIL'}`;
    return { text, growth, pass, results };
  } finally {
    for (const d of dirs) removeDir(d);
    removeDir(work);
  }
}
