// Reading shard outputs ("parts") for merge without holding their records: a scan yields each
// image record's path and byte span, and a record is parsed again from its span only when it is
// written out (or compared with a duplicate). Memory then grows with the number of images, not
// with the number of detections.
import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { parseCsv } from '../inputs/csv-parse.js';
import { looksLikeResultsCsv, parseCsvResultRow, type CsvResultRow } from '../outputs/csv.js';
import type { TaskField } from '../types.js';
import { continuesCsvRecord, csvResultRows, jsonlLines, parseJsonlResult, type CsvScan, type StoredResult } from '../outputs/read-results.js';
import { formatFromPath, type ResultFormat } from '../outputs/sink.js';

/** One image record in a part: [start, end) bytes. */
export interface RecordSpan {
  path: string;
  start: number;
  end: number;
}

export interface PartTail {
  /** The part ends in an incomplete record (its writer was interrupted); that record is skipped. */
  tornTail: boolean;
  /** CSV: the task columns its header declares (pass them to readRecord). */
  taskColumns?: TaskField[];
}

/** A part that cannot be read as a results file. */
export class PartError extends Error {}

/**
 * The part's format: from its extension, else from its first bytes ('{' → JSONL, the results
 * header → CSV). null for an empty file, which is a valid part of either format.
 */
export async function detectPartFormat(file: string): Promise<ResultFormat | null> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.toString('utf8', 0, bytesRead).trimStart();
    if (head === '') return null;
    const byName = formatFromPath(file);
    if (byName) return byName;
    if (head.startsWith('{')) return 'jsonl';
    if (looksLikeResultsCsv(head)) return 'csv';
    throw new PartError(`${file}: not a results file (neither JSONL records nor the results CSV header)`);
  } finally {
    await fh.close();
  }
}

export function scanPart(file: string, format: ResultFormat, tail: PartTail): AsyncGenerator<RecordSpan> {
  return format === 'csv' ? scanCsv(file, tail) : scanJsonl(file, tail);
}

/** Reads and parses the record at `span` from an open file descriptor. */
export function readRecord(fd: number, format: ResultFormat, span: { start: number; end: number }, where: string, taskColumns: readonly TaskField[] = []): StoredResult {
  const buf = Buffer.allocUnsafe(span.end - span.start);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, span.start + got);
    if (n === 0) throw new PartError(`${where}: file changed while merging (record ends past the end of the file)`);
    got += n;
  }
  const text = buf.toString('utf8');
  return format === 'csv' ? parseCsvRecord(text, where, taskColumns) : parseJsonlRecord(text, where);
}

async function* scanJsonl(file: string, tail: PartTail): AsyncGenerator<RecordSpan> {
  // Same torn-tail rule as resume: bytes after the last newline are an interrupted write.
  for await (const line of jsonlLines(file, tail)) {
    const r = parseJsonlRecord(line.text, `${file} line ${line.lineNo}`);
    yield { path: r.path, start: line.start, end: line.end };
  }
}

/**
 * CSV rows are grouped back into images by the same rule resume reads them with
 * (continuesCsvRecord): a failed attempt followed by its retry stays two records.
 */
async function* scanCsv(file: string, tail: PartTail): AsyncGenerator<RecordSpan> {
  const scan: CsvScan = { tornTail: false, headerEnd: 0, wholeBytes: 0 };
  let group: (RecordSpan & { row: CsvResultRow }) | null = null;
  try {
    for await (const { row, start, end } of csvResultRows(file, scan)) {
      if (group && continuesCsvRecord(group.row, row)) {
        group.end = end;
        continue;
      }
      if (group) yield { path: group.path, start: group.start, end: group.end };
      group = { path: row.path, start, end, row };
    }
  } catch (err) {
    throw err instanceof PartError ? err : new PartError((err as Error).message);
  }
  tail.tornTail = scan.tornTail;
  tail.taskColumns = scan.taskColumns ?? [];
  // After a torn write the last image may have lost detection rows too: drop it, as resume does.
  if (group && !tail.tornTail) yield { path: group.path, start: group.start, end: group.end };
}

function parseCsvRecord(text: string, where: string, taskColumns: readonly TaskField[]): StoredResult {
  let result: StoredResult | null = null;
  for (const rec of parseCsv(text)) {
    if (rec.fields.length === 1 && rec.fields[0] === '') continue;
    let row: CsvResultRow;
    try {
      row = parseCsvResultRow(rec.fields, taskColumns);
    } catch (err) {
      throw new PartError(`${where}: ${(err as Error).message}`);
    }
    if (!result) {
      result = { path: row.path, width: row.width, height: row.height, detections: [], error: row.error };
      if (row.classification) result.classification = row.classification;
    }
    if (row.detection) result.detections.push(row.detection);
  }
  if (!result) throw new PartError(`${where}: empty record`);
  return result;
}

function parseJsonlRecord(line: string, where: string): StoredResult {
  try {
    return parseJsonlResult(line, where);
  } catch (err) {
    throw new PartError((err as Error).message);
  }
}
