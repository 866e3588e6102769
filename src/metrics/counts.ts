// The one rule for counting results: an image with an error is failed, any other is ok and adds
// its detections. The pipeline's outcome, the guarded sink's tally and the run report all count
// with this function, so their figures cannot drift apart.
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
