// Everything `batch` reports about a run, gathered in one object so the orchestration (commands/batch.ts)
// only makes a few calls: hand `metrics` and `onResult` to the pipeline, start/stop progress,
// and `finish` at the end, which prints the text summary and writes --summary.
import { stat } from 'node:fs/promises';
import type { RunConfig } from '../config.js';
import { EXIT_SOME_FAILED, worse, type ExitCode } from '../exit-codes.js';
import type { Parallelism } from '../inference/plan.js';
import type { DeviceKind } from '../inference/protocol.js';
import { sha256File } from '../model/digest.js';
import type { ResolvedModel } from '../model/resolve.js';
import type { ImageResult, OutputLayout, PostprocessOptions } from '../types.js';
import { chooseProgressMode, createProgress, NO_PROGRESS, type Clock, type Progress } from './progress.js';
import { StageHistograms } from './recorder.js';
import { buildSummary, formatSummaryText, type DeviceSummary, type ModelSummary, type RunSummary } from './summary.js';
import { writeSummaryFile } from './summary-file.js';
import { ResultTally } from './tally.js';
import type { ResultCounts } from './counts.js';

export interface ReportIo {
  stderr: NodeJS.WritableStream;
  /** Where `--summary -` goes; default process.stdout. */
  stdout?: NodeJS.WritableStream;
  clock?: Clock;
  /** The run's counter of records that reached the output (read; the guarded sink counts). */
  counts?: ResultCounts;
}

export interface FinishInput {
  exitCode: ExitCode;
  outcome: { ok: number; failed: number; detections: number; notStarted: number };
  /** Non-image files skipped while expanding the inputs. */
  skipped: number;
  model: ResolvedModel;
  /** The layout actually used (settled by the probe run when the model left it pending). */
  layout: OutputLayout;
  device: { used: DeviceKind; skipped: { device: DeviceKind; reason: string }[]; failed: { device: DeviceKind; reason: string }[] };
  parallelism: Parallelism;
  /** Set by signal handling: the run was stopped before finishing its inputs. */
  interrupted?: boolean;
  stopReason?: string | null;
  /** The postprocessing actually used (--classes resolved to ids); default: the config's. */
  post?: PostprocessOptions;
  /** The model file's digest and size as read at the start of the run (default: read now). */
  modelFile?: { sha256: string; size: number };
}

const PROVIDER_NAMES: Record<DeviceKind, string> = {
  cpu: 'CPUExecutionProvider',
  cuda: 'CUDAExecutionProvider',
  tensorrt: 'TensorrtExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
};

export class RunReport {
  readonly metrics = new StageHistograms();
  private readonly tally: ResultTally;
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private pipelineStart: number | null = null;
  private progress: Progress = NO_PROGRESS;

  constructor(
    private readonly cfg: RunConfig,
    private readonly io: ReportIo,
  ) {
    this.tally = new ResultTally(io.counts);
  }

  /** Call when the first image is about to start; `total` is the number of images to process. */
  startProgress(total: number): void {
    this.pipelineStart = performance.now();
    const isTTY = Boolean((this.io.stderr as { isTTY?: boolean }).isTTY);
    const mode = chooseProgressMode({ progress: this.cfg.progress, quiet: this.cfg.quiet, isTTY });
    this.progress = createProgress(mode, { stream: this.io.stderr, intervalSec: this.cfg.progressIntervalSec, clock: this.io.clock });
    this.progress.start(total);
  }

  /** The pipeline's onResult: every written result passes through here. */
  onResult(r: ImageResult): void {
    this.tally.add(r);
    this.progress.update(this.io.counts ?? r.error !== null);
  }

  stopProgress(): void {
    this.progress.stop();
  }

  /**
   * Builds the summary, prints its text form on stderr (also under --quiet: it is the one thing
   * quiet keeps) and writes --summary. Returns the exit code to use: a summary that could not be
   * written turns a clean exit into 1, since a CI step would otherwise read a stale file.
   */
  async finish(f: FinishInput): Promise<{ summary: RunSummary; exitCode: ExitCode }> {
    this.stopProgress();
    const post = f.post ?? this.cfg.post;
    const wallMs = performance.now() - this.t0;
    const summary = buildSummary({
      startedAt: this.startedAt,
      wallMs,
      startupMs: (this.pipelineStart ?? performance.now()) - this.t0,
      exitCode: f.exitCode,
      interrupted: f.interrupted ?? false,
      stopReason: f.stopReason ?? null,
      images: {
        total: f.outcome.ok + f.outcome.failed + f.outcome.notStarted,
        ok: f.outcome.ok,
        failed: f.outcome.failed,
        skipped: f.skipped,
        notStarted: f.outcome.notStarted,
      },
      detections: f.outcome.detections,
      tally: this.tally,
      stages: this.metrics,
      model: await modelSummary(f.model, f.layout, f.modelFile),
      device: deviceSummary(this.cfg.device, f.device),
      parallelism: { batch: f.parallelism.batch, workers: f.parallelism.workers, threads: f.parallelism.threads, decode_concurrency: this.cfg.decodeConcurrency },
      settings: {
        conf: post.conf,
        iou: post.iou,
        max_det: post.maxDet,
        classes: post.classes,
        agnostic_nms: post.agnostic,
        max_pixels: this.cfg.maxPixels,
      },
      output: { path: this.cfg.out, format: this.cfg.format },
      inputs: this.cfg.inputs,
    });
    this.io.stderr.write(`${formatSummaryText(summary)}\n`);
    let exitCode: ExitCode = f.exitCode;
    if (this.cfg.summaryPath !== null) {
      try {
        await writeSummaryFile(this.cfg.summaryPath, summary, this.io.stdout);
      } catch (err) {
        this.io.stderr.write(`yolo-serve: error: cannot write summary ${this.cfg.summaryPath}: ${(err as Error).message}\n`);
        exitCode = worse(exitCode, EXIT_SOME_FAILED);
      }
    }
    return { summary, exitCode };
  }
}

export async function modelSummary(m: ResolvedModel, layout: OutputLayout = m.layout, file?: { sha256: string; size: number }): Promise<ModelSummary> {
  // A run passes the digest it put in the output's header (read once); otherwise the file is read here.
  const [sha256, size] = file
    ? [file.sha256, file.size]
    : await Promise.all([sha256File(m.path).catch(() => null), stat(m.path).then((s) => s.size).catch(() => null)]);
  return {
    path: m.path,
    sha256,
    size_bytes: size,
    layout,
    input: { name: m.inputName, dtype: m.inputType, shape: m.inputShape },
    output: { name: m.outputName, dtype: m.outputType, shape: m.outputShape },
    imgsz: m.imgsz,
    classes: m.names.length,
    names_source: m.namesSource,
    dtype: m.inputType,
    dynamic_batch: m.dynamicBatch,
    dynamic_spatial: m.dynamicSpatial,
    end2end: m.end2end,
    task: m.task,
    stride: m.stride,
  };
}

export function deviceSummary(requested: string, d: FinishInput['device']): DeviceSummary {
  return {
    requested,
    used: d.used,
    provider: PROVIDER_NAMES[d.used],
    fallbacks: [...d.skipped.map((s) => ({ ...s, tried: false })), ...d.failed.map((s) => ({ ...s, tried: true }))],
  };
}
