// Run report building blocks: the streaming latency histogram, the summary (build, text, merge,
// parse, atomic write) and the progress reporters. No model or image needed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { LatencyHistogram } from '../dist/metrics/histogram.js';
import { StageHistograms } from '../dist/metrics/recorder.js';
import { ResultTally } from '../dist/metrics/tally.js';
import { STAGES } from '../dist/metrics/stages.js';
import { buildSummary, formatSummaryText, mergeSummaries, parseSummary, SUMMARY_SCHEMA } from '../dist/metrics/summary.js';
import { writeSummaryFile } from '../dist/metrics/summary-file.js';
import { Bar, StatusLines, chooseProgressMode, createProgress, formatDuration, formatStatusLine, NO_PROGRESS } from '../dist/metrics/progress.js';

/** Deterministic PRNG (mulberry32) so a failure can be reproduced. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lognormal latencies in ms (median ~20 ms, long right tail), like real per-image timings. */
function lognormal(n, seed) {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - r();
    const v = r();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    out[i] = Math.exp(Math.log(20) + 0.9 * z);
  }
  return out;
}

/** Nearest-rank percentile of sorted values: the smallest value with at least p% at or below it. */
function exactPercentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const PCTS = [50, 90, 95, 99];

// ---------------------------------------------------------------------------------------------
describe('LatencyHistogram', () => {
  const values = lognormal(100_000, 42);
  const sorted = Float64Array.from(values).sort();
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);

  test('percentiles of 100k lognormal values are within 1% of the exact ones', () => {
    assert.equal(h.count, 100_000);
    for (const p of PCTS) {
      const exact = exactPercentile(sorted, p);
      const got = h.percentile(p);
      const rel = Math.abs(got - exact) / exact;
      assert.ok(rel <= 0.01, `p${p}: histogram ${got} vs exact ${exact} (${(rel * 100).toFixed(3)}%)`);
    }
  });

  test('mean, max and sum are exact (kept beside the histogram)', () => {
    const sum = values.reduce((a, b) => a + b, 0);
    const st = h.stats();
    assert.equal(st.count, 100_000);
    assert.ok(Math.abs(st.sum - sum) <= 0.001, `sum ${st.sum} vs ${sum}`);
    assert.ok(Math.abs(st.mean - sum / values.length) <= 0.001);
    assert.equal(st.max, Math.round(sorted[sorted.length - 1] * 1000) / 1000);
    assert.ok(st.p50 <= st.p90 && st.p90 <= st.p95 && st.p95 <= st.p99 && st.p99 <= st.max);
  });

  test('values below 2.048 ms are exact to the microsecond, larger ones within 0.1%; p100 never exceeds the true max', () => {
    const s = new LatencyHistogram();
    for (const v of [0.01, 0.5, 2.047, 7.3, 12345.678]) s.record(v);
    assert.equal(s.percentile(20), 0.01);
    assert.equal(s.percentile(40), 0.5);
    assert.equal(s.percentile(60), 2.047);
    // 7300 µs lies in the 4 µs-wide bucket 7300..7303; HdrHistogram reports the bucket's top.
    assert.equal(s.percentile(80), 7.303);
    // 12345.678 ms falls in a bucket whose top is above it: clamped to the recorded max.
    assert.equal(s.percentile(100), 12345.678);
    assert.equal(s.stats().max, 12345.678);
  });

  test('ten minutes and beyond still record; negative and NaN count as zero', () => {
    const s = new LatencyHistogram();
    s.record(600_000);
    s.record(3_600_000);
    s.record(-5);
    s.record(Number.NaN);
    assert.equal(s.count, 4);
    assert.equal(s.percentile(50), 0);
    assert.ok(Math.abs(s.percentile(75) - 600_000) / 600_000 < 0.001);
    assert.equal(s.stats().max, 3_600_000);
  });

  test('an empty histogram has null statistics', () => {
    const st = new LatencyHistogram().stats();
    assert.deepEqual(st, { count: 0, mean: null, p50: null, p90: null, p95: null, p99: null, max: null, sum: 0 });
  });

  test('encode/decode round-trips; merging two halves equals one histogram fed all values', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    values.forEach((v, i) => (i % 2 === 0 ? a : b).record(v));
    const ra = LatencyHistogram.decode(a.encode(), a.stats().sum, a.stats().max);
    assert.deepEqual(ra.stats(), a.stats());
    const merged = new LatencyHistogram();
    merged.add(ra);
    merged.add(LatencyHistogram.decode(b.encode(), b.stats().sum, b.stats().max));
    for (const p of [...PCTS, 99.9]) assert.equal(merged.percentile(p), h.percentile(p), `p${p}`);
    const { sum: mergedSum, ...m } = merged.stats();
    const { sum: allSum, ...all } = h.stats();
    assert.deepEqual(m, all);
    assert.ok(Math.abs(mergedSum - allSum) <= 0.002);
    assert.ok(a.encode().length < 20_000, 'the encoding stays small');
  });

  test('decode rejects a string that is not a histogram', () => {
    assert.throws(() => LatencyHistogram.decode('not a histogram', 0, 0));
  });
});

// ---------------------------------------------------------------------------------------------
const det = (cls, name) => ({ name, class: cls, confidence: 0.9, box: { x1: 0, y1: 0, x2: 1, y2: 1 } });
const ok = (i, dets) => ({ index: i, path: `/img/${i}.jpg`, width: 10, height: 10, detections: dets, error: null });
const bad = (i, code) => ({ index: i, path: `/img/${i}.jpg`, width: null, height: null, detections: [], error: { code, message: code } });

describe('ResultTally', () => {
  test('counts failures by code and detections by class, most frequent first', () => {
    const t = new ResultTally();
    t.add(ok(0, [det(2, 'car'), det(0, 'person'), det(2, 'car')]));
    t.add(bad(1, 'DECODE_FAILED'));
    t.add(ok(2, [det(0, 'person'), det(5, 'bus')]));
    t.add(bad(3, 'NOT_FOUND'));
    t.add(bad(4, 'DECODE_FAILED'));
    t.add(ok(5, [det(1, 'bicycle'), det(0, 'person')]));
    assert.equal(t.ok, 3);
    assert.equal(t.failed, 3);
    assert.equal(t.detections, 7);
    assert.deepEqual(t.failuresByCode(), { DECODE_FAILED: 2, NOT_FOUND: 1 });
    assert.deepEqual(t.perClass(), [
      { class: 0, name: 'person', count: 3 },
      { class: 2, name: 'car', count: 2 },
      { class: 1, name: 'bicycle', count: 1 },
      { class: 5, name: 'bus', count: 1 },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
const VERSIONS = { yolo_serve: '0.1.0', onnxruntime: '1.30.0', node: '20.0.0' };
const MODEL = {
  path: 'models/yolo11n.onnx',
  sha256: 'ab'.repeat(32),
  size_bytes: 1000,
  layout: 'xywh-classes',
  input: { name: 'images', dtype: 'float32', shape: [1, 3, 640, 640] },
  output: { name: 'output0', dtype: 'float32', shape: [1, 84, 8400] },
  imgsz: [640, 640],
  classes: 80,
  names_source: 'metadata',
  dtype: 'float32',
  dynamic_batch: false,
  dynamic_spatial: false,
  end2end: false,
  task: 'detect',
  stride: 32,
};
const DEVICE = { requested: 'auto', used: 'cpu', provider: 'CPUExecutionProvider', fallbacks: [{ device: 'cuda', reason: 'not installed', tried: false }] };

/** A summary of `results`, with stage timings derived from each image's index so they are known. */
function summaryOf(results, { start = '2025-01-01T00:00:00.000Z', wallMs = 10_000, skipped = 0, model = MODEL } = {}) {
  const tally = new ResultTally();
  const stages = new StageHistograms();
  for (const r of results) {
    tally.add(r);
    stages.record('read_decode', 1 + r.index);
    stages.record('end_to_end', 0.1 * (r.index + 1));
    if (!r.error) stages.record('inference_image', 50 + r.index);
  }
  return buildSummary({
    startedAt: new Date(start),
    wallMs,
    startupMs: 1500,
    exitCode: tally.failed > 0 ? 1 : 0,
    images: { total: results.length, ok: tally.ok, failed: tally.failed, skipped, notStarted: 0 },
    detections: tally.detections,
    tally,
    stages,
    model,
    device: DEVICE,
    parallelism: { batch: 1, workers: 2, threads: 1, decode_concurrency: 4 },
    settings: { conf: 0.25, iou: 0.7, max_det: 300, classes: null, agnostic_nms: false, max_pixels: 268402689 },
    output: { path: 'out.jsonl', format: 'jsonl' },
    versions: VERSIONS,
  });
}

function sampleResults() {
  const names = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light'];
  return Array.from({ length: 20 }, (_, i) => {
    if (i % 7 === 3) return bad(i, i === 3 ? 'NOT_FOUND' : 'DECODE_FAILED');
    return ok(i, Array.from({ length: i % 4 }, (_, k) => det((i + k) % 10, names[(i + k) % 10])));
  });
}

describe('buildSummary', () => {
  test('fills every field with the run values', () => {
    const s = summaryOf(sampleResults(), { skipped: 3 });
    assert.equal(s.schema, SUMMARY_SCHEMA);
    assert.equal(s.schema, 1);
    assert.equal(s.tool, 'yolo-serve');
    assert.deepEqual(s.versions, VERSIONS);
    assert.equal(s.started_at, '2025-01-01T00:00:00.000Z');
    assert.equal(s.ended_at, '2025-01-01T00:00:10.000Z');
    assert.equal(s.wall_s, 10);
    assert.equal(s.startup_s, 1.5);
    // i in 3, 10, 17 failed: 17 ok + 3 failed written in 10 s.
    assert.deepEqual(s.images, { total: 20, ok: 17, failed: 3, skipped: 3, not_started: 0 });
    assert.equal(s.throughput_ips, 2);
    assert.deepEqual(s.failures, { DECODE_FAILED: 2, NOT_FOUND: 1 });
    assert.equal(s.exit_code, 1);
    assert.equal(s.interrupted, false);
    assert.equal(s.stop_reason, null);
    // detections: sum of i % 4 over ok images
    const expected = sampleResults().filter((r) => !r.error).reduce((a, r) => a + (r.index % 4), 0);
    assert.equal(s.detections.total, expected);
    assert.equal(s.detections.per_class.reduce((a, c) => a + c.count, 0), expected);
    assert.deepEqual(Object.keys(s.latency_ms), [...STAGES]);
    // end_to_end = 0.1, 0.2, … 2.0 ms (exact: below 2.048 ms). Nearest rank: p50 is the 10th
    // value, p90 the 18th, p95 the 19th, p99 the 20th.
    const e2e = s.latency_ms.end_to_end;
    assert.equal(e2e.count, 20);
    assert.equal(e2e.mean, 1.05);
    assert.equal(e2e.p50, 1);
    assert.equal(e2e.p90, 1.8);
    assert.equal(e2e.p95, 1.9);
    assert.equal(e2e.p99, 2);
    assert.equal(e2e.max, 2);
    assert.equal(e2e.sum, 21);
    assert.equal(typeof e2e.hdr, 'string');
    assert.equal(s.latency_ms.preprocess.count, 0);
    assert.equal(s.latency_ms.preprocess.p50, null);
    assert.deepEqual(s.histograms, { format: 'HdrHistogram V2 compressed, base64', unit: 'us', significant_digits: 3 });
    assert.equal(s.parts, 1);
    assert.deepEqual(s.warnings, []);
    // Survives JSON and parses back.
    assert.deepEqual(parseSummary(JSON.stringify(s), 's.json'), s);
  });

  test('the text report: counts line, failures, top classes, latency table', () => {
    const s = summaryOf(sampleResults(), { skipped: 1 });
    const text = formatSummaryText(s);
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      `yolo-serve: 20 images (17 ok, 3 failed, 1 non-image file skipped), ${s.detections.total} detections in 10.0s (2.0 images/s, cpu, 2×1 threads, batch 1)`,
    );
    assert.equal(lines[1], '  failures: DECODE_FAILED 2, NOT_FOUND 1');
    assert.match(lines[2], /^ {2}classes: (\w[\w ]* \d+, ){7}\w[\w ]* \d+, … 2 more classes$/);
    assert.equal(lines[3], '  model: yolo11n.onnx (xywh-classes, 640x640, 80 classes, float32, sha256 abababababab) · start-up 1.5s');
    assert.equal(lines[4], '  device: cpu (not available: cuda)');
    assert.equal(lines[5], '  latency (ms)        count     mean      p50      p90      p95      p99      max');
    assert.equal(lines[12], '  end to end             20     1.05     1.00     1.80     1.90     2.00     2.00');
    assert.equal(lines[7], '  preprocess              0        -        -        -        -        -        -');
    assert.equal(lines.length, 13);
  });
});

describe('mergeSummaries', () => {
  const all = sampleResults();
  const first = all.slice(0, 9);
  const second = all.slice(9);

  test('two halves merge into the summary of the whole for counts and percentiles', () => {
    const whole = summaryOf(all, { skipped: 3 });
    const a = summaryOf(first, { skipped: 1, start: '2025-01-01T00:00:00.000Z', wallMs: 4000 });
    const b = summaryOf(second, { skipped: 2, start: '2025-01-01T00:00:02.000Z', wallMs: 6000 });
    // Through JSON, as a merge reads them from files.
    const m = mergeSummaries([JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b))]);
    assert.deepEqual(m.images, whole.images);
    assert.deepEqual(m.failures, whole.failures);
    assert.deepEqual(m.detections, whole.detections);
    for (const stage of STAGES) {
      const { hdr: _h1, sum: s1, ...mm } = m.latency_ms[stage];
      const { hdr: _h2, sum: s2, ...ww } = whole.latency_ms[stage];
      assert.deepEqual(mm, ww, stage);
      assert.ok(Math.abs(s1 - s2) < 1e-6, stage);
    }
    // Wall span: 00:00:00 → 00:00:08, 20 images in 8 s.
    assert.equal(m.started_at, '2025-01-01T00:00:00.000Z');
    assert.equal(m.ended_at, '2025-01-01T00:00:08.000Z');
    assert.equal(m.wall_s, 8);
    assert.equal(m.throughput_ips, 2.5);
    assert.equal(m.exit_code, 1);
    assert.equal(m.parts, 2);
    assert.deepEqual(m.warnings, []);
    assert.equal(m.schema, 1);
    assert.match(formatSummaryText(m).split('\n')[0], /merged from 2 parts$/);
    // merging is associative with the single-part case
    assert.deepEqual(mergeSummaries([whole]).images, whole.images);
  });

  test('interrupted if any part was; a different model is a warning', () => {
    const a = summaryOf(first);
    const b = { ...summaryOf(second, { model: { ...MODEL, sha256: 'cd'.repeat(32) } }), interrupted: true, exit_code: 130 };
    const m = mergeSummaries([a, b]);
    assert.equal(m.interrupted, true);
    assert.equal(m.exit_code, 130);
    assert.equal(m.warnings.length, 1);
    assert.match(m.warnings[0], /^parts differ in model sha256: "abab.*" vs "cdcd.*"$/);
  });

  test('refuses an empty list and other schemas', () => {
    assert.throws(() => mergeSummaries([]), /no summaries/);
    assert.throws(() => mergeSummaries([{ ...summaryOf(first), schema: 2 }]), /schema 2/);
  });
});

describe('parseSummary', () => {
  test('rejects what is not a readable yolo-serve summary', () => {
    assert.throws(() => parseSummary('{', 'a.json'), /a\.json: not a JSON summary/);
    assert.throws(() => parseSummary('{"x":1}', 'a.json'), /not a yolo-serve run summary/);
    assert.throws(() => parseSummary('{"tool":"yolo-serve","schema":9}', 'a.json'), /schema 9 is not supported/);
    const s = summaryOf(sampleResults());
    delete s.latency_ms.postprocess;
    assert.throws(() => parseSummary(JSON.stringify(s), 'a.json'), /lacks the 'postprocess' histogram/);
  });
});

describe('writeSummaryFile', () => {
  test('writes the JSON atomically (no .tmp left) and to a stream for -', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yolo-serve-summary-'));
    try {
      const s = summaryOf(sampleResults());
      const file = path.join(dir, 'summary.json');
      fs.writeFileSync(file, 'old');
      await writeSummaryFile(file, s);
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), s);
      assert.deepEqual(fs.readdirSync(dir), ['summary.json']);
      let text = '';
      const sink = new Writable({ write(chunk, _enc, cb) { text += chunk; cb(); } });
      await writeSummaryFile('-', s, sink);
      assert.deepEqual(JSON.parse(text), s);
      await assert.rejects(writeSummaryFile(path.join(dir, 'missing', 'x.json'), s), /ENOENT/);
      assert.deepEqual(fs.readdirSync(dir), ['summary.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
/** A clock whose time and interval timers move only when the test says so. */
function fakeClock() {
  let now = 1000;
  const timers = new Map();
  let nextId = 1;
  return {
    now: () => now,
    setInterval(fn, ms) {
      const id = nextId++;
      timers.set(id, { fn, ms, due: now + ms });
      return id;
    },
    clearInterval(id) {
      timers.delete(id);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...timers.values()].filter((t) => t.due <= end).sort((a, b) => a.due - b.due)[0];
        if (!next) break;
        now = next.due;
        next.due += next.ms;
        next.fn();
      }
      now = end;
    },
    get active() {
      return timers.size;
    },
  };
}

function capture(isTTY = false) {
  const chunks = [];
  const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  stream.isTTY = isTTY;
  stream.columns = 120;
  return { stream, text: () => chunks.join('') };
}

describe('progress', () => {
  test('mode: bar on a terminal, lines otherwise, none with --no-progress or --quiet', () => {
    assert.equal(chooseProgressMode({ progress: 'auto', quiet: false, isTTY: true }), 'bar');
    assert.equal(chooseProgressMode({ progress: 'auto', quiet: false, isTTY: false }), 'lines');
    assert.equal(chooseProgressMode({ progress: 'off', quiet: false, isTTY: true }), 'off');
    assert.equal(chooseProgressMode({ progress: 'auto', quiet: true, isTTY: false }), 'off');
    assert.equal(createProgress('off', { stream: capture().stream, intervalSec: 1 }), NO_PROGRESS);
  });

  test('durations and the status line', () => {
    assert.equal(formatDuration(null), '?');
    assert.equal(formatDuration(9.4), '9s');
    assert.equal(formatDuration(164), '2m44s');
    assert.equal(formatDuration(3725), '1h02m');
    // 1200 of 5000 in 52 s: 23.08 img/s, 3800 left → 164.7 s
    assert.equal(formatStatusLine({ done: 1200, total: 5000, failed: 3, elapsedMs: 52_000 }), '[progress] 1200/5000 images (24%) 23.1 img/s, 3 failed, ETA 2m45s');
    assert.equal(formatStatusLine({ done: 0, total: 10, failed: 0, elapsedMs: 0 }), '[progress] 0/10 images (0%) 0.0 img/s, 0 failed, ETA ?');
  });

  test('status lines come every interval, with counts so far, and stop when stopped', () => {
    const clock = fakeClock();
    const out = capture();
    const p = new StatusLines(out.stream, 2, clock);
    p.start(10);
    clock.advance(1999);
    assert.equal(out.text(), '');
    p.update(false);
    p.update(true);
    clock.advance(1); // t = 2 s: 2 done → 1 img/s, 8 left
    p.update(false);
    p.update(false);
    clock.advance(2000); // t = 4 s: 4 done
    p.stop();
    assert.equal(clock.active, 0);
    clock.advance(10_000);
    assert.equal(
      out.text(),
      '[progress] 2/10 images (20%) 1.0 img/s, 1 failed, ETA 8s\n' + '[progress] 4/10 images (40%) 1.0 img/s, 1 failed, ETA 6s\n',
    );
  });

  test('the terminal bar draws done/total, rate, failures and ETA on its stream', () => {
    const clock = fakeClock();
    const out = capture(true);
    const bar = new Bar(out.stream, clock);
    bar.start(10);
    clock.advance(3000);
    bar.update(false);
    bar.update(true);
    bar.update(false);
    bar.stop();
    bar.stop(); // twice is harmless
    // cli-progress throttles redraws; the final state is drawn on stop before it is cleared.
    assert.match(out.text(), /3\/10 images 30% \| 1\.0 img\/s \| 1 failed \| ETA 7s/);
  });
});
