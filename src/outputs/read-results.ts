// Reading results files back (for resume/merge). A crash can leave the last record torn — no
// final newline — so readers stop before it and scanResults reports where the valid data ends.
import { createReadStream } from 'node:fs';
import type { ImageResult } from '../types.js';
import { CsvParser } from '../inputs/csv-parse.js';
import { CSV_COLUMNS, parseCsvResultRow, taskColumnsOfHeader, type CsvResultRow } from './csv.js';
import type { Classification, TaskField } from '../types.js';
import type { ResultFormat } from './sink.js';

/** A record as stored in a results file (the in-memory `index` is not written). */
export type StoredResult = Omit<ImageResult, 'index'>;

export interface ScanSummary {
  /** Complete image records. */
  results: number;
  /** True when the file ends in an incomplete record. */
  tornTail: boolean;
  /** Byte length of the complete records (truncate to this before appending). */
  validBytes: number;
}

interface Tail {
  tornTail: boolean;
  validBytes: number;
}

export function readJsonlResults(file: string): AsyncGenerator<StoredResult> {
  return iterJsonl(file, { tornTail: false, validBytes: 0 });
}

/**
 * CSV rows grouped back into images: consecutive detection rows of one path are one image; an
 * error row or a no-detection row is an image on its own. When the file ends torn, the last
 * image is dropped too: its remaining detection rows may be what was lost.
 */
export function readCsvResults(file: string): AsyncGenerator<StoredResult> {
  return iterCsv(file, { tornTail: false, validBytes: 0 });
}

export async function scanResults(file: string, format: ResultFormat): Promise<ScanSummary> {
  const tail: Tail = { tornTail: false, validBytes: 0 };
  let results = 0;
  for await (const _ of format === 'csv' ? iterCsv(file, tail) : iterJsonl(file, tail)) results++;
  return { results, ...tail };
}

/** One complete line of a JSONL file: its text (no newline) and its bytes [start, end) before the newline. */
export interface JsonlLine {
  text: string;
  lineNo: number;
  start: number;
  end: number;
}

/**
 * Streams a JSONL file's complete lines, blank ones skipped. Bytes after the last newline are a
 * torn write (the writer was killed mid-line): they are not yielded, `tail.tornTail` says so and
 * `tail.validBytes` ends as the length of the whole-line prefix.
 */
export async function* jsonlLines(file: string, tail: { tornTail: boolean; validBytes?: number }): AsyncGenerator<JsonlLine> {
  let rest: Buffer = Buffer.alloc(0);
  let restStart = 0; // file offset of rest[0]
  let lineNo = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      lineNo++;
      const text = buf.toString('utf8', start, nl);
      if (text.trim() !== '') yield { text, lineNo, start: restStart + start, end: restStart + nl };
      start = nl + 1;
    }
    rest = buf.subarray(start);
    restStart += start;
  }
  tail.tornTail = rest.length > 0;
  tail.validBytes = restStart;
}

async function* iterJsonl(file: string, tail: Tail): AsyncGenerator<StoredResult> {
  for await (const line of jsonlLines(file, tail)) yield parseJsonlResult(line.text, `${file} line ${line.lineNo}`);
}

/** One JSONL record, checked for the fields every reader relies on; `where` names it in errors. */
export function parseJsonlResult(line: string, where: string): StoredResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new Error(`${where}: invalid JSON (${(err as Error).message})`);
  }
  const o = v as Partial<StoredResult> | null;
  if (typeof o !== 'object' || o === null || typeof o.path !== 'string' || !Array.isArray(o.detections)) {
    throw new Error(`${where}: not a result record (needs 'path' and 'detections')`);
  }
  const record: StoredResult = {
    path: o.path,
    width: o.width ?? null,
    height: o.height ?? null,
    detections: o.detections,
    error: o.error ?? null,
  };
  // classify records carry summary()'s top-1 fields and top5 beside the (empty) detections.
  const c = v as Partial<Classification>;
  if (Array.isArray(c.top5)) record.classification = { name: c.name as string, class: c.class as number, confidence: c.confidence as number, top5: c.top5 };
  return record;
}

/** One data row of a results CSV and the bytes it spans: [start, end), its line ending included. */
export interface CsvRowSpan {
  row: CsvResultRow;
  /** Where the row begins: just after the previous complete line (header, row or blank line). */
  start: number;
  end: number;
}

export interface CsvScan {
  tornTail: boolean;
  /** Bytes up to the end of the header line (0 until it has been read). */
  headerEnd: number;
  /** Bytes up to the end of the last complete line. */
  wholeBytes: number;
  /** The task columns the header declares (set once the header has been read). */
  taskColumns?: TaskField[];
}

/**
 * Streams a results CSV's data rows after checking its header; blank lines are skipped.
 * Anything after the last complete line (even an unterminated quote) is a torn record: it is
 * not yielded, and `scan.tornTail` says so once the file has been read.
 */
export async function* csvResultRows(file: string, scan: CsvScan): AsyncGenerator<CsvRowSpan> {
  const parser = new CsvParser();
  let seenHeader = false;
  let bytesBefore = 0; // bytes of the chunks already parsed
  let prevEnd = 0;
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    let consumed = 0;
    let consumedBytes = 0;
    for (const rec of parser.push(chunk)) {
      consumedBytes += Buffer.byteLength(chunk.slice(consumed, rec.end));
      consumed = rec.end;
      const start = prevEnd;
      const end = (prevEnd = scan.wholeBytes = bytesBefore + consumedBytes);
      if (rec.fields.length === 1 && rec.fields[0] === '') continue;
      const where = `${file} line ${rec.line}`;
      if (!seenHeader) {
        const taskColumns = taskColumnsOfHeader(rec.fields);
        if (taskColumns === null) {
          throw new Error(`${where}: not a results CSV (header must be ${CSV_COLUMNS.join(',')}, with a task's columns before error)`);
        }
        scan.taskColumns = taskColumns;
        seenHeader = true;
        scan.headerEnd = end;
        continue;
      }
      let row: CsvResultRow;
      try {
        row = parseCsvResultRow(rec.fields, scan.taskColumns);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
      yield { row, start, end };
    }
    bytesBefore += Buffer.byteLength(chunk);
  }
  scan.tornTail = parser.hasPartialRecord;
}

/**
 * Whether `row` belongs to the image record that `first` began. Only detection rows continue an
 * image: an error row or a no-detection row is a whole record, so a failure followed by its
 * retry (--resume --retry-failed) reads as two records. Resume and merge both group by this.
 */
export function continuesCsvRecord(first: CsvResultRow, row: CsvResultRow): boolean {
  return (
    row.path === first.path &&
    first.detection !== null &&
    first.error === null &&
    row.detection !== null &&
    row.error === null &&
    row.width === first.width &&
    row.height === first.height
  );
}

async function* iterCsv(file: string, tail: Tail): AsyncGenerator<StoredResult> {
  const scan: CsvScan = { tornTail: false, headerEnd: 0, wholeBytes: 0 };
  let group: StoredResult | null = null;
  let first: CsvResultRow | null = null;
  let yielded = false;
  for await (const { row, start } of csvResultRows(file, scan)) {
    if (group && first && continuesCsvRecord(first, row)) {
      group.detections.push(row.detection!);
      continue;
    }
    if (group) {
      // Everything before this row is whole records.
      tail.validBytes = start;
      yielded = true;
      yield group;
    }
    group = { path: row.path, width: row.width, height: row.height, detections: row.detection ? [row.detection] : [], error: row.error };
    if (row.classification) group.classification = row.classification;
    first = row;
  }
  tail.tornTail = scan.tornTail;
  if (!tail.tornTail) {
    tail.validBytes = scan.wholeBytes;
    if (group) yield group;
  } else if (!yielded) {
    // The only image after the header may have lost rows: keep the header alone.
    tail.validBytes = scan.headerEnd;
  }
}
