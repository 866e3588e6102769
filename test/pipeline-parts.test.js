// The two parts runPipeline is built from, tested alone with fake sinks and plain arrays: the
// ordered writer (results complete out of order, are written in order, counted once, a write
// error stops further writes) and the batch assembler (in-place placement, full/partial release,
// buffer reuse, draining on a broken pool).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OrderedWriter } from '../dist/pipeline/ordered-writer.js';
import { BatchAssembler } from '../dist/pipeline/batch-assembler.js';
import { countResult, emptyCounts } from '../dist/metrics/counts.js';

const ok = (index, n = 1) => ({ index, path: `/img${index}.jpg`, width: 10, height: 10, detections: Array.from({ length: n }, () => ({ name: 'a', class: 0, confidence: 0.5, box: { x1: 0, y1: 0, x2: 1, y2: 1 } })), error: null });
const bad = (index) => ({ index, path: `/img${index}.jpg`, width: null, height: null, detections: [], error: { code: 'DECODE_FAILED', message: 'x' } });
const tick = () => new Promise((r) => setImmediate(r));

function fakeSink({ failAt = -1 } = {}) {
  const written = [];
  return {
    written,
    format: 'jsonl',
    async write(r) {
      await tick();
      if (r.index === failAt) throw new Error('disk full');
      written.push(r.index);
    },
    async close() {},
  };
}

describe('OrderedWriter', () => {
  test('writes in input order whatever the completion order, and counts what it wrote', async () => {
    const sink = fakeSink();
    const seen = [];
    let settled = 0;
    const w = new OrderedWriter(sink, { onWritten: (r, image) => seen.push([r.index, image]), onSettled: () => settled++ });
    w.put(2, ok(2, 3), 0);
    w.put(1, bad(1), 0, { data: new Uint8Array(3), width: 1, height: 1 });
    await tick();
    assert.deepEqual(sink.written, [], 'nothing before image 0');
    w.put(0, ok(0, 2), 0);
    w.put(3, ok(3, 0), 0);
    w.expect(4);
    await w.drained();
    assert.deepEqual(sink.written, [0, 1, 2, 3]);
    assert.deepEqual(seen.map(([i]) => i), [0, 1, 2, 3]);
    assert.equal(seen[1][1].width, 1, 'the kept image travels with its result');
    assert.equal(seen[0][1], null);
    assert.deepEqual(w.counts, { ok: 3, failed: 1, detections: 5 });
    assert.equal(settled, 4);
  });

  test('expect(0) and expect after everything settled both resolve', async () => {
    const w0 = new OrderedWriter(fakeSink());
    w0.expect(0);
    await w0.drained();
    const sink = fakeSink();
    const w = new OrderedWriter(sink);
    w.put(0, ok(0), 0);
    await tick();
    await tick();
    w.expect(1);
    await w.drained();
    assert.deepEqual(sink.written, [0]);
  });

  test('a write error stops later writes, still settles every result, and is rethrown', async () => {
    const sink = fakeSink({ failAt: 1 });
    let settled = 0;
    const w = new OrderedWriter(sink, { onSettled: () => settled++ });
    for (const i of [0, 1, 2]) w.put(i, ok(i), 0);
    w.expect(3);
    await assert.rejects(w.drained(), /disk full/);
    assert.deepEqual(sink.written, [0]);
    assert.equal(settled, 3);
    assert.match(w.failure.message, /disk full/);
    assert.deepEqual(w.counts, { ok: 1, failed: 0, detections: 1 });
  });

  test('a result handed over twice is a bug, said loudly', () => {
    const w = new OrderedWriter(fakeSink());
    w.put(1, ok(1), 0);
    assert.throws(() => w.put(1, ok(1), 0), /twice/);
  });
});

describe('BatchAssembler', () => {
  test('places images side by side in one buffer and queues the batch when full', () => {
    const a = new BatchAssembler(3, 4);
    for (let i = 0; i < 3; i++) {
      a.place().fill(i + 1);
      a.commit(`img${i}`);
    }
    const b = a.take(false);
    assert.deepEqual(b.items, ['img0', 'img1', 'img2']);
    assert.deepEqual([...new Float32Array(b.buffer)], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    assert.equal(a.take(true), null, 'nothing left');
  });

  test('a partial batch goes out only when released, full ones first', () => {
    const a = new BatchAssembler(2, 1);
    for (let i = 0; i < 3; i++) {
      a.place()[0] = i;
      a.commit(i);
    }
    assert.equal(a.pending, 3);
    assert.deepEqual(a.take(false).items, [0, 1]);
    assert.equal(a.take(false), null, 'partial held back');
    assert.deepEqual(a.take(true).items, [2]);
    assert.equal(a.pending, 0);
  });

  test('recycled buffers are reused; wrong-sized ones are not', () => {
    const a = new BatchAssembler(1, 2);
    a.place();
    a.commit('x');
    const first = a.take(false);
    a.recycle(first.buffer);
    a.recycle(new ArrayBuffer(4));
    a.place();
    a.commit('y');
    assert.equal(a.take(false).buffer, first.buffer);
  });

  test('drain hands back every image not yet taken', () => {
    const a = new BatchAssembler(2, 1);
    for (const x of ['a', 'b', 'c']) {
      a.place();
      a.commit(x);
    }
    assert.deepEqual(a.drain(), ['a', 'b', 'c']);
    assert.equal(a.take(true), null);
    assert.throws(() => a.commit('d'), /without place/);
  });
});

test('countResult: errors are failed, the rest ok with their detections', () => {
  const c = emptyCounts();
  countResult(c, ok(0, 2));
  countResult(c, bad(1));
  countResult(c, ok(2, 0));
  assert.deepEqual(c, { ok: 2, failed: 1, detections: 2 });
});
