// The run report end to end: `yolo-serve batch` as a subprocess on a dozen real images, checking
// the --summary JSON against the output file, the stderr text, non-TTY progress lines (and their
// absence with --no-progress / --quiet, and on stdout), and that the summaries of two halves
// merge into the counts of the whole run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

import { DEFAULTS } from '../dist/config.js';
import { mergeSummaries, parseSummary } from '../dist/metrics/summary.js';
import { STAGES } from '../dist/metrics/stages.js';
import { repoRoot, requireShared, runCli, sharedDir } from './helpers/cli.js';

const modelPath = path.join(sharedDir, 'models', 'yolov8n_int8_640.onnx');
const MODEL_SHA256 = '0954f7cb88ffd28436fc5c259be598c11bdbc8d96a6977669af5de75736e9fdf';
const pkgVersion = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
const ortVersion = createRequire(import.meta.url)('onnxruntime-node/package.json').version;



// Records only: a results file's first line is its provenance header.
const readJsonl = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => !r.yolo_serve);
const PROGRESS_LINE = /^\[progress\] \d+\/13 images \(\d+%\) \d+\.\d img\/s, \d+ failed, ETA (\?|\d+s|\d+m\d\ds)$/;

let tmp;
let imagesDir;
let images;
let whole; // { summary, records, stderr, stdout, code }

before(async () => {
  if (!fs.existsSync(sharedDir)) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-report-'));
  imagesDir = path.join(tmp, 'images');
  fs.mkdirSync(imagesDir);
  const coco = path.join(sharedDir, 'images', 'coco128');
  for (const f of fs.readdirSync(coco).filter((f) => f.endsWith('.jpg')).sort().slice(0, 12)) fs.copyFileSync(path.join(coco, f), path.join(imagesDir, f));
  fs.writeFileSync(path.join(imagesDir, 'zz_broken.jpg'), 'this is text, not a JPEG\n'); // DECODE_FAILED
  fs.writeFileSync(path.join(imagesDir, 'notes.txt'), 'not an image\n'); // skipped
  images = fs.readdirSync(imagesDir).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(imagesDir, f));

  const out = path.join(tmp, 'whole.jsonl');
  const summaryPath = path.join(tmp, 'whole.summary.json');
  const r = await runCli(['batch', imagesDir, '--model', modelPath, '--out', out, '--summary', summaryPath, '--progress-interval', '0.1']);
  whole = { ...r, records: readJsonl(out), summary: parseSummary(fs.readFileSync(summaryPath, 'utf8'), summaryPath), summaryPath };
});
after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

test('summary JSON: counts match the output file, per-class counts match its detections', (t) => {
  if (!requireShared(t)) return;
  const { summary: s, records, code } = whole;
  assert.equal(code, 1, 'one image failed: exit 1');
  assert.equal(records.length, 13);
  assert.equal(s.schema, 1);
  assert.equal(s.tool, 'yolo-serve');
  assert.deepEqual(s.images, { total: 13, ok: 12, failed: 1, skipped: 1, not_started: 0 });
  assert.equal(s.images.ok, records.filter((r) => r.error === null).length);
  assert.deepEqual(s.failures, { DECODE_FAILED: 1 });
  assert.equal(records.at(-1).error.code, 'DECODE_FAILED');
  assert.equal(s.exit_code, 1);
  assert.equal(s.interrupted, false);
  assert.equal(s.stop_reason, null);

  const perClass = new Map();
  let total = 0;
  for (const r of records) {
    for (const d of r.detections) {
      total++;
      const key = `${d.class}:${d.name}`;
      perClass.set(key, (perClass.get(key) ?? 0) + 1);
    }
  }
  assert.ok(total > 20, `a dozen coco images give plenty of detections (${total})`);
  assert.equal(s.detections.total, total);
  assert.deepEqual(new Map(s.detections.per_class.map((c) => [`${c.class}:${c.name}`, c.count])), perClass);
  const counts = s.detections.per_class.map((c) => c.count);
  assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'most frequent class first');
});

test('summary JSON: latency percentiles per stage, ordered and consistent', (t) => {
  if (!requireShared(t)) return;
  const l = whole.summary.latency_ms;
  assert.deepEqual(Object.keys(l), [...STAGES]);
  // Every image is read (the broken one fails in decode); only the 12 good ones reach inference.
  assert.equal(l.read_decode.count, 13);
  assert.equal(l.preprocess.count, 12);
  assert.equal(l.queue_wait.count, 12);
  assert.equal(l.inference_batch.count, 12, 'a fixed-batch model runs one image per call');
  assert.equal(l.inference_image.count, 12);
  assert.equal(l.postprocess.count, 12);
  assert.equal(l.end_to_end.count, 13);
  for (const stage of STAGES) {
    const s = l[stage];
    assert.ok(s.p50 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max, `${stage}: ${JSON.stringify(s)}`);
    assert.ok(s.mean <= s.max && s.mean >= 0, stage);
    assert.ok(Math.abs(s.sum - s.mean * s.count) < 0.01 * s.count, stage);
    assert.equal(typeof s.hdr, 'string');
  }
  // An image's end-to-end time contains its inference.
  assert.ok(l.end_to_end.mean >= l.inference_image.mean, `e2e ${l.end_to_end.mean} < inference ${l.inference_image.mean}`);
  assert.ok(l.end_to_end.p50 >= l.inference_image.p50);
  assert.ok(l.inference_image.p50 > 1, 'a 640 model takes more than 1 ms per image on a CPU');
});

test('summary JSON: model, device, versions, timing', (t) => {
  if (!requireShared(t)) return;
  const s = whole.summary;
  assert.equal(s.model.path, modelPath);
  assert.equal(s.model.sha256, MODEL_SHA256);
  assert.equal(s.model.size_bytes, 3504059);
  assert.equal(s.model.layout, 'xywh-classes');
  assert.deepEqual(s.model.imgsz, [640, 640]);
  assert.equal(s.model.classes, 80);
  assert.equal(s.model.names_source, 'metadata');
  assert.equal(s.model.dtype, 'float32');
  assert.equal(s.model.dynamic_batch, false);
  assert.deepEqual(s.model.input, { name: 'images', dtype: 'float32', shape: [1, 3, 640, 640] });
  assert.deepEqual(s.model.output, { name: 'output0', dtype: 'float32', shape: [1, 84, 8400] });
  assert.equal(s.device.requested, 'auto');
  assert.ok(['cpu', 'cuda', 'webgpu'].includes(s.device.used));
  assert.match(s.device.provider, /ExecutionProvider$/);
  assert.equal(s.parallelism.batch, 1);
  assert.ok(s.parallelism.workers >= 1 && s.parallelism.threads >= 1);
  assert.deepEqual(s.settings, { conf: 0.25, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, max_pixels: DEFAULTS.maxPixels });
  assert.deepEqual(s.versions, { yolo_serve: pkgVersion, onnxruntime: ortVersion, node: process.versions.node });
  const start = Date.parse(s.started_at);
  const end = Date.parse(s.ended_at);
  assert.ok(end > start);
  assert.ok(Math.abs((end - start) / 1000 - s.wall_s) <= 0.002);
  assert.ok(s.startup_s > 0 && s.startup_s < s.wall_s);
  assert.ok(Math.abs(s.throughput_ips - 13 / s.wall_s) < 0.01);
  assert.equal(s.parts, 1);
  assert.ok(!fs.existsSync(`${whole.summaryPath}.tmp`));
});

test('stderr: status lines every --progress-interval when not a TTY, then the text summary; stdout untouched', (t) => {
  if (!requireShared(t)) return;
  const { stderr, stdout, summary: s } = whole;
  assert.equal(stdout, '');
  const lines = stderr.split('\n');
  const progress = lines.filter((l) => l.startsWith('[progress]'));
  assert.ok(progress.length >= 2, `expected several status lines at 0.1 s, got:\n${stderr}`);
  for (const l of progress) assert.match(l, PROGRESS_LINE);
  const first = lines.findIndex((l) => l.startsWith('yolo-serve: 13 images'));
  assert.equal(
    lines[first],
    `yolo-serve: 13 images (12 ok, 1 failed, 1 non-image file skipped), ${s.detections.total} detections in ${s.wall_s.toFixed(1)}s ` +
      `(${s.throughput_ips.toFixed(1)} images/s, ${s.device.used}, ${s.parallelism.workers}×${s.parallelism.threads} threads, batch 1)`,
  );
  assert.ok(lines.slice(0, first).some((l) => l.startsWith('[progress]')), 'progress comes before the summary');
  assert.ok(!lines.slice(first).some((l) => l.startsWith('[progress]')), 'no progress after the summary');
  assert.equal(lines[first + 1], '  failures: DECODE_FAILED 1');
  assert.match(stderr, /\n {2}latency \(ms\) +count +mean +p50 +p90 +p95 +p99 +max\n {2}read\+decode +13 /);
});

test('halves: --no-progress and --quiet print no status lines; their summaries merge into the whole run', async (t) => {
  if (!requireShared(t)) return;
  const half = Math.ceil(images.length / 2);
  const manifests = [images.slice(0, half), images.slice(half)].map((list, i) => {
    const p = path.join(tmp, `half${i}.txt`);
    fs.writeFileSync(p, list.join('\n') + '\n');
    return p;
  });
  const s0 = path.join(tmp, 'half0.summary.json');
  const s1 = path.join(tmp, 'half1.summary.json');
  // Half 0: results on stdout, no progress. Half 1: --quiet. Both with a short interval, so
  // status lines would certainly show if they were not suppressed.
  const [a, b] = [
    await runCli(['batch', manifests[0], '--model', modelPath, '--out', '-', '--summary', s0, '--no-progress', '--progress-interval', '0.1']),
    await runCli(['batch', manifests[1], '--model', modelPath, '--out', path.join(tmp, 'half1.jsonl'), '--summary', s1, '--quiet', '--progress-interval', '0.1']),
  ];
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 1, b.stderr);
  const [header, ...stdoutLines] = a.stdout.split('\n').filter(Boolean);
  assert.ok(JSON.parse(header).yolo_serve, 'stdout starts with the provenance header');
  assert.equal(stdoutLines.length, half);
  for (const l of stdoutLines) assert.ok(JSON.parse(l).path.startsWith(imagesDir), 'stdout holds only result records');
  assert.doesNotMatch(a.stderr, /\[progress\]/);
  assert.doesNotMatch(b.stderr, /\[progress\]/);
  assert.match(a.stderr, /(^|\n)yolo-serve: 7 images \(7 ok, 0 failed\), \d+ detections/);
  // --quiet: the summary is all there is.
  assert.match(b.stderr, /^yolo-serve: 6 images \(5 ok, 1 failed\), \d+ detections/);

  const parts = [s0, s1].map((p) => parseSummary(fs.readFileSync(p, 'utf8'), p));
  const merged = mergeSummaries(parts);
  const w = whole.summary;
  assert.deepEqual(merged.images, { ...w.images, skipped: 0 }, 'manifests list only images: nothing skipped');
  assert.deepEqual(merged.failures, w.failures);
  assert.deepEqual(merged.detections, w.detections);
  for (const stage of STAGES) assert.equal(merged.latency_ms[stage].count, w.latency_ms[stage].count, stage);
  assert.equal(merged.parts, 2);
  assert.deepEqual(merged.warnings, []);
  assert.equal(merged.started_at, parts[0].started_at);
  assert.equal(merged.ended_at, parts[1].ended_at);
});
