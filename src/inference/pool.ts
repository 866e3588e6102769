// A fixed set of inference workers, each owning one ORT session. The pool hands a batch to the
// least-loaded worker; each worker holds at most `depth` batches (the one running plus the next
// ones queued), so a worker never waits for the main thread between runs and no unbounded
// queue builds up here.
import { Worker } from 'node:worker_threads';
import type { LetterboxGeometry } from '../types.js';
import type { ConfigureMessage, DeviceKind, FromWorker, ReadyMessage, RunResultMessage, WorkerInit } from './protocol.js';

export class InferenceError extends Error {}

interface Slot {
  worker: Worker;
  /** Batches handed to this worker whose results have not come back yet. */
  outstanding: number;
  pending: Map<number, { resolve: (m: RunResultMessage) => void; reject: (e: Error) => void }>;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * Batches per worker: the one running and one queued behind it. With one, the worker sits idle
 * from posting a result until the main thread (busy decoding or letterboxing) sends the next
 * batch; more than two only adds memory.
 */
export const DEFAULT_DEPTH = 2;

function spawn(init: WorkerInit): { worker: Worker; ready: Promise<ReadyMessage> } {
  const worker = new Worker(WORKER_URL, { workerData: init });
  const ready = new Promise<ReadyMessage>((resolve, reject) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'ready') {
        cleanup();
        resolve(msg);
      } else if (msg.type === 'init-failed') {
        cleanup();
        const tried = msg.fallbacks.map((f) => `${f.device}: ${f.reason}`).join('; ');
        reject(new InferenceError(`could not create an inference session (${tried || msg.message})`));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new InferenceError(`inference worker failed to start: ${err.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new InferenceError(`inference worker exited during start-up (code ${code})`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  return { worker, ready };
}

export class InferencePool {
  private readonly slots: Slot[];
  private nextId = 1;
  private broken: Error | null = null;

  private constructor(
    workers: Worker[],
    /** The provider that actually runs. */
    readonly device: DeviceKind,
    /** Providers tried first and why each was not used. */
    readonly fallbacks: { device: DeviceKind; reason: string }[],
    /** Dims of each fetched output in the warm-up run (batch of one), detections first. */
    readonly probeDims: number[][],
    /** Batches each worker may hold at once (running + queued). */
    readonly depth: number,
  ) {
    this.slots = workers.map((worker) => ({ worker, outstanding: 0, pending: new Map() }));
    for (const slot of this.slots) this.watch(slot);
  }

  /**
   * Starts `count` workers. The first one settles which provider works (trying `devices` in
   * order); the rest are started on that provider alone, in parallel.
   */
  static async start(base: Omit<WorkerInit, 'devices'>, devices: DeviceKind[], count: number, depth = DEFAULT_DEPTH): Promise<InferencePool> {
    const first = spawn({ ...base, devices });
    let ready: ReadyMessage;
    try {
      ready = await first.ready;
    } catch (err) {
      await first.worker.terminate();
      throw err;
    }
    const rest = Array.from({ length: count - 1 }, () => spawn({ ...base, devices: [ready.device] }));
    const settled = await Promise.allSettled(rest.map((r) => r.ready));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all([first, ...rest].map((r) => r.worker.terminate()));
      throw failed.reason;
    }
    return new InferencePool([first.worker, ...rest.map((r) => r.worker)], ready.device, ready.fallbacks, ready.probeDims, Math.max(1, depth));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Batches that can be handed over right now (free places across all workers' queues). */
  get idle(): number {
    return this.slots.reduce((n, s) => n + Math.max(0, this.depth - s.outstanding), 0);
  }

  /** Batches the pool holds when full. */
  get capacity(): number {
    return this.slots.length * this.depth;
  }

  configure(msg: ConfigureMessage): void {
    for (const s of this.slots) s.worker.postMessage(msg);
  }

  /** Runs one batch on the least-loaded worker. The input buffer is transferred and comes back in the result. */
  run(count: number, input: ArrayBuffer, geometries: LetterboxGeometry[]): Promise<RunResultMessage> {
    if (this.broken) return Promise.reject(this.broken);
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.outstanding < this.depth && (!slot || s.outstanding < slot.outstanding)) slot = s;
    if (!slot) return Promise.reject(new Error('InferencePool.run called with every worker full'));
    slot.outstanding++;
    const id = this.nextId++;
    return new Promise<RunResultMessage>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ type: 'run', id, count, input, geometries }, [input]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once('exit', () => resolve());
            s.worker.postMessage({ type: 'close' });
            // A worker stuck in native code would keep the process alive; do not wait forever.
            setTimeout(() => void s.worker.terminate(), 5000).unref();
          }),
      ),
    );
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (msg: FromWorker) => {
      if (msg.type !== 'result') return;
      const p = slot.pending.get(msg.id);
      slot.pending.delete(msg.id);
      slot.outstanding--;
      p?.resolve(msg);
    });
    const fail = (err: Error) => {
      this.broken ??= err;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    slot.worker.on('error', (err) => fail(new InferenceError(`inference worker crashed: ${err.message}`)));
    slot.worker.on('exit', (code) => {
      if (slot.pending.size > 0) fail(new InferenceError(`inference worker exited unexpectedly (code ${code})`));
    });
  }
}
