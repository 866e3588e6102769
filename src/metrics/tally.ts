// Counts what the written results say: failures by error code and detections by class. Fed one
// result at a time (the pipeline's onResult), so memory grows with the number of classes only.
// Its ok/failed/detections are the run's counter when it is given one (read, not counted again).
import type { ImageResult } from '../types.js';
import { countResult, emptyCounts, type ResultCounts } from './counts.js';

export interface ClassCount {
  class: number;
  name: string;
  count: number;
}

export class ResultTally {
  private readonly counts: ResultCounts;
  private readonly counting: boolean;
  private readonly failures = new Map<string, number>();
  private readonly classes = new Map<number, ClassCount>();

  /** `counts`: the run's counter, which already counted each result handed to `add`. */
  constructor(counts?: ResultCounts) {
    this.counting = counts === undefined;
    this.counts = counts ?? emptyCounts();
  }

  get ok(): number {
    return this.counts.ok;
  }

  get failed(): number {
    return this.counts.failed;
  }

  get detections(): number {
    return this.counts.detections;
  }

  add(r: ImageResult): void {
    if (this.counting) countResult(this.counts, r);
    if (r.error) {
      this.failures.set(r.error.code, (this.failures.get(r.error.code) ?? 0) + 1);
      return;
    }
    for (const d of r.detections) {
      const c = this.classes.get(d.class);
      if (c) c.count++;
      else this.classes.set(d.class, { class: d.class, name: d.name, count: 1 });
    }
  }

  /** Failure counts by code, codes in alphabetical order (stable JSON). */
  failuresByCode(): Record<string, number> {
    return sortedRecord(this.failures);
  }

  /** Per-class detection counts, most frequent first, ties by class id. */
  perClass(): ClassCount[] {
    return sortClassCounts([...this.classes.values()].map((c) => ({ ...c })));
  }
}

export function sortClassCounts(counts: ClassCount[]): ClassCount[] {
  return counts.sort((a, b) => b.count - a.count || a.class - b.class);
}

export function sortedRecord(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
