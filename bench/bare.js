// Bare ORT: session.run on one pre-made input tensor, nothing else. Each session lives in its
// own worker thread (as in yolo-serve), all sessions run in parallel for the same time window.
// This file is both the measuring function (main thread) and the worker.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpuSecondsSince } from './util.js';

/**
 * @param {object} o
 * @param {string} o.model
 * @param {string} o.inputName
 * @param {number[]} o.dims          input dims, batch 1
 * @param {Float32Array} o.input     one letterboxed image
 * @param {number} o.sessions
 * @param {number|'default'} o.threads  intra-op threads per session; 'default' = ORT's own default options
 * @param {number} o.seconds
 * @returns {Promise<{ips: number, cpuMsPerImage: number, msPerRun: number, runs: number, coresUsed: number}>}
 */
export async function measureBare(o) {
  const workers = Array.from({ length: o.sessions }, () => new Worker(new URL(import.meta.url), { workerData: { model: o.model, inputName: o.inputName, dims: o.dims, input: o.input, threads: o.threads } }));
  try {
    await Promise.all(workers.map((w) => once(w)));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const w of workers) w.postMessage({ seconds: o.seconds });
    const results = await Promise.all(workers.map((w) => once(w)));
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = cpuSecondsSince(cpu0);
    const runs = results.reduce((a, r) => a + r.runs, 0);
    const ips = results.reduce((a, r) => a + r.runs / r.seconds, 0);
    const msPerRun = (1000 * results.reduce((a, r) => a + r.seconds, 0)) / runs;
    return { ips, cpuMsPerImage: (1000 * cpuS) / runs, msPerRun, runs, coresUsed: cpuS / wallS };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function once(worker) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      cleanup();
      if (m && m.error) reject(new Error(m.error));
      else resolve(m);
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}

async function workerMain() {
  const ort = await import('onnxruntime-node');
  const { model, inputName, dims, input, threads } = workerData;
  try {
    let options;
    if (threads === 'default') options = {};
    else {
      // The exact options yolo-serve uses for a CPU session, so the ceiling is like for like.
      const { sessionOptionsFor } = await import('../dist/inference/providers.js');
      options = sessionOptionsFor('cpu', threads);
    }
    const session = await ort.InferenceSession.create(model, options);
    const feeds = { [inputName]: new ort.Tensor('float32', input, dims) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    parentPort.postMessage({ ready: true });
    parentPort.once('message', async ({ seconds }) => {
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      let runs = 0;
      while (performance.now() < end) {
        await session.run(feeds);
        runs++;
      }
      parentPort.postMessage({ runs, seconds: (performance.now() - t0) / 1000 });
    });
  } catch (err) {
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

if (!isMainThread) void workerMain();
