// Big photos and --fast-decode: a dozen coco128 images upscaled to ~12 megapixels (phone/drone
// photo size) in a temporary folder, then, side by side:
//   - decode CPU ms per image, exact (full decode) vs --fast-decode (shrink-on-load);
//   - yolo-serve images/s on those files with and without --fast-decode;
//   - what it does to detections: the exact path's boxes matched by the fast path (same class,
//     IoU ≥ 0.5) and AP50 of both against the coco128 labels (normalised, so valid at any size).
// Upscaled pictures are smoother than real 12 MP photos, so their JPEGs are smaller and a bit
// cheaper to decode; the speed-up is of the same kind on real photos.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ap50, matchDetections, readYoloLabels } from '../test/helpers/detection-metrics.js';
import { measureServe } from './serve.js';
import { fmt, linkFolder, removeDir, table } from './util.js';

/** `count` images of `images` upscaled to about `megapixels` MP, written as JPEG into `dir`. */
export async function makeBigImages(images, dir, { count = 12, megapixels = 12 } = {}) {
  const out = [];
  for (const src of images.slice(0, count)) {
    const m = await sharp(src).metadata();
    const scale = Math.sqrt((megapixels * 1e6) / (m.width * m.height));
    const file = path.join(dir, path.basename(src).replace(/\.\w+$/, '.jpg'));
    const [width, height] = [Math.round(m.width * scale), Math.round(m.height * scale)];
    await sharp(src).resize(width, height, { kernel: 'lanczos3' }).jpeg({ quality: 90 }).toFile(file);
    const labels = path.join(path.dirname(src), 'labels', path.basename(src).replace(/\.\w+$/, '.txt'));
    out.push({ file, width, height, labels: existsSync(labels) ? labels : null });
  }
  return out;
}

/** CPU ms per image of decodeBuffer over `files`, with or without fast decode, for `minCpuMs` at least. */
async function decodeCpu(files, reduceJpeg, minCpuMs = 1500) {
  const { decodeBuffer } = await import('../dist/preprocess/decode.js');
  const bufs = await Promise.all(files.map((f) => readFile(f)));
  let n = 0;
  const c0 = process.cpuUsage();
  let spent = 0;
  do {
    for (const b of bufs) {
      const d = await decodeBuffer(b, 'big', { maxPixels: 0, reduceJpeg });
      if (!d.ok) throw new Error(d.error.message);
      n++;
    }
    const d = process.cpuUsage(c0);
    spent = (d.user + d.system) / 1000;
  } while (spent < minCpuMs);
  return spent / n;
}

const asMetric = (d) => ({ cls: d.class, conf: d.confidence, box: [d.box.x1, d.box.y1, d.box.x2, d.box.y2] });

/** The first `n` records of a JSONL results file (the distinct images, in input order). */
async function firstRecords(file, n) {
  const { readJsonlResults } = await import('../dist/outputs/read-results.js');
  const out = [];
  for await (const r of readJsonlResults(file)) {
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

/**
 * @returns {Promise<{rows, text, decode: {exact, fast}, serve: {exact, fast}, matched, apExact, apFast}>}
 */
export async function measureBig({ big, model, netSize, seconds, work, log }) {
  sharp.cache(false);
  sharp.concurrency(1);
  const { fastDecodeFor } = await import('../dist/preprocess/fast-decode.js');
  const files = big.map((b) => b.file);
  const exactCpu = await decodeCpu(files, null);
  const fastCpu = await decodeCpu(files, fastDecodeFor(netSize, netSize));
  log(`12 MP decode: exact ${fmt(exactCpu)} CPU ms/image, --fast-decode ${fmt(fastCpu)} (${fmt(exactCpu / fastCpu, 1)}×)`);

  const serve = {};
  const records = {};
  // Enough copies for about `seconds` of the exact path (~1 decode per 1.5 × its CPU cost on 2 cores).
  const copies = Math.max(1, Math.round((seconds * 1000) / (exactCpu * 1.5) / big.length));
  const count = copies * big.length;
  const dir = linkFolder(files, count, 'big');
  try {
    for (const [label, extra] of [['exact', []], ['fast', ['--fast-decode']]]) {
      const out = path.join(work, `big-${label}.jsonl`);
      serve[label] = await measureServe({ args: [dir, '--model', model, ...extra], out, expected: count });
      records[label] = await firstRecords(out, big.length);
      log(`yolo-serve on ${count} 12 MP images, ${label}: ${fmt(serve[label].ips)} images/s, ${fmt(serve[label].cpuMsPerImage)} CPU ms/image`);
    }
  } finally {
    removeDir(dir);
  }

  let matched = 0;
  let exactBoxes = 0;
  let fastBoxes = 0;
  const preds = { exact: [], fast: [] };
  const gts = [];
  for (let i = 0; i < big.length; i++) {
    const e = records.exact[i].detections.map(asMetric);
    const f = records.fast[i].detections.map(asMetric);
    matched += matchDetections(f, e, { iouThr: 0.5 }).matched.length;
    exactBoxes += e.length;
    fastBoxes += f.length;
    preds.exact.push(e);
    preds.fast.push(f);
    gts.push(big[i].labels ? readYoloLabels(big[i].labels, big[i].width, big[i].height) : []);
  }
  const apExact = ap50(preds.exact, gts).map50;
  const apFast = ap50(preds.fast, gts).map50;
  const rows = [
    ['decode, CPU ms/image', fmt(exactCpu), fmt(fastCpu), `${fmt(exactCpu / fastCpu, 1)}×`],
    ['yolo-serve images/s', fmt(serve.exact.ips), fmt(serve.fast.ips), `${fmt(serve.fast.ips / serve.exact.ips, 2)}×`],
    ['yolo-serve CPU ms/image', fmt(serve.exact.cpuMsPerImage), fmt(serve.fast.cpuMsPerImage), `${fmt(serve.exact.cpuMsPerImage / serve.fast.cpuMsPerImage, 1)}×`],
    ['boxes', String(exactBoxes), String(fastBoxes), `${matched} of the exact path's matched (IoU ≥ 0.5, same class)`],
    ['mAP50 vs coco128 labels', fmt(apExact, 3), fmt(apFast, 3), `${apFast >= apExact ? '+' : ''}${fmt(apFast - apExact, 3)}`],
  ];
  const text =
    `### --fast-decode on ${big.length} coco128 images upscaled to ~12 MP (${big[0]?.width}×${big[0]?.height} and similar), ${path.basename(model)}\n\n` +
    table(['measurement', 'exact', '--fast-decode', 'change'], rows);
  return { rows, text, decode: { exact: exactCpu, fast: fastCpu }, serve, matched, exactBoxes, fastBoxes, apExact, apFast };
}
