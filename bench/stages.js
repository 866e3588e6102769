#!/usr/bin/env node
// CPU cost of each pipeline stage alone, in ms per image: every stage runs in its own loop over
// the same images and process.cpuUsage() (all threads of this process, so libvips' and the
// worker's too) is read around it. CPU time, unlike images/s, hardly depends on what else the
// machine is doing, so a regression shows as a cost, not as noise.
//
//   node bench/stages.js [--images DIR] [--size 640] [--min-cpu-ms 400] [--reps 3]
//
// bench.js prints the same table next to the pipeline-ceiling row.
import { readFile } from 'node:fs/promises';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, listImages, median, parseArgs, table } from './util.js';
import { SYNTHETIC_ANCHORS, SYNTHETIC_CLASSES, syntheticOutput } from './synthetic.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** CPU ms per item of `body(i)` run over `count` items, repeated until `minCpuMs` of CPU is spent. */
async function cpuPerItem(count, body, minCpuMs) {
  let items = 0;
  const c0 = process.cpuUsage();
  let spent = 0;
  do {
    for (let i = 0; i < count; i++) await body(i);
    items += count;
    const d = process.cpuUsage(c0);
    spent = (d.user + d.system) / 1000;
  } while (spent < minCpuMs);
  return spent / items;
}

/** A worker that hands every message straight back (transferring the buffer back too). */
function echoWorker() {
  return new Worker(new URL(import.meta.url), { workerData: null });
}

/**
 * @param {object} o
 * @param {string[]} o.images  image files
 * @param {number} [o.size]    network input (square)
 * @param {number} [o.minCpuMs] CPU time each stage loop runs for at least
 * @param {number} [o.reps]    measurements per stage (median reported)
 * @param {(s: string) => void} [o.log]
 * @returns {Promise<{rows: {stage: string, what: string, cpuMs: number}[], text: string}>}
 */
export async function measureStages({ images, size = 640, minCpuMs = 400, reps = 3, log = () => {} }) {
  const sharp = (await import('sharp')).default;
  const { decodeBuffer } = await import(path.join(REPO, 'dist/preprocess/decode.js'));
  const { letterboxGeometry, letterboxInto } = await import(path.join(REPO, 'dist/preprocess/letterbox.js'));
  const { postprocessImage } = await import(path.join(REPO, 'dist/postprocess/index.js'));
  const { formatJsonlLine } = await import(path.join(REPO, 'dist/outputs/jsonl.js'));
  // The CLI's own libvips settings (commands/batch.ts).
  sharp.cache(false);
  sharp.concurrency(1);

  const files = await Promise.all(images.map((f) => readFile(f)));
  const decoded = [];
  for (const [i, buf] of files.entries()) {
    const d = await decodeBuffer(buf, images[i], { maxPixels: 0 });
    if (d.ok) decoded.push(d.image);
  }
  const geometries = decoded.map((img) => letterboxGeometry(img.width, img.height, size, size));
  const tensor = new Float32Array(3 * size * size);
  const output = syntheticOutput(size);
  const post = { conf: 0.25, iou: 0.7, maxDet: 300, classes: null, agnostic: false };
  const names = Array.from({ length: SYNTHETIC_CLASSES }, (_, i) => `class${i}`);
  const results = decoded.map((img, i) => ({
    index: i,
    path: images[i],
    width: img.width,
    height: img.height,
    detections: postprocessImage('xywh-classes', output, 4 + SYNTHETIC_CLASSES, SYNTHETIC_ANCHORS, geometries[i], post, names),
    error: null,
  }));

  const worker = echoWorker();
  await new Promise((resolve) => worker.once('online', resolve));
  let buffer = new ArrayBuffer(3 * size * size * 4);
  const roundTrip = (i) =>
    new Promise((resolve) => {
      worker.once('message', (m) => {
        buffer = m.input;
        resolve();
      });
      // The shapes pool.run and the worker exchange: the batch buffer and geometries out, the
      // buffer and one image's detections back.
      worker.postMessage({ type: 'run', id: i, count: 1, input: buffer, geometries: [geometries[i]], detections: [results[i].detections] }, [buffer]);
    });

  const stages = [
    ['read', 'fs.readFile of the file', () => cpuPerItem(images.length, (i) => readFile(images[i]), minCpuMs)],
    ['decode (plain sharp)', "sharp(buf).raw().toBuffer(): the pipeline-ceiling row's reference", () => cpuPerItem(files.length, (i) => sharp(files[i]).raw().toBuffer(), minCpuMs)],
    ['decode (yolo-serve)', 'decodeBuffer: autoOrient, sRGB, no alpha, 8-bit RGB', () => cpuPerItem(files.length, (i) => decodeBuffer(files[i], images[i], { maxPixels: 0 }), minCpuMs)],
    ['letterbox', `OpenCV-exact resize + pad + CHW float32 into the batch buffer (${size}×${size})`, () => cpuPerItem(decoded.length, (i) => letterboxInto(decoded[i], geometries[i], tensor, 0), minCpuMs)],
    ['postprocess', `candidates over ${SYNTHETIC_ANCHORS} anchors × ${SYNTHETIC_CLASSES} classes, NMS, scaling (${results[0]?.detections.length ?? 0} boxes)`, () => cpuPerItem(decoded.length, (i) => postprocessImage('xywh-classes', output, 4 + SYNTHETIC_CLASSES, SYNTHETIC_ANCHORS, geometries[i], post, names), minCpuMs)],
    ['messages', 'batch buffer to an inference worker and detections back (both threads)', () => cpuPerItem(decoded.length, roundTrip, minCpuMs)],
    ['json', 'one JSONL line (formatJsonlLine)', () => cpuPerItem(results.length, (i) => formatJsonlLine(results[i]), minCpuMs)],
  ];
  const rows = [];
  try {
    for (const [stage, what, measure] of stages) {
      const samples = [];
      for (let r = 0; r < reps; r++) samples.push(await measure());
      const cpuMs = median(samples);
      rows.push({ stage, what, cpuMs, samples });
      log(`stage ${stage}: ${fmt(cpuMs, 3)} CPU ms/image (${samples.map((s) => fmt(s, 3)).join(', ')})`);
    }
  } finally {
    await worker.terminate();
  }
  const ours = ['read', 'decode (yolo-serve)', 'letterbox', 'postprocess', 'messages', 'json'];
  const sum = rows.filter((r) => ours.includes(r.stage)).reduce((a, r) => a + r.cpuMs, 0);
  const text =
    `CPU ms per image by stage (${decoded.length} images, each stage alone, median of ${reps}; process.cpuUsage over all threads):\n\n` +
    table(['stage', 'CPU ms/image', 'what'], [...rows.map((r) => [r.stage, fmt(r.cpuMs, 3), r.what]), ['sum of yolo-serve stages', fmt(sum, 3), 'everything but the model']]);
  return { rows, sum, text };
}

async function cli() {
  const args = parseArgs(process.argv.slice(2), {
    images: { type: 'string', default: path.resolve(REPO, '..', 'shared', 'images', 'coco128') },
    size: { type: 'number', default: 640 },
    minCpuMs: { type: 'number', default: 400 },
    reps: { type: 'number', default: 3 },
  });
  const res = await measureStages({ images: listImages(args.images), size: args.size, minCpuMs: args.minCpuMs, reps: args.reps, log: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${res.text}\n`);
}

if (!isMainThread) {
  parentPort.on('message', (m) => parentPort.postMessage({ type: 'result', id: m.id, input: m.input, detections: m.detections, inferMs: 0, postMs: 0 }, [m.input]));
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((err) => {
    process.stderr.write(`stages: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
