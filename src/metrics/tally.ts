// Counts what the written results say: failures by error code and detections by class. Fed one
// result at a time (the pipeline's onResult), so memory grows with the number of classes only.
import type { ImageResult } from '../types.js';
import { countResult } from './counts.js';

export interface ClassCount {
  class: number;
  name: string;
  count: number;
}

export class ResultTally {
  ok = 0;
  failed = 0;
  detections = 0;
  private readonly failures = new Map<string, number>();
  private readonly classes = new Map<number, ClassCount>();

  add(r: ImageResult): void {
    countResult(this, r);
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
