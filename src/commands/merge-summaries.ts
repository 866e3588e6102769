// Merging the shards' run summaries (--summaries ... --summary-out FILE): read and check each one,
// merge them (counts summed, latency histograms merged, wall time = first start to last end),
// write the result atomically.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../config.js';
import { mergeSummaries, parseSummary, type RunSummary } from '../metrics/summary.js';
import { writeSummaryFile } from '../metrics/summary-file.js';

export async function mergeSummaryFiles(parts: readonly string[], out: string): Promise<void> {
  await writeSummaryFile(out, await readMergedSummary(parts, '--summaries'));
}

/** Reads and checks each summary file and merges them into one (one file: itself). `flag` names the option in errors. */
export async function readMergedSummary(parts: readonly string[], flag: string): Promise<RunSummary> {
  const summaries: RunSummary[] = [];
  for (const file of parts) {
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      throw new UsageError(`cannot read summary ${file}: ${err.message}`);
    });
    try {
      summaries.push(parseSummary(text, file));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  try {
    return mergeSummaries(summaries);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}
