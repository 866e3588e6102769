// Progress while a run works: a redrawn bar when stderr is a terminal, a plain status line every
// N seconds when it is not (cron logs, CI consoles), nothing with --no-progress or --quiet.
// Progress only ever goes to the stream it is given (stderr): stdout may be the results.
import cliProgress from 'cli-progress';
import type { ResultCounts } from './counts.js';

/** Time and timers, injectable so tests can drive progress without waiting. */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    // Progress must never keep a finished (or failing) run alive.
    t.unref();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export type ProgressMode = 'bar' | 'lines' | 'off';

export function chooseProgressMode(o: { progress: 'auto' | 'off'; quiet: boolean; isTTY: boolean }): ProgressMode {
  if (o.progress === 'off' || o.quiet) return 'off';
  return o.isTTY ? 'bar' : 'lines';
}

export interface Progress {
  /** Starts the clock; `total` is the number of images the run will write. */
  start(total: number): void;
  /** One more image written (failed or not), or the run's counts so far (metrics/counts.ts). */
  update(progress: boolean | ResultCounts): void;
  /** Stops timers and clears the bar; safe to call twice or before start. */
  stop(): void;
}

export const NO_PROGRESS: Progress = { start() {}, update() {}, stop() {} };

export interface ProgressState {
  done: number;
  total: number;
  failed: number;
  elapsedMs: number;
}

/** "2m44s", "1h02m", "9s"; "?" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Images per second so far and seconds left at that rate (null until the first image). */
export function rateAndEta(st: ProgressState): { rate: number; etaS: number | null } {
  const rate = st.elapsedMs > 0 ? st.done / (st.elapsedMs / 1000) : 0;
  const etaS = st.done > 0 && rate > 0 ? Math.max(0, st.total - st.done) / rate : null;
  return { rate, etaS };
}

/** `[progress] 1200/5000 images (24%) 23.1 img/s, 3 failed, ETA 2m44s` */
export function formatStatusLine(st: ProgressState): string {
  const { rate, etaS } = rateAndEta(st);
  const pct = st.total > 0 ? Math.floor((100 * st.done) / st.total) : 100;
  return `[progress] ${st.done}/${st.total} images (${pct}%) ${rate.toFixed(1)} img/s, ${st.failed} failed, ETA ${formatDuration(etaS)}`;
}

abstract class Counting implements Progress {
  protected done = 0;
  protected failed = 0;
  protected total = 0;
  protected startedAt = 0;
  constructor(protected readonly clock: Clock) {}

  start(total: number): void {
    this.total = total;
    this.startedAt = this.clock.now();
  }

  update(progress: boolean | ResultCounts): void {
    if (typeof progress === 'boolean') {
      this.done++;
      if (progress) this.failed++;
    } else {
      this.done = progress.ok + progress.failed;
      this.failed = progress.failed;
    }
  }

  abstract stop(): void;

  protected state(): ProgressState {
    return { done: this.done, total: this.total, failed: this.failed, elapsedMs: this.clock.now() - this.startedAt };
  }
}

/** A status line every `intervalSec`, whether or not images finished since: it doubles as a heartbeat. */
export class StatusLines extends Counting {
  private timer: unknown = null;
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly intervalSec: number,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    super(clock);
  }

  override start(total: number): void {
    super.start(total);
    this.timer = this.clock.setInterval(() => this.print(), this.intervalSec * 1000);
  }

  override stop(): void {
    if (this.timer !== null) this.clock.clearInterval(this.timer);
    this.timer = null;
  }

  print(): void {
    this.stream.write(`${formatStatusLine(this.state())}\n`);
  }
}

/** The terminal bar (cli-progress), redrawn in place at most 10 times a second. */
export class Bar extends Counting {
  private readonly bar: cliProgress.SingleBar;
  private active = false;
  constructor(stream: NodeJS.WritableStream, clock: Clock = SYSTEM_CLOCK) {
    super(clock);
    this.bar = new cliProgress.SingleBar({
      stream,
      format: '{bar} {value}/{total} images {percentage}% | {rate} img/s | {failed} failed | ETA {eta_text}',
      barsize: 30,
      clearOnComplete: true,
      hideCursor: false, // a killed run must not leave the terminal without a cursor
      linewrap: false,
      fps: 10,
    });
  }

  override start(total: number): void {
    super.start(total);
    this.bar.start(total, 0, this.payload());
    this.active = true;
  }

  override update(progress: boolean | ResultCounts): void {
    super.update(progress);
    if (this.active) this.bar.update(this.done, this.payload());
  }

  override stop(): void {
    if (!this.active) return;
    this.active = false;
    this.bar.stop();
  }

  private payload(): Record<string, string | number> {
    const { rate, etaS } = rateAndEta(this.state());
    return { rate: rate.toFixed(1), failed: this.failed, eta_text: formatDuration(etaS) };
  }
}

export function createProgress(mode: ProgressMode, opts: { stream: NodeJS.WritableStream; intervalSec: number; clock?: Clock }): Progress {
  if (mode === 'bar') return new Bar(opts.stream, opts.clock);
  if (mode === 'lines') return new StatusLines(opts.stream, opts.intervalSec, opts.clock);
  return NO_PROGRESS;
}
