// The error budget: --max-failures N / --max-failure-rate R stop a run that is failing far more
// than expected (a wrong mount, a wrong file list) instead of writing 500,000 error records.
// Pure bookkeeping: the caller feeds every written record and acts on the verdict. In a run the
// budget reads the run's counter (`judge`); alone it counts for itself (`record`).
import { countResult, counted, emptyCounts, type ResultCounts } from '../metrics/counts.js';
import type { ImageResult } from '../types.js';

/** The rate is not judged before this many images are done: 1 failure in 3 images says little. */
export const MIN_RATE_SAMPLE = 20;

export interface ErrorBudgetLimits {
  /** Stop once more than this many images have failed; null: no limit. */
  maxFailures: number | null;
  /** Stop once more than this fraction has failed (judged from MIN_RATE_SAMPLE images); null: no limit. */
  maxFailureRate: number | null;
  /** Override for MIN_RATE_SAMPLE (tests). */
  minRateSample?: number;
}

export class ErrorBudget {
  private readonly own: ResultCounts = emptyCounts();
  private exceeded: string | null = null;

  constructor(private readonly limits: ErrorBudgetLimits) {}

  /**
   * Counts one written record. Returns the stop message the first time the budget is exceeded,
   * null otherwise (including every call after that first one).
   */
  record(r: ImageResult): string | null {
    return this.judge(countResult(this.own, r), r);
  }

  /**
   * The verdict after `last` was counted into `counts` (the run's counter of records handed to the
   * output): the stop message the first time the budget is exceeded, else null.
   */
  judge(counts: ResultCounts, last: Pick<ImageResult, 'path' | 'error'>): string | null {
    if (!last.error || this.exceeded !== null) return null;
    const done = counted(counts);
    const why = this.breach(counts.failed, done);
    if (why === null) return null;
    this.exceeded = `stopping: ${counts.failed} of ${done} images failed (${percent(counts.failed / done)}), ${why} — last error: ${describeError(last)}`;
    return this.exceeded;
  }

  /** The stop message once the budget has been exceeded. */
  get exceededMessage(): string | null {
    return this.exceeded;
  }

  private breach(failed: number, done: number): string | null {
    const { maxFailures, maxFailureRate } = this.limits;
    if (maxFailures !== null && failed > maxFailures) return `above --max-failures ${maxFailures}`;
    const minSample = this.limits.minRateSample ?? MIN_RATE_SAMPLE;
    if (maxFailureRate !== null && done >= minSample && failed / done > maxFailureRate) {
      return `above --max-failure-rate ${maxFailureRate}`;
    }
    return null;
  }
}

function percent(x: number): string {
  const p = x * 100;
  return `${p >= 10 || Number.isInteger(p) ? Math.round(p) : p.toFixed(1)}%`;
}

/** "CODE: message", naming the path when the message does not already start with it. */
export function describeError(r: Pick<ImageResult, 'path' | 'error'>): string {
  if (!r.error) return '';
  const { code, message } = r.error;
  return message.startsWith(r.path) ? `${code}: ${message}` : `${code}: ${r.path}: ${message}`;
}
