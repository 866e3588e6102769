// Writes results in input order although they complete out of order: a result waits here until
// every earlier image has been written. Counts ok/failed/detections of what it wrote (one rule:
// metrics/counts.ts) — unless the sink already counts (a run's guarded sink), whose counts it then
// reports. Knows nothing about models or images, so it is testable with a fake sink.
//
// Writes are serialised on one promise chain. After a write fails no further record is written
// (later results are still settled, so the run can wind down), and `drained()` rethrows the error.
import { countResult, emptyCounts, type ResultCounts } from '../metrics/counts.js';
import type { ResultSink } from '../outputs/sink.js';
import type { ImageResult, RgbImage } from '../types.js';

export interface OrderedWriterHooks {
  /**
   * Called after each result is written, in input order, with the decoded image when the pipeline
   * kept it (see PipelineOptions.keepImages). Awaited before the next write: back-pressure.
   */
  onWritten?: (result: ImageResult, image: RgbImage | null, startedAt: number) => void | Promise<void>;
  /** Called once per result settled (written, skipped after a write error): frees its slot. */
  onSettled?: () => void;
  /** The counts of a sink that counts what it is handed (a run's counter): read, not counted again. */
  counts?: ResultCounts;
}

export class OrderedWriter {
  /** What reached the sink so far. */
  readonly counts: ResultCounts;
  private readonly counting: boolean;
  private readonly waiting = new Map<number, { result: ImageResult; image: RgbImage | null; startedAt: number }>();
  private next = 0;
  private chain: Promise<void> = Promise.resolve();
  private writeError: Error | null = null;
  private settled = 0;
  private total = Infinity;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(
    private readonly sink: ResultSink,
    private readonly hooks: OrderedWriterHooks = {},
  ) {
    this.counting = hooks.counts === undefined;
    this.counts = hooks.counts ?? emptyCounts();
  }

  /** The first write error, if any: the run should stop feeding new images. */
  get failure(): Error | null {
    return this.writeError;
  }

  /** Hands over the result of the image at position `seq` (0, 1, 2, ... each exactly once). */
  put(seq: number, result: ImageResult, startedAt: number, image: RgbImage | null = null): void {
    if (seq < this.next || this.waiting.has(seq)) throw new Error(`OrderedWriter: result ${seq} handed over twice`);
    this.waiting.set(seq, { result, image, startedAt });
    while (this.waiting.has(this.next)) {
      const entry = this.waiting.get(this.next)!;
      this.waiting.delete(this.next);
      this.next++;
      this.chain = this.chain.then(() => this.write(entry.result, entry.image, entry.startedAt));
      void this.chain.then(() => this.settle());
    }
  }

  /** Fixes how many results will come (`put` 0..total-1); `drained()` resolves after the last. */
  expect(total: number): void {
    this.total = total;
    if (this.settled >= total) this.finish();
  }

  /** Resolves once every expected result is written; throws the write error if one happened. */
  async drained(): Promise<void> {
    await this.finished;
    await this.chain;
    if (this.writeError) throw this.writeError;
  }

  private async write(result: ImageResult, image: RgbImage | null, startedAt: number): Promise<void> {
    if (this.writeError) return;
    try {
      await this.sink.write(result);
    } catch (err) {
      this.writeError = err instanceof Error ? err : new Error(String(err));
      return;
    }
    if (this.counting) countResult(this.counts, result);
    await this.hooks.onWritten?.(result, image, startedAt);
  }

  private settle(): void {
    this.hooks.onSettled?.();
    this.settled++;
    if (this.settled >= this.total) this.finish();
  }
}
