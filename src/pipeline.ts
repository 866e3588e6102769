// The streaming engine: decode+letterbox on the main thread (sharp works on libuv's pool),
// inference and postprocessing in worker threads, results written in input order.
// Each image is letterboxed straight into its place in the batch being formed, so a batch is
// handed to a worker (transferred, not copied) without another copy of the pixels.
//
// Memory is bounded by one number, `maxInFlight`: an image holds a slot from the moment its
// decode starts until its result is written, so decoded pixels, tensors, queued batches and the
// reorder buffer together never exceed that many images, however long the input list is.
import pLimit from 'p-limit';
import type { InferencePool } from './inference/pool.js';
import type { ResultCounts } from './metrics/counts.js';
import { NO_METRICS, type StageRecorder } from './metrics/stages.js';
import type { ResultSink } from './outputs/sink.js';
import { decodeImage, type DecodeOptions } from './preprocess/decode.js';
import { classifyGeometry, classifyInto } from './preprocess/classify.js';
import { fastDecodeFor } from './preprocess/fast-decode.js';
import { letterboxGeometry, letterboxInto, padKey } from './preprocess/letterbox.js';
import type { PreprocessKind } from './tasks/types.js';
import type { ImageError, ImageJob, ImageResult, LetterboxGeometry, RgbImage } from './types.js';
import { BatchAssembler, type Batch } from './pipeline/batch-assembler.js';
import { OrderedWriter } from './pipeline/ordered-writer.js';

export interface PipelineOptions {
  /** Network input [h, w]. */
  imgsz: [number, number];
  /** Largest batch handed to one session.run (1 for fixed-batch models). */
  batch: number;
  decodeConcurrency: number;
  maxPixels: number;
  /** Decode big JPEGs reduced to their letterboxed size (preprocess/fast-decode.ts); not with keepImages. */
  fastDecode?: boolean;
  /** Decode settings (file-size limit, vector images, the run's memory budget); default: maxPixels only. */
  decode?: DecodeOptions;
  metrics?: StageRecorder;
  /** Aborting stops new decodes; in-flight images still finish and are written. */
  signal?: AbortSignal;
  /** Called after each result is written (a standalone caller's hook; a batch run's observers use onWritten). */
  onResult?: (r: ImageResult) => void;
  /**
   * Called after each result is written, in input order, with its decoded upright image when
   * `keepImages` is set (else null). Awaited before the next write, so slow consumers (drawing,
   * saving crops) hold back the pipeline instead of piling up images.
   */
  onWritten?: (result: ImageResult, image: RgbImage | null) => void | Promise<void>;
  /** Keep each decoded image until its result is written, for `onWritten`. Costs memory per image in flight. */
  keepImages?: boolean;
  /** How images become the network input (the task's TaskDefinition.preprocess); letterbox when absent. */
  preprocess?: PreprocessKind;
  /** When `sink` counts what it is handed (a run's guarded sink): its counts, read for the outcome. */
  counts?: ResultCounts;
}

export interface PipelineOutcome extends ResultCounts {
  /** Images never started because the run was stopped. */
  notStarted: number;
  /** Set when inference itself broke (not a per-image problem): the run ends early. */
  fatal: Error | null;
  /** session.run calls made. */
  batches: number;
  /** batchSizes[k]: how many of those calls carried k images (index 0 is always 0). */
  batchSizes: number[];
}

interface Prepared {
  seq: number;
  job: ImageJob;
  width: number;
  height: number;
  geometry: LetterboxGeometry;
  /** The decoded image, kept only for PipelineOptions.onWritten's consumers (keepImages). */
  image: RgbImage | null;
  startedAt: number;
  readyAt: number;
}

/** A counting semaphore with FIFO waiters. */
class Slots {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
  get exhausted(): boolean {
    return this.free === 0;
  }
}

export async function runPipeline(jobs: readonly ImageJob[], pool: InferencePool, sink: ResultSink, opts: PipelineOptions): Promise<PipelineOutcome> {
  const metrics = opts.metrics ?? NO_METRICS;
  const [netH, netW] = opts.imgsz;
  const batch = Math.max(1, opts.batch);
  // Enough images to fill every worker's queue, plus a batch forming, plus the decodes under way.
  const maxInFlight = pool.capacity * batch + batch + opts.decodeConcurrency;
  const slots = new Slots(maxInFlight);
  const decodeLimit = pLimit(opts.decodeConcurrency);

  const outcome: PipelineOutcome = { ok: 0, failed: 0, detections: 0, notStarted: 0, fatal: null, batches: 0, batchSizes: new Array<number>(batch + 1).fill(0) };
  const batches = new BatchAssembler<Prepared>(batch, 3 * netH * netW);
  const writer = new OrderedWriter(sink, {
    onWritten: async (result, image, startedAt) => {
      metrics.record('end_to_end', performance.now() - startedAt);
      opts.onResult?.(result);
      await opts.onWritten?.(result, image);
    },
    onSettled: () => slots.release(),
    counts: opts.counts,
  });
  // Images handed to the decoder (queued or running) whose tensors are not in a batch yet.
  let preparing = 0;
  let allStarted = false;

  function errorResult(job: ImageJob, error: ImageError, width: number | null = null, height: number | null = null): ImageResult {
    return { index: job.index, path: job.path, width, height, detections: [], error };
  }

  function pump(): void {
    while (pool.idle > 0 && !outcome.fatal) {
      // A partial batch goes out only when nothing else can join it soon: otherwise a lone early
      // image (or the last few) would hold their slots and stall the ordered writer.
      const next = batches.take(preparing === 0 && (allStarted || slots.exhausted));
      if (!next) return;
      dispatch(next);
    }
  }

  function dispatch({ buffer, items, padKeys }: Batch<Prepared>): void {
    const now = performance.now();
    for (const p of items) metrics.record('queue_wait', now - p.readyAt);
    outcome.batches++;
    outcome.batchSizes[items.length]!++;
    pool.run(items.length, buffer, items.map((p) => p.geometry)).then(
      (res) => {
        // The transferred buffer comes back with the result: keep it for a later batch.
        batches.recycle(res.input, padKeys);
        metrics.record('inference_batch', res.inferMs);
        for (let i = 0; i < items.length; i++) {
          const p = items[i]!;
          metrics.record('inference_image', res.inferMs / items.length);
          metrics.record('postprocess', res.postMs / items.length);
          const result: ImageResult = res.error
            ? errorResult(p.job, { code: 'INFERENCE_FAILED', message: `inference failed for batch containing ${p.job.path}: ${res.error}`, }, p.width, p.height)
            : { index: p.job.index, path: p.job.path, width: p.width, height: p.height, detections: res.detections![i]!, error: null };
          if (!res.error && res.classifications) result.classification = res.classifications[i]!;
          writer.put(p.seq, result, p.startedAt, p.image);
        }
        pump();
      },
      (err: Error) => {
        // The worker itself died: not this image's fault, and nothing further can run.
        outcome.fatal ??= err;
        for (const p of [...items, ...batches.drain()]) {
          writer.put(p.seq, errorResult(p.job, { code: 'INFERENCE_FAILED', message: err.message }, p.width, p.height), p.startedAt, p.image);
        }
      },
    );
  }

  // Kept images are drawn on at full size, so they are never decoded reduced; the reduction is
  // sized for the letterbox, so classify's centre crop always decodes at full size too.
  const reduceJpeg = opts.fastDecode && !opts.keepImages && opts.preprocess !== 'center-crop' ? fastDecodeFor(netW, netH) : null;

  async function prepare(seq: number, job: ImageJob): Promise<void> {
    const startedAt = performance.now();
    try {
      if (job.error) {
        writer.put(seq, errorResult(job, job.error), startedAt);
        return;
      }
      const decoded = await decodeImage(job.path, { ...(opts.decode ?? { maxPixels: opts.maxPixels }), reduceJpeg });
      const decodedAt = performance.now();
      metrics.record('read_decode', decodedAt - startedAt);
      if (outcome.fatal) {
        writer.put(seq, errorResult(job, { code: 'INFERENCE_FAILED', message: outcome.fatal.message }), startedAt);
        return;
      }
      if (!decoded.ok) {
        writer.put(seq, errorResult(job, decoded.error), startedAt);
        return;
      }
      const { image } = decoded;
      // A reduced decode keeps the full size's geometry, so boxes map back to original pixels.
      const size = decoded.reducedFrom ?? image;
      // The letterbox geometry also describes the image to the worker's decode; classify's
      // centre crop has no boxes to map back, so its decode does not use it.
      const geometry = letterboxGeometry(size.width, size.height, netW, netH);
      const { view, previousPad } = batches.placeWithPad();
      // A centre crop fills its whole place, so it leaves no padding a later image could reuse.
      let pad: string | null = null;
      if (opts.preprocess === 'center-crop') classifyInto(image, classifyGeometry(image.width, image.height, netW, netH), view);
      else {
        pad = padKey(geometry);
        letterboxInto(image, geometry, view, 0, previousPad === pad);
      }
      const readyAt = performance.now();
      metrics.record('preprocess', readyAt - decodedAt);
      batches.commit({ seq, job, width: size.width, height: size.height, geometry, image: opts.keepImages ? image : null, startedAt, readyAt }, pad);
    } finally {
      preparing--;
      pump();
    }
  }

  // Feed: one slot per image, so this loop parks whenever the pipeline is full.
  let seq = 0;
  for (const job of jobs) {
    await slots.acquire();
    if (opts.signal?.aborted || outcome.fatal || writer.failure) {
      slots.release();
      break;
    }
    const mySeq = seq++;
    preparing++;
    void decodeLimit(() => prepare(mySeq, job));
  }
  allStarted = true;
  outcome.notStarted = jobs.length - seq;
  writer.expect(seq);
  pump();
  await writer.drained();
  Object.assign(outcome, writer.counts);
  return outcome;
}
