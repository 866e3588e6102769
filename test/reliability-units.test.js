// Unit tests of the reliability modules: signal routing, error budget, resume planning (torn
// tails, last-record-wins), the guarded sink and the run guard's stop/drain/exit-code logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { handleStopSignals, SIGNAL_EXIT_CODES } from '../dist/reliability/signals.js';
import { ErrorBudget, MIN_RATE_SAMPLE, describeError } from '../dist/reliability/error-budget.js';
import { checkResumeFlags, planResume, selectRemaining, readRecordedState, describeResume, jsonlTail } from '../dist/reliability/resume.js';
import { GuardedSink, OutputError } from '../dist/reliability/guarded-sink.js';
import { RunGuard, EXIT_RUN_FAILED } from '../dist/reliability/run-guard.js';
import { formatJsonlLine, formatCsvRows, CSV_HEADER } from '../dist/outputs/index.js';
import { readCsvResults, scanResults } from '../dist/outputs/read-results.js';
import { formatHeaderLine } from '../dist/outputs/provenance.js';

// The provenance header every results file starts with (resume refuses files without one).
const PROV = {
  schema: 1,
  version: '0.1.0',
  task: 'detect',
  model: { file: 'm.onnx', sha256: 'a'.repeat(64), names_sha256: 'b'.repeat(64) },
  options: { conf: 0.25 },
};
const HEAD_J = formatHeaderLine({ provenance: PROV, mixed: [] }, 'jsonl');
const HEAD_C = formatHeaderLine({ provenance: PROV, mixed: [] }, 'csv');

const ok = (p, n = 1) => ({
  index: 0,
  path: p,
  width: 10,
  height: 10,
  detections: Array.from({ length: n }, (_, i) => ({ name: 'person', class: 0, confidence: 0.5, box: { x1: i, y1: 0, x2: i + 1, y2: 1 } })),
  error: null,
});
const bad = (p, code = 'DECODE_FAILED') => ({ index: 0, path: p, width: null, height: null, detections: [], error: { code, message: `${p}: broken` } });
const jobs = (...paths) => paths.map((p, index) => ({ index, path: p }));

class FakeProcess extends EventEmitter {
  pid = 4242;
  kills = [];
  kill(pid, signal) {
    this.kills.push([pid, signal]);
  }
}

async function tempDir() {
  return mkdtemp(path.join(tmpdir(), 'yolo-rel-'));
}

function memorySink() {
  const lines = [];
  let closed = 0;
  return {
    lines,
    get closed() {
      return closed;
    },
    format: 'jsonl',
    async write(r) {
      lines.push(r.path);
    },
    async close() {
      closed++;
    },
  };
}

const stderr = () => {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d) => (text += d));
  return { stream: s, text: () => text };
};

// ---------------------------------------------------------------- signals

test('signals: first SIGINT/SIGTERM goes to onFirst, any later one to onRepeat; dispose detaches', () => {
  const proc = new FakeProcess();
  const seen = [];
  const dispose = handleStopSignals(proc, { onFirst: (s) => seen.push(['first', s]), onRepeat: (s) => seen.push(['repeat', s]) });
  assert.equal(proc.listenerCount('SIGINT'), 1);
  assert.equal(proc.listenerCount('SIGTERM'), 1);
  proc.emit('SIGTERM');
  proc.emit('SIGINT');
  proc.emit('SIGTERM');
  assert.deepEqual(seen, [['first', 'SIGTERM'], ['repeat', 'SIGINT'], ['repeat', 'SIGTERM']]);
  dispose();
  dispose();
  assert.equal(proc.listenerCount('SIGINT'), 0);
  assert.equal(proc.listenerCount('SIGTERM'), 0);
  assert.deepEqual(SIGNAL_EXIT_CODES, { SIGINT: 130, SIGTERM: 143 });
});

// ---------------------------------------------------------------- error budget

test('error budget: --max-failures N trips on failure N+1, once, with the exact message', () => {
  const b = new ErrorBudget({ maxFailures: 2, maxFailureRate: null });
  assert.equal(b.record(ok('/a.jpg')), null);
  assert.equal(b.record(bad('/b.jpg')), null);
  assert.equal(b.record(bad('/c.jpg')), null);
  assert.equal(b.record(ok('/d.jpg')), null);
  const msg = b.record(bad('/e.jpg', 'NOT_FOUND'));
  assert.equal(msg, 'stopping: 3 of 5 images failed (60%), above --max-failures 2 — last error: NOT_FOUND: /e.jpg: broken');
  assert.equal(b.record(bad('/f.jpg')), null); // reported once
  assert.equal(b.exceededMessage, msg);
});

test('error budget: --max-failures 0 stops at the first failure', () => {
  const b = new ErrorBudget({ maxFailures: 0, maxFailureRate: null });
  assert.equal(b.record(ok('/a.jpg')), null);
  assert.match(b.record(bad('/b.jpg')), /^stopping: 1 of 2 images failed \(50%\), above --max-failures 0/);
});

test('error budget: the rate is judged only from MIN_RATE_SAMPLE images on', () => {
  assert.equal(MIN_RATE_SAMPLE, 20);
  const b = new ErrorBudget({ maxFailures: null, maxFailureRate: 0.05 });
  // 19 failures in a row: far above 5%, but the sample is too small to judge yet.
  for (let i = 0; i < 19; i++) assert.equal(b.record(bad(`/f${i}.jpg`)), null);
  assert.equal(
    b.record(bad('/f19.jpg')),
    'stopping: 20 of 20 images failed (100%), above --max-failure-rate 0.05 — last error: DECODE_FAILED: /f19.jpg: broken',
  );
});

test('error budget: at the rate exactly is within budget; above it trips (12 of 40 = 30%)', () => {
  const b = new ErrorBudget({ maxFailures: null, maxFailureRate: 0.3 });
  for (let i = 0; i < 28; i++) assert.equal(b.record(ok(`/o${i}.jpg`)), null);
  for (let i = 0; i < 12; i++) assert.equal(b.record(bad(`/f${i}.jpg`)), null); // 12/40 = 0.3, not above
  assert.match(b.record(bad('/g.jpg')), /^stopping: 13 of 41 images failed \(32%\), above --max-failure-rate 0\.3 — /);

  const tight = new ErrorBudget({ maxFailures: null, maxFailureRate: 0.05 });
  for (let i = 0; i < 28; i++) tight.record(ok(`/o${i}.jpg`));
  assert.equal(tight.record(bad('/f1.jpg')), null); // 1 of 29 = 3.4%
  assert.match(tight.record(bad('/f2.jpg')), /^stopping: 2 of 30 images failed \(6\.7%\), above --max-failure-rate 0\.05 — /);
});

test('error budget: a rate breach is found at the first failure that crosses it', () => {
  const b = new ErrorBudget({ maxFailures: null, maxFailureRate: 0.05 });
  for (let i = 0; i < 40; i++) assert.equal(b.record(ok(`/o${i}.jpg`)), null);
  assert.equal(b.record(bad('/f1.jpg')), null); // 1/41
  assert.equal(b.record(bad('/f2.jpg')), null); // 2/42
  assert.equal(b.record(bad('/f3.jpg')), 'stopping: 3 of 43 images failed (7.0%), above --max-failure-rate 0.05 — last error: DECODE_FAILED: /f3.jpg: broken');
});

test('describeError names the path once', () => {
  assert.equal(describeError(bad('/x.jpg')), 'DECODE_FAILED: /x.jpg: broken');
  assert.equal(
    describeError({ path: '/d', error: { code: 'IS_DIRECTORY', message: 'is a directory' } }),
    'IS_DIRECTORY: /d: is a directory',
  );
});

// ---------------------------------------------------------------- resume

test('resume flags: contradictions are usage errors', () => {
  const base = { out: 'o.jsonl', format: 'jsonl', resume: false, retryFailed: false, overwrite: false };
  assert.throws(() => checkResumeFlags({ ...base, retryFailed: true }), /--retry-failed only applies with --resume/);
  assert.throws(() => checkResumeFlags({ ...base, resume: true, overwrite: true }), /--resume and --overwrite contradict/);
  assert.throws(() => checkResumeFlags({ ...base, resume: true, out: '-' }), /--resume needs an output file/);
  checkResumeFlags({ ...base, resume: true, retryFailed: true });
});

test('selectRemaining: last record per path wins; failures kept unless retried; INFERENCE_FAILED always retried', () => {
  const state = new Map([
    ['/a.jpg', null],
    ['/b.jpg', 'DECODE_FAILED'],
    ['/c.jpg', 'INFERENCE_FAILED'],
  ]);
  const all = jobs('/a.jpg', '/b.jpg', '/c.jpg', '/d.jpg');
  const plain = selectRemaining(all, state, false);
  assert.deepEqual(plain.jobs.map((j) => j.path), ['/c.jpg', '/d.jpg']);
  assert.deepEqual([plain.skippedOk, plain.skippedFailed, plain.retried], [1, 1, 1]);
  const retry = selectRemaining(all, state, true);
  assert.deepEqual(retry.jobs.map((j) => j.path), ['/b.jpg', '/c.jpg', '/d.jpg']);
  assert.deepEqual(retry.jobs.map((j) => j.index), [1, 2, 3]); // input positions are kept
  assert.deepEqual([retry.skippedOk, retry.skippedFailed, retry.retried], [1, 0, 2]);
});

test('planResume (JSONL): cuts a torn tail, reads the final state per path, keeps order', async () => {
  const dir = await tempDir();
  const out = path.join(dir, 'o.jsonl');
  const lines = HEAD_J + [ok('/a.jpg'), bad('/b.jpg'), bad('/c.jpg'), ok('/c.jpg', 2)].map((r) => formatJsonlLine(r) + '\n').join('');
  const torn = formatJsonlLine(ok('/d.jpg')).slice(0, 25);
  await writeFile(out, lines + torn);
  const cfg = { out, format: 'jsonl', resume: true, retryFailed: false, overwrite: false };
  const state = await readRecordedState(out, 'jsonl');
  assert.deepEqual([...state], [['/a.jpg', null], ['/b.jpg', 'DECODE_FAILED'], ['/c.jpg', null]]);

  const plan = await planResume(cfg, jobs('/a.jpg', '/b.jpg', '/c.jpg', '/d.jpg', '/e.jpg'));
  assert.deepEqual(plan.jobs.map((j) => j.path), ['/d.jpg', '/e.jpg']);
  assert.equal(plan.repairedBytes, 25);
  assert.deepEqual([plan.skippedOk, plan.skippedFailed, plan.retried], [2, 1, 0]);
  assert.equal(await readFile(out, 'utf8'), lines); // exactly the whole lines remain
  assert.equal(
    describeResume(cfg, plan, 5),
    `resume: cut a torn last record (25 bytes) from ${out}; 3 of 5 images already in ${out} (2 ok, 1 failed); 2 to do`,
  );

  // Paths are compared normalised, as input expansion produces them.
  await writeFile(out, HEAD_J + formatJsonlLine(ok('/x/./y/../a.jpg')) + '\n');
  const again = await planResume(cfg, jobs('/x/a.jpg'));
  assert.equal(again.jobs.length, 0);
  await rm(dir, { recursive: true });
});

test('jsonlTail finds the end of the last whole line, as scanResults does (lines longer than its 64 KiB window too)', async () => {
  const dir = await tempDir();
  const f = path.join(dir, 't.jsonl');
  const long = formatJsonlLine(ok('/long.jpg', 2000)); // ~180 KB on one line
  assert.ok(long.length > 2 * 64 * 1024);
  const cases = {
    clean: formatJsonlLine(ok('/a.jpg')) + '\n' + long + '\n',
    tornShort: formatJsonlLine(ok('/a.jpg')) + '\n' + '{"path":"/b',
    tornLong: formatJsonlLine(ok('/a.jpg')) + '\n' + long.slice(0, 150000),
    onlyTorn: long.slice(0, 100000),
    longLast: long + '\n',
  };
  const expected = {
    clean: { validBytes: Buffer.byteLength(cases.clean), tornTail: false },
    tornShort: { validBytes: Buffer.byteLength(formatJsonlLine(ok('/a.jpg'))) + 1, tornTail: true },
    tornLong: { validBytes: Buffer.byteLength(formatJsonlLine(ok('/a.jpg'))) + 1, tornTail: true },
    onlyTorn: { validBytes: 0, tornTail: true },
    longLast: { validBytes: Buffer.byteLength(long) + 1, tornTail: false },
  };
  for (const [name, text] of Object.entries(cases)) {
    await writeFile(f, text);
    const size = Buffer.byteLength(text);
    assert.deepEqual(await jsonlTail(f, size), expected[name], name);
    const scan = await scanResults(f, 'jsonl');
    assert.deepEqual({ validBytes: scan.validBytes, tornTail: scan.tornTail }, expected[name], `${name} (scanResults)`);
  }
  await rm(dir, { recursive: true });
});

test('planResume: missing, empty or non-regular output means "do everything"; garbage is a usage error', async () => {
  const dir = await tempDir();
  const cfg = { out: path.join(dir, 'none.jsonl'), format: 'jsonl', resume: true, retryFailed: false, overwrite: false };
  const all = jobs('/a.jpg', '/b.jpg');
  let plan = await planResume(cfg, all);
  assert.equal(plan.jobs, all);
  assert.equal(describeResume(cfg, plan, 2), `resume: nothing recorded yet in ${cfg.out}; processing all 2 images`);
  await writeFile(cfg.out, '');
  plan = await planResume(cfg, all);
  assert.equal(plan.jobs.length, 2);
  plan = await planResume({ ...cfg, out: '/dev/full' }, all); // a device: never read
  assert.equal(plan.jobs.length, 2);
  assert.equal((await planResume({ ...cfg, resume: false }, all)).jobs, all);
  await writeFile(cfg.out, 'not json\n');
  await assert.rejects(planResume(cfg, all), /cannot resume from .*none\.jsonl: not a yolo-serve results file \(its first line is neither/);
  await writeFile(cfg.out, HEAD_J + 'not json\n');
  await assert.rejects(planResume(cfg, all), /cannot resume from .*none\.jsonl: .*line 2: invalid JSON.*left untouched/);
  await rm(dir, { recursive: true });
});

test('planResume (CSV): a torn multi-row record is cut whole; the records before it stay', async () => {
  const dir = await tempDir();
  const out = path.join(dir, 'o.csv');
  const head = HEAD_C + CSV_HEADER + formatCsvRows(ok('/a.jpg', 2)) + formatCsvRows(bad('/b.jpg'));
  const cRows = formatCsvRows(ok('/c.jpg', 3));
  // Killed inside c's record, after its first two rows: c's rows say it has 3, so all of c goes.
  const torn = cRows.split('\n').slice(0, 2).join('\n') + '\n' + cRows.split('\n')[2].slice(0, 9);
  await writeFile(out, head + torn);
  const cfg = { out, format: 'csv', resume: true, retryFailed: false, overwrite: false };
  const plan = await planResume(cfg, jobs('/a.jpg', '/b.jpg', '/c.jpg'));
  assert.deepEqual(plan.jobs.map((j) => j.path), ['/c.jpg']);
  assert.deepEqual([plan.skippedOk, plan.skippedFailed], [1, 1]);
  assert.equal(await readFile(out, 'utf8'), head);
  assert.equal(plan.repairedBytes, Buffer.byteLength(torn));
  await rm(dir, { recursive: true });
});

test('CSV reader: a failure row followed by its retry of the same path reads as two records', async () => {
  const dir = await tempDir();
  const out = path.join(dir, 'o.csv');
  await writeFile(
    out,
    CSV_HEADER + formatCsvRows(bad('/a.jpg')) + formatCsvRows(ok('/a.jpg', 2)) + formatCsvRows(ok('/b.jpg', 0)) + formatCsvRows(ok('/b.jpg', 1)),
  );
  const recs = [];
  for await (const r of readCsvResults(out)) recs.push([r.path, r.error?.code ?? null, r.detections.length]);
  assert.deepEqual(recs, [
    ['/a.jpg', 'DECODE_FAILED', 0],
    ['/a.jpg', null, 2],
    ['/b.jpg', null, 0],
    ['/b.jpg', null, 1],
  ]);
  const state = await readRecordedState(out, 'csv');
  assert.deepEqual([...state], [['/a.jpg', null], ['/b.jpg', null]]);
  await rm(dir, { recursive: true });
});

// ---------------------------------------------------------------- guarded sink

test('GuardedSink: tallies written records, drops them once sealed, closes once', async () => {
  const inner = memorySink();
  const seen = [];
  const sink = new GuardedSink(inner, (r) => seen.push(r.path));
  await sink.write(ok('/a.jpg', 3));
  await sink.write(bad('/b.jpg'));
  sink.seal();
  await sink.write(ok('/c.jpg'));
  assert.deepEqual(inner.lines, ['/a.jpg', '/b.jpg']);
  assert.deepEqual(seen, ['/a.jpg', '/b.jpg']);
  assert.deepEqual(sink.tally, { ok: 1, failed: 1, detections: 3 });
  assert.equal(sink.written, 2);
  await Promise.all([sink.close(), sink.close()]);
  assert.equal(inner.closed, 1);
});

test('GuardedSink: write and close failures become OutputError', async () => {
  const enospc = { format: 'jsonl', write: async () => { throw new Error('cannot write results to x: ENOSPC'); }, close: async () => { throw new Error('close failed'); } };
  const sink = new GuardedSink(enospc);
  await assert.rejects(sink.write(ok('/a.jpg')), (e) => e instanceof OutputError && /ENOSPC/.test(e.message));
  await assert.rejects(sink.close(), (e) => e instanceof OutputError && e.message === 'close failed');
  assert.equal(sink.written, 0);
});

// ---------------------------------------------------------------- run guard

const done = (over = {}) => ({ ok: 0, failed: 0, detections: 0, notStarted: 0, fatal: null, batches: 0, batchSizes: [], ...over });

test('RunGuard: clean run → 0; failures (this run or kept from an earlier one) → 1', async () => {
  const err = stderr();
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, stderr: err.stream });
  const sink = guard.guardSink(memorySink());
  const outcome = await guard.drive(sink, 1, async () => {
    await sink.write(ok('/a.jpg'));
    return done({ ok: 1, detections: 1 });
  });
  assert.deepEqual(guard.finish(outcome), { exitCode: 0, interrupted: false, stop: null });
  assert.deepEqual(guard.finish(outcome, 2), { exitCode: 1, interrupted: false, stop: null });
  assert.deepEqual(guard.finish(done({ failed: 1 })).exitCode, 1);
  assert.equal(err.text(), '');
});

test('RunGuard: SIGTERM aborts the pipeline signal; in-flight work finishes; exit 143, interrupted', async () => {
  const proc = new FakeProcess();
  const err = stderr();
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, signals: proc, stderr: err.stream });
  const inner = memorySink();
  const sink = guard.guardSink(inner);
  const outcome = await guard.drive(sink, 10, async (signal) => {
    await sink.write(ok('/a.jpg'));
    proc.emit('SIGTERM');
    assert.equal(signal.aborted, true);
    await sink.write(ok('/b.jpg')); // in flight: still written
    return done({ ok: 2, notStarted: 8 });
  });
  assert.deepEqual(inner.lines, ['/a.jpg', '/b.jpg']);
  assert.equal(inner.closed, 1);
  const res = guard.finish(outcome);
  assert.deepEqual(res, { exitCode: 143, interrupted: true, stop: { kind: 'signal', signal: 'SIGTERM' } });
  assert.match(err.text(), /SIGTERM received: finishing the images in flight \(at most 10s\)/);
  assert.match(err.text(), /interrupted by SIGTERM: 8 images not processed; rerun the same command with --resume to continue/);
  guard.dispose();
  assert.equal(proc.listenerCount('SIGTERM'), 0);
});

test('RunGuard: in-flight work that outlives the drain timeout is abandoned, not written', async () => {
  const proc = new FakeProcess();
  const err = stderr();
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, signals: proc, stderr: err.stream, drainTimeoutMs: 30 });
  const inner = memorySink();
  const sink = guard.guardSink(inner);
  let late;
  const outcome = await guard.drive(sink, 5, (signal) => {
    late = (async () => {
      await sink.write(ok('/a.jpg', 2));
      proc.emit('SIGINT');
      await new Promise((r) => setTimeout(r, 80)); // a batch stuck past the deadline
      await sink.write(ok('/b.jpg'));
      return done({ ok: 2 });
    })();
    return late;
  });
  assert.deepEqual(outcome, { ok: 1, failed: 0, detections: 2, notStarted: 4, fatal: null, batches: 0, batchSizes: [] });
  await late;
  assert.deepEqual(inner.lines, ['/a.jpg']); // b arrived after the seal
  const res = guard.finish(outcome);
  assert.equal(res.exitCode, 130);
  assert.match(err.text(), /images still in flight after 0\.03s were abandoned \(not written\)/);
});

test('RunGuard: a second signal flushes the output and kills the process by the first signal', async () => {
  const proc = new FakeProcess();
  const err = stderr();
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, signals: proc, stderr: err.stream });
  const inner = memorySink();
  const sink = guard.guardSink(inner);
  await sink.write(ok('/a.jpg'));
  proc.emit('SIGINT');
  proc.emit('SIGTERM');
  await sink.write(ok('/b.jpg')); // after the second signal: dropped
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(inner.lines, ['/a.jpg']);
  assert.equal(inner.closed, 1);
  assert.deepEqual(proc.kills, [[4242, 'SIGINT']]);
  assert.equal(proc.listenerCount('SIGINT'), 0); // default action restored before the kill
  assert.match(err.text(), /SIGTERM again: exiting now/);
});

test('RunGuard: the error budget aborts the run and exits 1 with the stop message', async () => {
  const err = stderr();
  const guard = new RunGuard({ maxFailures: 1, maxFailureRate: null, stderr: err.stream });
  const sink = guard.guardSink(memorySink());
  let abortedAfter = null;
  const outcome = await guard.drive(sink, 6, async (signal) => {
    for (const r of [ok('/a.jpg'), bad('/b.jpg'), bad('/c.jpg'), bad('/d.jpg')]) {
      if (signal.aborted) break;
      await sink.write(r);
      if (signal.aborted && abortedAfter === null) abortedAfter = r.path;
    }
    return done({ ok: 1, failed: 2, notStarted: 3 });
  });
  assert.equal(abortedAfter, '/c.jpg');
  const res = guard.finish(outcome);
  assert.equal(res.exitCode, 1);
  assert.equal(res.stop.kind, 'error-budget');
  assert.equal(res.interrupted, false);
  assert.equal(
    err.text(),
    'yolo-serve: stopping: 2 of 3 images failed (67%), above --max-failures 1 — last error: DECODE_FAILED: /c.jpg: broken\n' +
      'yolo-serve: 3 images not processed; rerun the same command with --resume to continue (--retry-failed also redoes the failed ones)\n',
  );
});

test('RunGuard: output failure and inference failure are run-level: exit 3 with the reason', async () => {
  const err = stderr();
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, stderr: err.stream });
  const full = { format: 'jsonl', n: 0, async write() { if (++this.n > 2) throw new Error('cannot write results to /dev/full: ENOSPC: no space left on device, write'); }, async close() {} };
  const sink = guard.guardSink(full);
  const outcome = await guard.drive(sink, 10, async () => {
    for (let i = 0; i < 5; i++) await sink.write(ok(`/${i}.jpg`));
    return done();
  });
  assert.deepEqual(outcome, { ok: 2, failed: 0, detections: 2, notStarted: 8, fatal: null, batches: 0, batchSizes: [] });
  const res = guard.finish(outcome);
  assert.equal(res.exitCode, EXIT_RUN_FAILED);
  assert.equal(EXIT_RUN_FAILED, 3);
  assert.equal(res.stop.kind, 'output-failed');
  assert.match(err.text(), /^yolo-serve: error: cannot write results to \/dev\/full: ENOSPC/);
  assert.match(err.text(), /the output keeps every record written so far; 8 images not processed/);

  const err2 = stderr();
  const g2 = new RunGuard({ maxFailures: null, maxFailureRate: null, stderr: err2.stream });
  const s2 = g2.guardSink(memorySink());
  const o2 = await g2.drive(s2, 4, async () => done({ failed: 2, notStarted: 2, fatal: new Error('inference worker exited unexpectedly (code 1)') }));
  const r2 = g2.finish(o2);
  assert.deepEqual([r2.exitCode, r2.stop.kind], [3, 'inference-failed']);
  assert.match(err2.text(), /error: inference worker exited unexpectedly \(code 1\)/);
});

test('RunGuard: a bug in the pipeline still closes the output and propagates', async () => {
  const guard = new RunGuard({ maxFailures: null, maxFailureRate: null, stderr: stderr().stream });
  const inner = memorySink();
  const sink = guard.guardSink(inner);
  await assert.rejects(guard.drive(sink, 1, async () => { throw new TypeError('bug'); }), TypeError);
  assert.equal(inner.closed, 1);
});
