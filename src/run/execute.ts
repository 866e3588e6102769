// execute: the pipeline over the planned jobs, driven by the run guard (which stops it gracefully
// on a signal, the error budget or a broken output) and watched by the run's observers.
import type { RunConfig } from '../config.js';
import type { InferencePool } from '../inference/pool.js';
import type { RunReport } from '../metrics/report.js';
import { runPipeline, type PipelineOutcome } from '../pipeline.js';
import { DecodeBudget, type DecodeOptions } from '../preprocess/decode.js';
import type { GuardedSink } from '../reliability/guarded-sink.js';
import type { RunGuard } from '../reliability/run-guard.js';
import { taskNamed } from '../tasks/registry.js';
import type { ImageJob } from '../types.js';
import type { Observers } from './observers.js';
import type { ResolvedRun } from './open.js';

export interface ExecuteParts {
  run: ResolvedRun;
  pool: InferencePool;
  guard: RunGuard;
  sink: GuardedSink;
  report: RunReport;
  observers: Observers;
}

type ExecuteConfig = Pick<RunConfig, 'decodeConcurrency' | 'maxPixels' | 'maxFileBytes' | 'allowVector' | 'fastDecode' | 'verbose'>;

/** Runs `jobs` to the end (or to a stop); the outcome counts what reached the output. */
export async function execute(cfg: ExecuteConfig, jobs: readonly ImageJob[], p: ExecuteParts, say: (line: string) => void): Promise<PipelineOutcome> {
  const { run, observers } = p;
  p.report.startProgress(jobs.length);
  const outcome = await p.guard.drive(p.sink, jobs.length, (signal) =>
    runPipeline(jobs, p.pool, p.sink, {
      imgsz: run.imgsz,
      batch: run.parallelism.batch,
      decodeConcurrency: cfg.decodeConcurrency,
      maxPixels: cfg.maxPixels,
      fastDecode: cfg.fastDecode,
      preprocess: taskNamed(run.task)!.preprocess,
      decode: decodeOptions(cfg),
      metrics: p.report.metrics,
      onWritten: observers.watchesWrites ? (r, image) => observers.written(r, image) : undefined,
      keepImages: observers.keepImages,
      counts: p.sink.counter.handed,
      signal,
    }),
  );
  // Images still being drawn belong to this run: its wall time and the report include them.
  await observers.flush();
  // The bar must be gone before the guard explains why the run stopped.
  p.report.stopProgress();
  if (cfg.verbose) {
    const sizes = outcome.batchSizes.map((n, size) => (n > 0 ? `${size}×${n}` : '')).filter(Boolean).join(', ');
    say(`inference: ${outcome.batches} runs; images per run: ${sizes || 'none'}`);
  }
  return outcome;
}

/** One run's decode settings; its budget is shared by all of the run's decodes. */
export function decodeOptions(cfg: Pick<RunConfig, 'maxPixels' | 'maxFileBytes' | 'allowVector'>): DecodeOptions {
  return { maxPixels: cfg.maxPixels, maxFileBytes: cfg.maxFileBytes, allowVector: cfg.allowVector, budget: DecodeBudget.forLimits(cfg.maxPixels, cfg.maxFileBytes) };
}
