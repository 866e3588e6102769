// planParallelism: the automatic choice of sessions, intra-op threads and batch size.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GPU_BATCH, MAX_CPU_WORKERS, SESSION_WEIGHTS_BUDGET, planParallelism } from '../dist/inference/plan.js';

const plan = (p) => planParallelism({ device: 'cpu', cores: 2, dynamicBatch: false, workers: 'auto', threads: 'auto', batch: 'auto', ...p });

describe('planParallelism on CPU', () => {
  test('all auto: one single-threaded session per core (the measured best on 2 cores)', () => {
    assert.deepEqual(plan({ cores: 1 }), { workers: 1, threads: 1, batch: 1 });
    assert.deepEqual(plan({ cores: 2 }), { workers: 2, threads: 1, batch: 1 });
    assert.deepEqual(plan({ cores: 6 }), { workers: 6, threads: 1, batch: 1 });
  });

  test(`more than ${MAX_CPU_WORKERS} cores: ${MAX_CPU_WORKERS} sessions, the spare cores become intra-op threads`, () => {
    assert.equal(MAX_CPU_WORKERS, 8);
    assert.deepEqual(plan({ cores: 16 }), { workers: 8, threads: 2, batch: 1 });
    // 20 / 8 = 2.5: threads round down, so the cores are never oversubscribed.
    assert.deepEqual(plan({ cores: 20 }), { workers: 8, threads: 2, batch: 1 });
  });

  test('big models: sessions × model size stays within the weights budget', () => {
    assert.equal(SESSION_WEIGHTS_BUDGET, 1024 ** 3);
    // 300 MB: floor(1024 / 300) = 3 sessions on 16 cores, 16 / 3 = 5 threads each.
    assert.deepEqual(plan({ cores: 16, modelBytes: 300 * 1024 ** 2 }), { workers: 3, threads: 5, batch: 1 });
    // Larger than the budget: still one session, with every core as a thread.
    assert.deepEqual(plan({ cores: 4, modelBytes: 2 * 1024 ** 3 }), { workers: 1, threads: 4, batch: 1 });
    // A nano model (3.5 MB) is not limited by memory.
    assert.deepEqual(plan({ cores: 4, modelBytes: 3_504_059 }), { workers: 4, threads: 1, batch: 1 });
  });

  test('--threads given: as many sessions as fit on the cores', () => {
    assert.deepEqual(plan({ cores: 6, threads: 3 }), { workers: 2, threads: 3, batch: 1 });
    assert.deepEqual(plan({ cores: 2, threads: 2 }), { workers: 1, threads: 2, batch: 1 });
    // More threads than cores: one session, as asked.
    assert.deepEqual(plan({ cores: 2, threads: 4 }), { workers: 1, threads: 4, batch: 1 });
  });

  test('--workers given: threads share the cores, never below one', () => {
    assert.deepEqual(plan({ cores: 12, workers: 3 }), { workers: 3, threads: 4, batch: 1 });
    assert.deepEqual(plan({ cores: 2, workers: 4 }), { workers: 4, threads: 1, batch: 1 });
    assert.deepEqual(plan({ cores: 6, workers: 1, threads: 6 }), { workers: 1, threads: 6, batch: 1 });
  });

  test('batch: 1 by default even for dynamic-batch models; --batch only for dynamic-batch models', () => {
    assert.equal(plan({ dynamicBatch: true }).batch, 1);
    assert.equal(plan({ dynamicBatch: true, batch: 8 }).batch, 8);
    assert.equal(plan({ dynamicBatch: false, batch: 8 }).batch, 1);
  });
});

describe('planParallelism on a GPU', () => {
  test(`one session, one thread, batches of ${GPU_BATCH} when the model allows`, () => {
    assert.equal(GPU_BATCH, 16);
    for (const device of ['cuda', 'tensorrt', 'webgpu']) {
      assert.deepEqual(plan({ device, cores: 16, dynamicBatch: true }), { workers: 1, threads: 1, batch: 16 });
      assert.deepEqual(plan({ device, cores: 16, dynamicBatch: false }), { workers: 1, threads: 1, batch: 1 });
    }
  });

  test('explicit values win', () => {
    assert.deepEqual(plan({ device: 'cuda', cores: 16, dynamicBatch: true, batch: 32, workers: 2 }), { workers: 2, threads: 1, batch: 32 });
    assert.deepEqual(plan({ device: 'webgpu', cores: 16, dynamicBatch: true, threads: 4 }), { workers: 1, threads: 4, batch: 16 });
  });
});
