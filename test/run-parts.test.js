// The batch run's parts (src/run/), each alone: plan with a fake expansion, resolveRun on a real
// (synthetic) model, the observer list, the one Disposer, finish's exit-status combination (the
// last is in exit-codes.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toRunConfig } from '../dist/program.js';
import { planInputs } from '../dist/run/plan.js';
import { resolveRun } from '../dist/run/open.js';
import { Observers } from '../dist/run/observers.js';
import { Disposer } from '../dist/run/dispose.js';
import { selectShard } from '../dist/inputs/shard.js';
import { writeSyntheticModel } from './helpers/shard-fixtures.js';

const FLAGS = {
  device: 'cpu', batch: 'auto', workers: '1', threads: '1', conf: '0.25', iou: '0.7', maxDet: '300',
  recursive: true, pathColumn: 'path', maxPixels: '268402689', annotateQuality: '95', progress: false, progressInterval: '10',
};
const jobs = (n) => Array.from({ length: n }, (_, i) => ({ index: i, path: `/data/img${i}.jpg` }));

test('plan: the expanded inputs, untouched without --shard; with it, this shard\'s share and only shard 0 counts skipped files', async () => {
  const all = jobs(40);
  const calls = [];
  const expand = async (inputs, opts) => {
    calls.push([inputs, opts.recursive, opts.pathColumn]);
    return { jobs: all, skipped: 3, duplicates: 0 };
  };
  const deps = { stdin: null, expand, root: async () => '/data' };
  const whole = await planInputs({ inputs: ['/data'], recursive: false, pathColumn: 'file', shard: null }, deps);
  assert.deepEqual(calls, [[['/data'], false, 'file']]);
  assert.equal(whole.jobs, all);
  assert.deepEqual([whole.skippedFiles, whole.note], [3, null]);

  const shards = [];
  for (let index = 0; index < 3; index++) {
    const shard = { index, count: 3 };
    const p = await planInputs({ inputs: ['/data'], recursive: true, pathColumn: 'path', shard }, deps);
    assert.deepEqual(p.jobs, selectShard(all, shard, '/data'));
    assert.equal(p.all, all);
    assert.equal(p.skippedFiles, index === 0 ? 3 : 0);
    assert.match(p.note, new RegExp(`shard ${index}/3`));
    shards.push(...p.jobs.map((j) => j.path));
  }
  assert.deepEqual(shards.sort(), all.map((j) => j.path).sort());
});

test('resolveRun: --classes names become ids in the resolved run, the RunConfig is left as parsed, the model is read once for both digests', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'run-parts-'));
  try {
    const model = writeSyntheticModel(path.join(dir, 'm.onnx'));
    const cfg = toRunConfig([dir], { ...FLAGS, model, out: path.join(dir, 'out.jsonl'), classes: 'dog' }, {});
    const before = structuredClone(cfg);
    const r = await resolveRun(cfg, { all: [], jobs: [], skippedFiles: 0, note: null }, { target: { real: null, regular: false }, lock: null });
    assert.deepEqual(cfg, before);
    assert.deepEqual([cfg.post.classes, cfg.classNames], [[], ['dog']]); // as parsed: names wait for the model
    assert.deepEqual(r.post.classes, [1]);
    assert.deepEqual(r.provenance.options.classes, [1]);
    const bytes = await readFile(model);
    assert.equal(r.modelFile.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(r.modelFile.size, bytes.length);
    assert.equal(r.provenance.model.sha256, r.modelFile.sha256);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('observers: called in list order at each moment, awaited; images kept only when one asks', async () => {
  const log = [];
  let release;
  const slow = new Promise((r) => (release = r));
  const a = { onWritten: (r) => void log.push(`a:${r.path}`), onCommitted: (r) => log.push(`a+${r.path}`) };
  const b = { onWritten: async (r, image) => { log.push(`b:${r.path}:${image}`); await slow; log.push('b done'); }, keepsImages: true, flush: async () => log.push('b flush') };
  const c = { onCommitted: (r) => log.push(`c+${r.path}`) };
  const list = new Observers([a, b, c]);
  assert.equal(list.keepImages, true);
  assert.equal(list.watchesWrites, true);
  assert.equal(new Observers([a, c]).keepImages, false);
  assert.equal(new Observers([c]).watchesWrites, false);
  const written = list.written({ path: 'x' }, 'IMG');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['a:x', 'b:x:IMG']);
  release();
  await written;
  list.committed({ path: 'x' });
  await list.flush();
  assert.deepEqual(log, ['a:x', 'b:x:IMG', 'b done', 'a+x', 'c+x', 'b flush']);
});

test('Disposer: undoes everything newest first, once, even when one undo fails (that failure is rethrown)', async () => {
  const log = [];
  const d = new Disposer();
  d.add('lock', () => log.push('lock'));
  d.add('pool', async () => { log.push('pool'); throw new Error('pool close failed'); });
  d.add('guard', () => log.push('guard'));
  await assert.rejects(d.dispose(), /pool close failed/);
  assert.deepEqual(log, ['guard', 'pool', 'lock']);
  await d.dispose();
  assert.deepEqual(log, ['guard', 'pool', 'lock']);
  assert.throws(() => d.add('late', () => {}), /opened after dispose/);
});

test('one counter: the guarded sink counts; the error budget, the tally and the ordered writer read the same figures', async () => {
  const { RunCounter } = await import('../dist/metrics/counts.js');
  const { RunGuard } = await import('../dist/reliability/run-guard.js');
  const { ResultTally } = await import('../dist/metrics/tally.js');
  const { OrderedWriter } = await import('../dist/pipeline/ordered-writer.js');
  const lines = [];
  const memory = { format: 'jsonl', async write(r) { lines.push(r.path); }, async close() {} };
  const counter = new RunCounter();
  const tally = new ResultTally(counter.committed);
  const err = [];
  const guard = new RunGuard({ maxFailures: 1, maxFailureRate: null, stderr: { write: (s) => err.push(s) } });
  const sink = guard.guardSink(memory, (r) => tally.add(r), counter);
  const rec = (i, error = null) => ({ index: i, path: `/i/${i}.jpg`, width: 1, height: 1, detections: error ? [] : [{ name: 'a', class: 0, confidence: 1, box: { x1: 0, y1: 0, x2: 1, y2: 1 } }], error });
  const writer = new OrderedWriter(sink, { counts: counter.handed });
  [rec(0), rec(1, { code: 'DECODE_FAILED', message: 'x' }), rec(2), rec(3, { code: 'NOT_FOUND', message: 'y' })].forEach((r, i) => writer.put(i, r, 0));
  writer.expect(4);
  await writer.drained();
  assert.equal(sink.counter, counter);
  assert.deepEqual(counter.handed, { ok: 2, failed: 2, detections: 2 });
  assert.deepEqual(counter.committed, counter.handed); // a sink without a commit listener commits on accept
  assert.equal(writer.counts, counter.handed, 'the writer reads the counter, it does not keep its own');
  assert.deepEqual([tally.ok, tally.failed, tally.detections], [2, 2, 2]);
  assert.deepEqual(tally.failuresByCode(), { DECODE_FAILED: 1, NOT_FOUND: 1 });
  assert.equal(guard.stop?.kind, 'error-budget');
  assert.match(err.join(''), /stopping: 2 of 4 images failed \(50%\), above --max-failures 1/);
});
