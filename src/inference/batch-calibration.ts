// `--batch auto` on a GPU: the batch size is measured, not assumed. How many images a GPU needs
// per call to stay busy depends on the GPU, the model and the input size (a nano model at 320
// saturates later than a large one at 1280), so at start-up the session times a few candidate
// batch sizes on a blank input and the run uses the one with the best images/s — stopping early
// once doubling the batch no longer buys a clear gain, since a larger batch then only adds
// latency and memory. On CPU batching does not help (README, "Automatic choices") and nothing
// is measured.
//
// Pure apart from the timer it is given, so the choice is testable with a fake clock.

/** Times `runs` consecutive session.run calls of `batch` blank images; ms for each run. Throws if the batch cannot run (e.g. out of device memory). */
export type BatchTimer = (batch: number, runs: number) => Promise<number[]>;

export interface CalibrationOptions {
  /** Batch sizes to try, ascending (default 1, 2, 4, 8, 16, 32). */
  candidates?: readonly number[];
  /** Runs per candidate; the first is a warm-up and not counted (default 4). */
  runs?: number;
  /** A candidate must beat the best so far by this factor in images/s to continue (default 1.1). */
  minGain?: number;
  /** Stop trying larger batches once calibration has used this many ms of measured runs (default 5000). */
  budgetMs?: number;
}

export interface CalibrationStep {
  batch: number;
  /** Median ms per run (warm-up excluded); NaN when the batch failed. */
  msPerRun: number;
  imagesPerSecond: number;
  error?: string;
}

export interface Calibration {
  batch: number;
  steps: CalibrationStep[];
  /** Why the search stopped: every candidate tried, gain below minGain, a failure, or the budget. */
  stop: 'all' | 'no-gain' | 'failed' | 'budget';
  minGain: number;
}

export const DEFAULT_CANDIDATES = [1, 2, 4, 8, 16, 32] as const;

/**
 * Host memory one batch buffer may take. The pipeline holds about three batches at once (one
 * running, one queued, one forming), so this keeps batching's memory under ~0.5 GB: batch 32 at
 * 640×640 float32 is 157 MB; at 1280×1280 the largest candidate becomes 8.
 */
export const MAX_BATCH_BYTES = 160 * 1024 * 1024;

/** The default candidates whose float32 input of h×w images fits MAX_BATCH_BYTES (at least 1). */
export function candidatesFor(h: number, w: number, maxBytes = MAX_BATCH_BYTES): number[] {
  const fit = DEFAULT_CANDIDATES.filter((b) => b * 3 * h * w * 4 <= maxBytes);
  return fit.length > 0 ? fit : [1];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function calibrateBatch(time: BatchTimer, opts: CalibrationOptions = {}): Promise<Calibration> {
  const candidates = opts.candidates ?? DEFAULT_CANDIDATES;
  const runs = Math.max(2, opts.runs ?? 4);
  const minGain = opts.minGain ?? 1.1;
  const budgetMs = opts.budgetMs ?? 5000;
  const steps: CalibrationStep[] = [];
  let best: CalibrationStep | null = null;
  let spent = 0;
  for (const batch of candidates) {
    let ms: number[];
    try {
      ms = await time(batch, runs);
    } catch (err) {
      steps.push({ batch, msPerRun: NaN, imagesPerSecond: 0, error: err instanceof Error ? err.message : String(err) });
      return { batch: best?.batch ?? 1, steps, stop: 'failed', minGain };
    }
    spent += ms.reduce((a, b) => a + b, 0);
    const msPerRun = median(ms.slice(1));
    const step: CalibrationStep = { batch, msPerRun, imagesPerSecond: msPerRun > 0 ? (1000 * batch) / msPerRun : Infinity };
    steps.push(step);
    if (best && step.imagesPerSecond < best.imagesPerSecond * minGain) {
      return { batch: step.imagesPerSecond > best.imagesPerSecond ? step.batch : best.batch, steps, stop: 'no-gain', minGain };
    }
    best = step;
    if (spent >= budgetMs) return { batch: best.batch, steps, stop: 'budget', minGain };
  }
  return { batch: best?.batch ?? 1, steps, stop: 'all', minGain };
}

/** One line for --verbose: what was measured and what was chosen. */
export function describeCalibration(c: Calibration): string {
  const tried = c.steps.map((s) => (s.error ? `${s.batch}: failed (${s.error})` : `${s.batch}: ${s.imagesPerSecond.toFixed(0)}/s`)).join(', ');
  const why = { all: 'largest tried', 'no-gain': `the next size gained < ${Math.round((c.minGain - 1) * 100)}%`, failed: 'the next size failed', budget: 'time budget reached' }[c.stop];
  return `batch auto: ${c.batch} (images/s by batch size — ${tried}; ${why})`;
}
