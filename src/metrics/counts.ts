// The one rule for counting results: an image with an error is failed, any other is ok and adds
// its detections. In a batch run one RunCounter counts with it (the guarded sink feeds it) and
// everything else — the pipeline's outcome, the error budget, the report's tally, the progress
// display — reads that counter, so their figures cannot drift apart. Used alone (tests, bench),
// those parts count with this same function.
import type { ImageResult } from '../types.js';

export interface ResultCounts {
  ok: number;
  failed: number;
  detections: number;
}

export function emptyCounts(): ResultCounts {
  return { ok: 0, failed: 0, detections: 0 };
}

/** Adds one written result to `counts` (in place) and returns it. */
export function countResult(counts: ResultCounts, r: ImageResult): ResultCounts {
  if (r.error) counts.failed++;
  else {
    counts.ok++;
    counts.detections += r.detections.length;
  }
  return counts;
}

/**
 * A run's one count, at the two moments that matter: records handed to the output (what the
 * error budget judges) and records whose bytes reached it (the summary, progress, the exit
 * status). Only reliability/guarded-sink.ts adds to it; the rest of the run reads it.
 */
export class RunCounter {
  readonly handed: ResultCounts = emptyCounts();
  readonly committed: ResultCounts = emptyCounts();
}

/** ok + failed: records counted. */
export function counted(c: ResultCounts): number {
  return c.ok + c.failed;
}
