// Merging the shards' run summaries (--summaries ... --summary-out FILE).
// Placeholder until the summary schema (metrics/summary.ts: RunSummary, mergeSummaries) lands on
// this branch: the lead replaces the body with
//   read each file as RunSummary → mergeSummaries(list) → write JSON to `out`.
// It runs before the records are merged, so an unavailable summary merge costs no output.
import { UsageError } from '../config.js';

export async function mergeSummaryFiles(parts: readonly string[], out: string): Promise<void> {
  void parts;
  void out;
  throw new UsageError('--summaries: merging run summaries is not available in this build');
}
