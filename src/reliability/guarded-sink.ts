// A ResultSink wrapper that (1) counts what really reached the output — records whose bytes the
// OS took, not records merely handed to a stream that later failed — (2) can be sealed so that
// images still in flight after an interruption are dropped rather than half-handled — resume
// redoes them — and (3) turns any write failure into an OutputError, so a full disk is told apart
// from a bug and stops the run with a clear message.
import { RunCounter, countResult, counted, type ResultCounts } from '../metrics/counts.js';
import type { ResultSink } from '../outputs/sink.js';
import type { ImageResult } from '../types.js';

/** The results could not be written (disk full, I/O error, file gone). */
export class OutputError extends Error {}

export type WrittenTally = ResultCounts;

export class GuardedSink implements ResultSink {
  private sealed = false;
  private closing: Promise<void> | null = null;
  private readonly commitsOnAccept: boolean;

  constructor(
    private readonly inner: ResultSink,
    /** Called after each record is handed to the output (error budget). */
    private readonly onWritten: (r: ImageResult) => void = () => {},
    /** Called once a record has reached the output (counts, progress, the run report). */
    private readonly onCommitted: (r: ImageResult) => void = () => {},
    /** The run's one counter: this sink is what adds to it (metrics/counts.ts). */
    readonly counter: RunCounter = new RunCounter(),
  ) {
    this.commitsOnAccept = inner.setCommitListener === undefined;
    inner.setCommitListener?.((r) => this.commit(r));
  }

  get format(): ResultSink['format'] {
    return this.inner.format;
  }

  /** What reached the output (see ResultSink.setCommitListener). */
  get tally(): WrittenTally {
    return this.counter.committed;
  }

  /** Records that reached the output. */
  get written(): number {
    return counted(this.counter.committed);
  }

  /** Records handed to the output (some may still be lost to a write error). */
  get handedOver(): number {
    return counted(this.counter.handed);
  }

  async write(r: ImageResult): Promise<void> {
    if (this.sealed) return;
    try {
      // One record, one write call: the sinks format an image's whole record (every CSV row of
      // it) into one string, so the file only ever grows by whole records.
      await this.inner.write(r);
    } catch (err) {
      throw asOutputError(err);
    }
    countResult(this.counter.handed, r);
    if (this.commitsOnAccept) this.commit(r);
    this.onWritten(r);
  }

  private commit(r: ImageResult): void {
    countResult(this.counter.committed, r);
    this.onCommitted(r);
  }

  /** From now on records are dropped; what was already written stays and is flushed by close(). */
  seal(): void {
    this.sealed = true;
  }

  /** Idempotent: every caller waits for the same flush (a second signal must not cut it short). */
  close(): Promise<void> {
    this.closing ??= this.inner.close().catch((err: unknown) => {
      throw asOutputError(err);
    });
    return this.closing;
  }
}

function asOutputError(err: unknown): OutputError {
  if (err instanceof OutputError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OutputError(message, { cause: err });
}
