#!/usr/bin/env node
// `npm run bench`: how close yolo-serve gets to the model's own speed on this machine.
//
// For each model, on the same images, in one run:
//   1. bare ORT   — session.run on one pre-made input tensor, in several session × thread
//                   configurations; the best one is the ceiling;
//   2. naive loop — what a user writes first (sequential sharp letterbox → run → NMS → JSON);
//   3. yolo-serve — the CLI as a subprocess writing JSONL, processing rate (start-up apart) and
//                   peak RSS;
// and the ratios 3/1 (target ≥ 0.90) and 3/2 (target ≥ 1.4).
// `--annotate` adds row 3a, yolo-serve with --save-annotated, measured interleaved with 3, and the
// ratio 3a/3 (target ≥ 0.87: drawing costs at most 15%).
// `--memory` instead compares yolo-serve's peak RSS on 500 and 10,000 images (target ≤ 10%).
//
// Timings on a shared machine are noisy: --rounds N repeats every measurement N times,
// interleaved, and reports medians; CPU ms per image is printed as a load-independent check.
import { availableParallelism, loadavg } from 'node:os';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureBare } from './bare.js';
import { memoryCheck } from './memory.js';
import { measureNaive } from './naive.js';
import { measureServe } from './serve.js';
import { fmt, linkFolder, listImages, makeTempDir, median, parseArgs, removeDir, table } from './util.js';

const LOAD_AT_START = loadavg();
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(REPO, '..', 'shared');
const DEFAULT_MODELS = ['yolov8n_int8_640.onnx', 'yolo11n_int8_320.onnx'].map((m) => path.join(SHARED, 'models', m));
const DEFAULT_IMAGES = path.join(SHARED, 'images', 'coco128');
// ~100 images/s on 2 cores, so 10,000 images take under two minutes.
const MEMORY_MODEL = path.join(SHARED, 'models', 'yolo11n_int8_320.onnx');

const HELP = `usage: npm run bench -- [options]

  --model PATH        model to measure (repeatable; default: ../shared yolov8n_int8_640 and yolo11n_int8_320)
  --images DIR        image folder (default: ../shared/images/coco128)
  --repeat N          copies of the image list yolo-serve processes (default: enough for --seconds)
  --seconds S         target length of each yolo-serve run (default 20)
  --bare-seconds S    length of each bare ORT measurement (default 6)
  --rounds N          repeat all measurements N times, interleaved, and report medians (default 1)
  --json FILE         also write the raw measurements as JSON
  --annotate          also run yolo-serve with --save-annotated (row 3a, ratio 3a/3, target ≥ 0.87),
                      alternating which of the two runs first in each round
  --memory            memory check instead: yolo-serve's peak RSS on 500 vs 10,000 distinct paths
                      (symlinks cycling over --images) with yolo11n_int8_320 or the first --model;
                      about 2 minutes on 2 cores. Without ../shared it runs --memory-synthetic.
  --memory-synthetic  the same with a synthetic 320×320 model and generated 640×480 JPEGs (faster)
  --memory-counts A,B image counts for the memory check (default 500,10000)
`;

const args = parseArgs(process.argv.slice(2), {
  model: { type: 'string', multiple: true, default: DEFAULT_MODELS },
  images: { type: 'string', default: DEFAULT_IMAGES },
  repeat: { type: 'number', default: 0 },
  seconds: { type: 'number', default: 20 },
  bareSeconds: { type: 'number', default: 6 },
  rounds: { type: 'number', default: 1 },
  json: { type: 'string', default: null },
  annotate: { type: 'boolean', default: false },
  memory: { type: 'boolean', default: false },
  memorySynthetic: { type: 'boolean', default: false },
  memoryCounts: { type: 'string', default: '500,10000' },
  help: { type: 'boolean', default: false },
});

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!existsSync(path.join(REPO, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does it)');
  const cores = availableParallelism();
  log(`machine: ${cores} cores, load average ${LOAD_AT_START.map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);

  if (args.memory || args.memorySynthetic) {
    const counts = args.memoryCounts.split(',').map(Number);
    const model = args.model === DEFAULT_MODELS ? MEMORY_MODEL : args.model[0];
    const real = !args.memorySynthetic && existsSync(model) && existsSync(args.images);
    if (!real && !args.memorySynthetic) log(`${model} or ${args.images} not found: using the synthetic model and images`);
    const res = await memoryCheck({ counts, realModel: real ? model : null, realImages: real ? listImages(args.images) : null, log });
    process.stdout.write(`\n${res.text}\n`);
    if (args.json) writeFileSync(args.json, JSON.stringify(res, null, 2));
    return;
  }

  for (const m of args.model) if (!existsSync(m)) throw new Error(`model ${m} not found${args.model === DEFAULT_MODELS ? ' (the defaults live in ../shared): pass --model PATH and --images DIR' : ''}`);
  if (!existsSync(args.images)) throw new Error(`image folder ${args.images} not found: pass --images DIR`);
  const images = listImages(args.images);
  if (images.length === 0) throw new Error(`no images in ${args.images}`);
  const all = [];
  for (const model of args.model) {
    const res = await benchModel(model, images, cores);
    all.push(res);
    process.stdout.write(`\n${res.text}\n`);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(all, null, 2));
}

function bareConfigs(cores) {
  const configs = [{ sessions: 1, threads: 'default', label: '1 session, ORT default options' }];
  const add = (sessions, threads) => {
    if (!configs.some((c) => c.sessions === sessions && c.threads === threads)) configs.push({ sessions, threads, label: `${sessions} session${sessions > 1 ? 's' : ''} × ${threads} thread${threads > 1 ? 's' : ''}` });
  };
  add(1, cores);
  add(1, 1);
  add(cores, 1);
  if (cores >= 4) add(cores / 2 >= 2 ? Math.floor(cores / 2) : 1, 2);
  return configs;
}

async function benchModel(model, images, cores) {
  const { resolveModel } = await import('../dist/model/resolve.js');
  const { decodeImage } = await import('../dist/preprocess/decode.js');
  const { letterboxToTensor } = await import('../dist/preprocess/letterbox.js');
  const info = await resolveModel(model);
  const [h, w] = info.imgsz;
  if (info.inputType !== 'float32') throw new Error(`${model}: the bench handles float32-input models only`);
  const decoded = await decodeImage(images[0], { maxPixels: 0 });
  if (!decoded.ok) throw new Error(decoded.error.message);
  const { tensor } = letterboxToTensor(decoded.image, w, h);
  const name = path.basename(model);
  log(`\n== ${name} (input ${h}×${w}, ${images.length} images from ${args.images})`);

  const work = makeTempDir('run');
  const configs = bareConfigs(cores);
  const bare = configs.map(() => []);
  const naive = [];
  const serve = [];
  const annotated = [];
  let linkDir = null;
  let linkCount = 0;
  try {
    for (let round = 1; round <= args.rounds; round++) {
      if (args.rounds > 1) log(`-- round ${round}/${args.rounds}`);
      for (const [i, c] of configs.entries()) {
        const r = await measureBare({ model, inputName: info.inputName, dims: [1, 3, h, w], input: tensor, sessions: c.sessions, threads: c.threads, seconds: args.bareSeconds });
        bare[i].push(r);
        log(`bare ORT, ${c.label}: ${fmt(r.ips)} images/s (${fmt(r.msPerRun)} ms/run, ${fmt(r.cpuMsPerImage)} CPU ms/image)`);
      }
      const n = await measureNaive({ model, images, size: w, inputName: info.inputName, out: path.join(work, 'naive.jsonl'), minSeconds: Math.min(10, args.seconds / 2) });
      naive.push(n);
      log(`naive loop: ${fmt(n.ips)} images/s over ${n.images} images (${fmt(n.cpuMsPerImage)} CPU ms/image)`);

      if (!linkDir) {
        const ceiling = Math.max(...bare.map((b) => b[0].ips));
        const copies = args.repeat > 0 ? args.repeat : Math.max(1, Math.ceil((args.seconds * ceiling) / images.length));
        linkCount = copies * images.length;
        linkDir = linkFolder(images, linkCount, 'images');
      }
      const plain = async () => {
        const s = await measureServe({ args: [linkDir, '--model', model], out: path.join(work, 'serve.jsonl'), expected: linkCount });
        serve.push(s);
        log(`yolo-serve: ${fmt(s.ips)} images/s over ${linkCount} images (${fmt(s.cpuMsPerImage)} CPU ms/image), start-up ${fmt(s.startupS, 2)} s, peak RSS ${fmt(s.peakRssMb, 0)} MB`);
        log(`  ${s.summary}`);
      };
      const drawing = async () => {
        const dir = path.join(work, 'annotated');
        removeDir(dir);
        const s = await measureServe({ args: [linkDir, '--model', model, '--save-annotated', dir], out: path.join(work, 'serve-annotated.jsonl'), expected: linkCount });
        annotated.push(s);
        log(`yolo-serve --save-annotated: ${fmt(s.ips)} images/s (${fmt(s.cpuMsPerImage)} CPU ms/image), peak RSS ${fmt(s.peakRssMb, 0)} MB`);
      };
      // Alternate the order so neither run always gets the quieter minute.
      const order = args.annotate ? (round % 2 === 1 ? [plain, drawing] : [drawing, plain]) : [plain];
      for (const run of order) await run();
    }
  } finally {
    removeDir(linkDir);
    removeDir(work);
  }

  const bareMed = configs.map((c, i) => ({ ...c, ips: median(bare[i].map((r) => r.ips)), cpuMs: median(bare[i].map((r) => r.cpuMsPerImage)), msPerRun: median(bare[i].map((r) => r.msPerRun)) }));
  const best = bareMed.reduce((a, b) => (b.ips > a.ips ? b : a));
  const naiveIps = median(naive.map((r) => r.ips));
  const serveIps = median(serve.map((r) => r.ips));
  const r31 = serveIps / best.ips;
  const perRound31 = serve.map((sv, k) => sv.ips / Math.max(...bare.map((b) => b[k].ips)));
  const perRound32 = serve.map((sv, k) => sv.ips / naive[k].ips);
  const r32 = serveIps / naiveIps;
  // The issue sets the targets for 640-input models; at 320 decoding is a larger share of the work.
  const targeted = h === 640 && w === 640;
  const verdict = (ratio, target) => (targeted ? `(target ≥ ${target}: ${ratio >= target ? 'PASS' : 'FAIL'})` : `(the ≥ ${target} target is set for 640-input models)`);
  const rows = [
    ...bareMed.map((b) => [`1. bare ORT, ${b.label}${b === best ? ' (best: ceiling)' : ''}`, fmt(b.ips), fmt(b.cpuMs), '']),
    ['2. naive loop (sharp letterbox → run → NMS → JSON)', fmt(naiveIps), fmt(median(naive.map((r) => r.cpuMsPerImage))), ''],
    [`3. yolo-serve batch (${linkCount} images, JSONL)`, fmt(serveIps), fmt(median(serve.map((r) => r.cpuMsPerImage))), fmt(median(serve.map((r) => r.peakRssMb)), 0)],
    ...(annotated.length > 0 ? [['3a. yolo-serve batch --save-annotated', fmt(median(annotated.map((r) => r.ips))), fmt(median(annotated.map((r) => r.cpuMsPerImage))), fmt(median(annotated.map((r) => r.peakRssMb)), 0)]] : []),
  ];
  const r3a = annotated.length > 0 ? median(annotated.map((r) => r.ips)) / serveIps : null;
  const perRound3a = annotated.map((a, k) => a.ips / serve[k].ips);
  const roundsNote = args.rounds > 1 ? `, medians of ${args.rounds} rounds` : '';
  const text =
    `### ${name} (${h}×${w}), ${path.basename(args.images)}: ${images.length} images, ${availableParallelism()} cores${roundsNote}\n\n` +
    table(['measurement', 'images/s', 'CPU ms/image', 'peak RSS MB'], rows) +
    `\n\nyolo-serve start-up (spawn → first result): ${fmt(median(serve.map((r) => r.startupS)), 2)} s; ${serve[0]?.summary.replace(/^yolo-serve: /, '') ?? ''}\n` +
    `3/1 (yolo-serve / best bare ORT) = ${fmt(r31, 2)}  ${verdict(r31, 0.9)}\n` +
    `3/2 (yolo-serve / naive loop)    = ${fmt(r32, 2)}  ${verdict(r32, 1.4)}\n` +
    (r3a !== null ? `3a/3 (--save-annotated / plain)   = ${fmt(r3a, 2)}  (target ≥ 0.87, at most 15% slower: ${r3a >= 0.87 ? 'PASS' : 'FAIL'})${annotated.length > 1 ? `; per round ${perRound3a.map((r) => fmt(r, 2)).join(', ')}` : ''}\n` : '') +
    (args.rounds > 1 ? `per round (each from measurements taken within a minute of each other): 3/1 ${perRound31.map((r) => fmt(r, 2)).join(', ')}; 3/2 ${perRound32.map((r) => fmt(r, 2)).join(', ')}\n` : '') +
    // The bench itself keeps every core busy, so only the load seen before it started says
    // whether something else was competing.
    `load average before the bench: ${LOAD_AT_START.map((l) => l.toFixed(2)).join(' ')}${LOAD_AT_START[0] > 0.5 ? ' (other processes were running: figures are noisy, ratios less so)' : ''}\n`;
  return { model: name, imgsz: [h, w], images: images.length, serveImages: linkCount, bare: configs.map((c, i) => ({ ...c, runs: bare[i] })), naive, serve, annotated, ratio31: r31, ratio32: r32, ratio3a: r3a, text };
}

main().catch((err) => {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
