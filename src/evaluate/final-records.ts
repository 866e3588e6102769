// A results file's final record per image, in path order, read through merge's part reader:
// one scan keeps each record's path and byte span (about 200 bytes per image, no detections),
// then records are parsed again one at a time. The last record for a path wins (resume's and
// merge's rule: a retry is appended after the failure it replaces). JSONL or CSV, merged shard
// outputs included.
import { closeSync, openSync } from 'node:fs';
import { UsageError } from '../config.js';
import { PartError, detectPartFormat, readRecord, scanPart, type RecordSpan } from '../merge/part-reader.js';
import { comparePaths } from '../merge/plan.js';
import type { StoredResult } from '../outputs/read-results.js';
import type { ResultFormat } from '../outputs/sink.js';

export interface ResultsIndex {
  file: string;
  format: ResultFormat | null;
  /** Final record of each path, sorted by path (UTF-8 byte order). */
  spans: RecordSpan[];
  /** Records replaced by a later record for the same path. */
  superseded: number;
  /** The file ends in an incomplete record (skipped). */
  tornTail: boolean;
}

function usage(file: string, err: unknown): UsageError {
  if (err instanceof UsageError) return err;
  const msg = (err as Error).message;
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new UsageError(`${file}: no such results file`);
  return new UsageError(err instanceof PartError ? msg : `${file}: ${msg}`);
}

export async function indexResults(file: string): Promise<ResultsIndex> {
  try {
    const format = await detectPartFormat(file);
    const last = new Map<string, RecordSpan>();
    let total = 0;
    const tail = { tornTail: false };
    if (format) {
      for await (const span of scanPart(file, format, tail)) {
        last.set(span.path, span);
        total++;
      }
    }
    const spans = [...last.values()].sort((a, b) => comparePaths(a.path, b.path));
    return { file, format, spans, superseded: total - spans.length, tornTail: tail.tornTail };
  } catch (err) {
    throw usage(file, err);
  }
}

/** Reads records one at a time from an indexed file; close() when done. */
export class RecordReader {
  private readonly fd: number | null;
  constructor(private readonly index: ResultsIndex) {
    this.fd = index.format ? openSync(index.file, 'r') : null;
  }

  read(span: RecordSpan): StoredResult {
    try {
      return readRecord(this.fd!, this.index.format!, span, `${this.index.file} at byte ${span.start}`);
    } catch (err) {
      throw usage(this.index.file, err);
    }
  }

  *all(): Generator<StoredResult> {
    for (const span of this.index.spans) yield this.read(span);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
  }
}
