// Merging the shards' run summaries (--summaries ... --summary-out FILE): read and check each one,
// merge them (counts summed, latency histograms merged, wall time = first start to last end),
// write the result atomically.
//
// The summary schema lives in metrics/summary.ts (parseSummary, mergeSummaries) and
// metrics/summary-file.ts (writeSummaryFile), built on another branch. Until both branches are
// merged they are loaded at run time, so this branch builds without them; once merged, these
// become plain static imports and the local interfaces below go away.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../config.js';

interface SummaryModule {
  parseSummary(text: string, source: string): unknown;
  mergeSummaries(summaries: unknown[]): unknown;
}
interface SummaryFileModule {
  writeSummaryFile(path: string, summary: unknown): Promise<void>;
}

export async function mergeSummaryFiles(parts: readonly string[], out: string): Promise<void> {
  const schema = await optionalModule<SummaryModule>('../metrics/summary.js');
  const files = await optionalModule<SummaryFileModule>('../metrics/summary-file.js');
  if (!schema || !files) throw new UsageError('--summaries: merging run summaries is not available in this build');

  const summaries: unknown[] = [];
  for (const file of parts) {
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      throw new UsageError(`cannot read summary ${file}: ${err.message}`);
    });
    try {
      summaries.push(schema.parseSummary(text, file));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  let merged: unknown;
  try {
    merged = schema.mergeSummaries(summaries);
  } catch (err) {
    throw new UsageError(`--summaries: ${(err as Error).message}`);
  }
  await files.writeSummaryFile(out, merged);
}

/** The module, or null when it is not part of this build (only that module's absence counts). */
async function optionalModule<T>(specifier: string): Promise<T | null> {
  const url = new URL(specifier, import.meta.url);
  try {
    return (await import(url.href)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && (e.url === url.href || e.message.includes(url.pathname))) return null;
    throw err;
  }
}
