// Everything that can stop a run early, in one place: SIGINT/SIGTERM, the error budget, a broken
// inference worker, an output that cannot be written. Each stop goes the same way — no new
// images start, the ones in flight finish (for at most DRAIN_TIMEOUT_MS) and are written, the
// output is flushed and closed — so the output always ends in a whole record and --resume can
// continue it. The guard then turns what happened into one exit code and a message.
import type { PipelineOutcome } from '../pipeline.js';
import type { ResultSink } from '../outputs/sink.js';
import { isOutputClosed } from '../outputs/sink.js';
import type { ImageResult } from '../types.js';
import type { ResultCounts, RunCounter } from '../metrics/counts.js';
import { ErrorBudget } from './error-budget.js';
import { GuardedSink, OutputError } from './guarded-sink.js';
import type { SignalProcess, StopSignal } from './signals.js';
import { SIGNAL_EXIT_CODES, dieBySignal, handleStopSignals } from './signals.js';

// Exit codes: src/exit-codes.ts (3: the run broke; --resume continues it).
import { EXIT_OK, EXIT_OUTPUT_CLOSED, EXIT_RUN_FAILED, EXIT_SOME_FAILED, worse, type ExitCode } from '../exit-codes.js';
export { EXIT_OUTPUT_CLOSED, EXIT_RUN_FAILED } from '../exit-codes.js';

/** How long images already in flight may take to finish after a stop before they are abandoned. */
export const DRAIN_TIMEOUT_MS = 10_000;
/** After a second signal, how long the output may take to flush the records already written. */
export const FORCE_CLOSE_TIMEOUT_MS = 2_000;

/** Why a run ended before its last image; null in RunResult.stop when it did not. */
export type StopReason =
  | { kind: 'signal'; signal: StopSignal }
  | { kind: 'error-budget'; message: string }
  | { kind: 'inference-failed'; message: string }
  | { kind: 'output-failed'; message: string }
  /** The pipe the results went to was closed by its reader (EPIPE): stop quietly. */
  | { kind: 'output-closed'; message: string };

/** How a run ended: what commands/batch.ts returns and what the summary writer reports. */
export interface RunResult {
  exitCode: ExitCode;
  /** True when SIGINT/SIGTERM stopped the run (summary: "interrupted": true). */
  interrupted: boolean;
  /** The (most severe) reason the run stopped early; null when every image was processed. */
  stop: StopReason | null;
}

export interface RunGuardOptions {
  maxFailures: number | null;
  maxFailureRate: number | null;
  /** Where SIGINT/SIGTERM come from (the real `process` in the CLI); none: no signal handling. */
  signals?: SignalProcess;
  stderr: NodeJS.WritableStream;
  drainTimeoutMs?: number;
  forceCloseTimeoutMs?: number;
  /** Runs just before a second signal kills the process (finally blocks will not run): release the output lock. */
  beforeDie?: () => void;
}

/** The exit status each stop reason ends the run with; which reason wins is exit-codes.ts's `worse`. */
export function stopExitCode(stop: StopReason): ExitCode {
  switch (stop.kind) {
    case 'error-budget':
      return EXIT_SOME_FAILED;
    case 'signal':
      return SIGNAL_EXIT_CODES[stop.signal];
    case 'output-closed':
      return EXIT_OUTPUT_CLOSED;
    case 'inference-failed':
    case 'output-failed':
      return EXIT_RUN_FAILED;
  }
}

const ABANDONED = Symbol('abandoned');

export class RunGuard {
  private readonly controller = new AbortController();
  private readonly budget: ErrorBudget;
  private readonly disposeSignals: () => void;
  private sink: GuardedSink | null = null;
  private reason: StopReason | null = null;
  private interruptedBy: StopSignal | null = null;
  /** In-flight images dropped because they did not finish within the drain timeout. */
  private abandoned = false;

  constructor(private readonly opts: RunGuardOptions) {
    this.budget = new ErrorBudget({ maxFailures: opts.maxFailures, maxFailureRate: opts.maxFailureRate });
    this.disposeSignals = opts.signals
      ? handleStopSignals(opts.signals, { onFirst: (s) => this.onFirstSignal(s), onRepeat: (s) => this.onRepeatSignal(s) })
      : () => {};
  }

  /** Aborted when the run must stop taking new images (pass to the pipeline). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stop(): StopReason | null {
    return this.reason;
  }

  /**
   * Wraps the output so the guard sees every record written (error budget, counts, sealing);
   * `onCommitted` sees each record once it has reached the output (the run report).
   */
  guardSink(inner: ResultSink, onCommitted?: (r: ImageResult) => void, counter?: RunCounter): GuardedSink {
    const sink = new GuardedSink(inner, (r) => this.onWritten(sink.counter.handed, r), onCommitted, counter);
    this.sink = sink;
    return sink;
  }

  /**
   * Runs the pipeline over `total` jobs into `sink` (from guardSink) and closes the sink. Never
   * throws for a stop: output failures, a broken worker or an abandoned drain come back as an
   * outcome (counted from what was really written) and as `stop`.
   */
  async drive(sink: GuardedSink, total: number, run: (signal: AbortSignal) => Promise<PipelineOutcome>): Promise<PipelineOutcome> {
    const pipeline = run(this.signal);
    // After an abandoned drain nobody awaits the pipeline any more; its late errors are moot.
    pipeline.catch(() => {});
    const fromTally = (): PipelineOutcome => ({
      ok: sink.tally.ok,
      failed: sink.tally.failed,
      detections: sink.tally.detections,
      notStarted: total - sink.written,
      fatal: null,
      // The pipeline never returned its own counts: how many session.run calls it made is unknown.
      batches: 0,
      batchSizes: [],
    });

    let outcome: PipelineOutcome;
    const deadline = drainDeadline(this.signal, this.opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
    try {
      const first = await Promise.race([pipeline, deadline.promise]);
      if (first === ABANDONED) {
        sink.seal();
        this.abandoned = true;
        outcome = fromTally();
      } else {
        outcome = first;
      }
    } catch (err) {
      if (!(err instanceof OutputError)) {
        await sink.close().catch(() => {});
        throw err;
      }
      this.stopWith(outputStop(err));
      outcome = fromTally();
    } finally {
      deadline.cancel();
    }

    try {
      await sink.close();
    } catch (err) {
      if (!(err instanceof OutputError)) throw err;
      this.stopWith(outputStop(err));
    }
    if (outcome.fatal) this.stopWith({ kind: 'inference-failed', message: outcome.fatal.message });
    // Counts come from what reached the output: after a write error, records the pipeline handed
    // over but the OS never took are not "ok" — they are left for --resume.
    return { ...outcome, ok: sink.tally.ok, failed: sink.tally.failed, detections: sink.tally.detections, notStarted: total - sink.written };
  }

  /**
   * Prints why the run stopped (if it did) and returns the exit code. `keptFailures` counts
   * images an earlier run recorded as failed that this run skipped: they still make the output's
   * final state "some images failed".
   */
  finish(outcome: PipelineOutcome, keptFailures = 0): RunResult {
    const err = (line: string): void => void this.opts.stderr.write(`yolo-serve: ${line}\n`);
    const left = outcome.notStarted;
    const resumeHint = left > 0 ? `${left} images not processed; rerun the same command with --resume to continue` : null;
    const stop = this.reason;
    if (this.abandoned) err(`images still in flight after ${(this.opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS) / 1000}s were abandoned (not written)`);
    switch (stop?.kind) {
      case 'output-closed':
        // Whoever read the pipe has what they wanted (`| head`): no error, no resume advice.
        break;
      case 'output-failed':
      case 'inference-failed':
        err(`error: ${stop.message}`);
        err(`the run stopped; the output keeps every record written so far${resumeHint ? `; ${resumeHint}` : ''}`);
        break;
      case 'signal':
        err(`interrupted by ${stop.signal}${resumeHint ? `: ${resumeHint}` : ''}`);
        break;
      case 'error-budget':
        // The stop message itself was printed when the budget ran out.
        if (resumeHint) err(`${resumeHint} (--retry-failed also redoes the failed ones)`);
        break;
    }
    const exitCode = stop ? stopExitCode(stop) : outcome.failed + keptFailures > 0 ? EXIT_SOME_FAILED : EXIT_OK;
    return { exitCode, interrupted: this.interruptedBy !== null, stop };
  }

  /** Restores default signal behaviour; call once the outputs are closed. */
  dispose(): void {
    this.disposeSignals();
  }

  private stopWith(reason: StopReason): void {
    // The more severe reason explains the run's end; of two as severe, the first.
    if (!this.reason || worse(stopExitCode(this.reason), stopExitCode(reason)) !== stopExitCode(this.reason)) this.reason = reason;
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private onWritten(handed: ResultCounts, r: ImageResult): void {
    const exceeded = this.budget.judge(handed, r);
    if (exceeded === null) return;
    this.opts.stderr.write(`yolo-serve: ${exceeded}\n`);
    this.stopWith({ kind: 'error-budget', message: exceeded });
  }

  private onFirstSignal(signal: StopSignal): void {
    this.interruptedBy = signal;
    const s = (this.opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS) / 1000;
    // On a terminal, start a fresh line after the echoed ^C (or a progress bar).
    const nl = (this.opts.stderr as { isTTY?: boolean }).isTTY ? '\n' : '';
    this.opts.stderr.write(`${nl}yolo-serve: ${signal} received: finishing the images in flight (at most ${s}s), then stopping; ${signal} again exits at once\n`);
    this.stopWith({ kind: 'signal', signal });
  }

  private onRepeatSignal(signal: StopSignal): void {
    this.opts.stderr.write(`yolo-serve: ${signal} again: exiting now\n`);
    const exit = (): void => {
      this.disposeSignals();
      this.opts.beforeDie?.();
      if (this.opts.signals) dieBySignal(this.opts.signals, this.interruptedBy ?? signal);
    };
    const sink = this.sink;
    if (!sink) return exit();
    // No record after this one; flush what was already handed to the output (whole records)
    // unless even that hangs.
    sink.seal();
    const timer = setTimeout(exit, this.opts.forceCloseTimeoutMs ?? FORCE_CLOSE_TIMEOUT_MS);
    sink.close().then(
      () => {
        clearTimeout(timer);
        exit();
      },
      () => {
        clearTimeout(timer);
        exit();
      },
    );
  }
}

function outputStop(err: OutputError): StopReason {
  return isOutputClosed(err) ? { kind: 'output-closed', message: 'the output pipe was closed by its reader' } : { kind: 'output-failed', message: err.message };
}

/** Resolves to ABANDONED `ms` after `signal` aborts (never, if it does not). */
function drainDeadline(signal: AbortSignal, ms: number): { promise: Promise<typeof ABANDONED>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => {};
  const promise = new Promise<typeof ABANDONED>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(ABANDONED), ms);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    promise,
    cancel: () => {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    },
  };
}
