// Reading shard outputs ("parts") for merge without holding their records: a scan yields each
// image record's path and byte span, and a record is parsed again from its span only when it is
// written out (or compared with a duplicate). Memory then grows with the number of images, not
// with the number of detections.
import { readSync } from 'node:fs';
import { parseCsv } from '../inputs/csv-parse.js';
import { LEGACY_CSV_COLUMNS, parseCsvResultRow, type CsvResultRow } from '../outputs/csv.js';
import type { ResultsHeader } from '../outputs/provenance.js';
import { csvRecords, identifyResultsFile, jsonlLines, newCsvScan, parseJsonlResult, type StoredResult } from '../outputs/read-results.js';
import { isHeaderLine } from '../outputs/provenance.js';
import type { ResultFormat } from '../outputs/sink.js';
import type { TaskField } from '../types.js';

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

/** What a part is: its format (null for an empty file) and its provenance header (null: none). */
export interface PartIdentity {
  format: ResultFormat | null;
  header: ResultsHeader | null;
}

/**
 * The part's format and header, from its first line: a yolo-serve header, or (a file written
 * before headers existed) a JSONL record or the results CSV column names. Anything else is a
 * PartError. An empty file is a valid part of either format.
 */
export async function identifyPart(file: string): Promise<PartIdentity> {
  const id = await identifyResultsFile(file);
  switch (id.kind) {
    case 'empty':
      return { format: null, header: null };
    case 'results':
      return { format: id.format, header: id.header };
    case 'legacy':
      return { format: id.format, header: null };
    default:
      throw new PartError(`${file}: not a yolo-serve results file (${id.reason})`);
  }
}

/** The part's format (see identifyPart); null for an empty file. */
export async function detectPartFormat(file: string): Promise<ResultFormat | null> {
  return (await identifyPart(file)).format;
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
    if (isHeaderLine(line.text)) {
      if (line.lineNo === 1) continue;
      throw new PartError(`${file} line ${line.lineNo}: a second provenance header (were two results files joined?)`);
    }
    const r = parseJsonlRecord(line.text, `${file} line ${line.lineNo}`);
    yield { path: r.path, start: line.start, end: line.end };
  }
}

/** CSV rows are grouped into images by the one rule every reader uses (csvRecords). */
async function* scanCsv(file: string, tail: PartTail): AsyncGenerator<RecordSpan> {
  const scan = newCsvScan();
  try {
    for await (const rec of csvRecords(file, scan)) yield { path: rec.rows[0]!.path, start: rec.start, end: rec.end };
  } catch (err) {
    throw err instanceof PartError ? err : new PartError((err as Error).message);
  }
  tail.tornTail = scan.tornTail;
  tail.taskColumns = scan.taskColumns ?? [];
}

function parseCsvRecord(text: string, where: string, taskColumns: readonly TaskField[]): StoredResult {
  let result: StoredResult | null = null;
  for (const rec of parseCsv(text)) {
    if (rec.fields.length === 1 && rec.fields[0] === '') continue;
    let row: CsvResultRow;
    try {
      // A file from before the count column has one field less (merge refuses such parts; other readers read them).
      row = parseCsvResultRow(rec.fields, taskColumns, rec.fields.length === LEGACY_CSV_COLUMNS.length + taskColumns.length);
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
