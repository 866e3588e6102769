// Reading results files back (resume, merge, and every command that reads results). A results
// file starts with its provenance header (outputs/provenance.ts); the readers hand it over through
// `ReadInfo` and yield image records only. A crash can leave the last record torn — no final
// newline, or (CSV) fewer rows than its detection count — so readers stop before it and
// scanResults reports where the valid data ends.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ImageResult } from '../types.js';
import { CsvParser } from '../inputs/csv-parse.js';
import { CSV_COLUMNS, csvLayoutOfHeader, looksLikeResultsCsv, parseCsvResultRow, type CsvResultRow } from './csv.js';
import type { Classification, TaskField } from '../types.js';
import { isHeaderLine, parseHeaderLine, type ResultsHeader } from './provenance.js';
import type { ResultFormat } from './sink.js';

/** A record as stored in a results file (the in-memory `index` is not written). */
export type StoredResult = Omit<ImageResult, 'index'>;

/** What a reader learns about the file besides its records. */
export interface ReadInfo {
  /**
   * The file's provenance header, set once its first line has been read; null for a file without
   * one (written before yolo-serve had them, or by hand).
   */
  header: ResultsHeader | null;
}

export interface ScanSummary {
  /** Complete image records. */
  results: number;
  /** True when the file ends in an incomplete record. */
  tornTail: boolean;
  /** Byte length of the header lines and complete records (truncate to this before appending). */
  validBytes: number;
  header: ResultsHeader | null;
}

interface Tail {
  tornTail: boolean;
  validBytes: number;
}

export function readJsonlResults(file: string, info?: ReadInfo): AsyncGenerator<StoredResult> {
  return iterJsonl(file, { tornTail: false, validBytes: 0 }, info ?? { header: null });
}

/**
 * CSV rows grouped back into images: an image's rows carry its detection count, so a record is
 * that many rows (one row for 0). When the file ends in an incomplete record, that record is not
 * yielded. (Files written before the count existed are grouped as they always were: consecutive
 * detection rows of one path; and their last image is dropped when the file ends torn.)
 */
export function readCsvResults(file: string, info?: ReadInfo): AsyncGenerator<StoredResult> {
  return iterCsv(file, { tornTail: false, validBytes: 0 }, info ?? { header: null });
}

/** The records of `file` in `format` (readJsonlResults or readCsvResults). */
export function readResults(file: string, format: ResultFormat, info?: ReadInfo): AsyncGenerator<StoredResult> {
  return format === 'csv' ? readCsvResults(file, info) : readJsonlResults(file, info);
}

export async function scanResults(file: string, format: ResultFormat): Promise<ScanSummary> {
  const tail: Tail = { tornTail: false, validBytes: 0 };
  const info: ReadInfo = { header: null };
  let results = 0;
  for await (const _ of format === 'csv' ? iterCsv(file, tail, info) : iterJsonl(file, tail, info)) results++;
  return { results, ...tail, header: info.header };
}

/** What the first line of a file says it is. */
export type FileIdentity =
  /** Zero bytes. */
  | { kind: 'empty' }
  /** A yolo-serve results file with its provenance header, `headerBytes` long (line ending included). */
  | { kind: 'results'; format: ResultFormat; header: ResultsHeader; headerBytes: number }
  /** A results file written before provenance headers existed: readable, not resumable. */
  | { kind: 'legacy'; format: ResultFormat }
  /** Anything else; `reason` says what was found. */
  | { kind: 'foreign'; reason: string };

/** How much of a file identifyResultsFile reads: a header line is far shorter. */
const IDENTIFY_BYTES = 64 * 1024;

/** Reads the first line of `file` (at most 64 KiB) and says what kind of file it is. */
export async function identifyResultsFile(file: string): Promise<FileIdentity> {
  const fh = await open(file, 'r');
  let buf: Buffer;
  try {
    const chunk = Buffer.alloc(IDENTIFY_BYTES);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, 0);
    buf = chunk.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (buf.length === 0) return { kind: 'empty' };
  if (buf.includes(0)) return { kind: 'foreign', reason: 'it holds binary data' };
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { kind: 'foreign', reason: buf.length === IDENTIFY_BYTES ? 'its first line is longer than 64 KiB' : 'it has no complete line' };
  const line = buf.toString('utf8', 0, nl).replace(/\r$/, '');
  for (const format of ['jsonl', 'csv'] as const) {
    const header = parseHeaderLine(line, format);
    if (header) return { kind: 'results', format, header, headerBytes: nl + 1 };
  }
  if (looksLikeResultsCsv(line + ',') && csvLayoutOfHeader(line.split(',')) !== null) return { kind: 'legacy', format: 'csv' };
  try {
    parseJsonlResult(line, '');
    return { kind: 'legacy', format: 'jsonl' };
  } catch {
    // not a record either
  }
  return { kind: 'foreign', reason: `its first line is neither a yolo-serve header nor a results record: '${clip(line)}'` };
}

/** The provenance header of `file`, or null when it has none (see identifyResultsFile). */
export async function readProvenance(file: string): Promise<ResultsHeader | null> {
  const id = await identifyResultsFile(file);
  return id.kind === 'results' ? id.header : null;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
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

async function* iterJsonl(file: string, tail: Tail, info: ReadInfo): AsyncGenerator<StoredResult> {
  for await (const line of jsonlLines(file, tail)) {
    const where = `${file} line ${line.lineNo}`;
    if (line.lineNo === 1) {
      info.header = parseHeaderLine(line.text, 'jsonl');
      if (info.header) continue;
    }
    if (isHeaderLine(line.text)) throw new Error(`${where}: a second provenance header (were two results files joined?)`);
    yield parseJsonlResult(line.text, where);
  }
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
  /** 1-based line number in the file. */
  line: number;
}

export interface CsvScan {
  tornTail: boolean;
  /** Bytes up to the end of the column-name line (0 until it has been read). */
  headerEnd: number;
  /** Bytes up to the end of the last complete line. */
  wholeBytes: number;
  /** Set by csvRecords: the bytes of the header lines and whole records (truncate to this). */
  validBytes: number;
  /** The provenance header line, when the file starts with one. */
  header: ResultsHeader | null;
  /** The file has the columns of before the detection count (LEGACY_CSV_COLUMNS). */
  legacy: boolean;
  /** The task columns the header declares (set once the header has been read). */
  taskColumns?: TaskField[];
}

export function newCsvScan(): CsvScan {
  return { tornTail: false, headerEnd: 0, wholeBytes: 0, validBytes: 0, header: null, legacy: false };
}

/**
 * Streams a results CSV's data rows after checking its header lines; blank lines are skipped.
 * Anything after the last complete line (even an unterminated quote) is a torn line: it is not
 * yielded, and `scan.tornTail` says so once the file has been read.
 */
export async function* csvResultRows(file: string, scan: CsvScan): AsyncGenerator<CsvRowSpan> {
  const parser = new CsvParser();
  let seenColumns = false;
  let bytesBefore = 0; // bytes of the text already handed to the parser, header line included
  let prevEnd = 0;
  let lineOffset = 0; // lines before what the parser saw (the header line)
  let first: string | null = ''; // text before the first line ending; null once it is settled
  for await (const piece of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    let chunk = piece;
    if (first !== null) {
      // The first line is read raw: a '#' header line is JSON, not CSV.
      first += chunk;
      const nl = first.indexOf('\n');
      if (nl < 0 && first.startsWith('#')) continue;
      chunk = first;
      first = null;
      if (chunk.startsWith('#')) {
        const line = chunk.slice(0, nl).replace(/\r$/, '');
        scan.header = parseHeaderLine(line, 'csv');
        if (!scan.header) throw new Error(`${file} line 1: starts with '#' but is not a yolo-serve header`);
        bytesBefore = prevEnd = scan.wholeBytes = Buffer.byteLength(chunk.slice(0, nl + 1));
        lineOffset = 1;
        chunk = chunk.slice(nl + 1);
      }
    }
    let consumed = 0;
    let consumedBytes = 0;
    for (const rec of parser.push(chunk)) {
      consumedBytes += Buffer.byteLength(chunk.slice(consumed, rec.end));
      consumed = rec.end;
      const start = prevEnd;
      const end = (prevEnd = scan.wholeBytes = bytesBefore + consumedBytes);
      if (rec.fields.length === 1 && rec.fields[0] === '') continue;
      const line = rec.line + lineOffset;
      const where = `${file} line ${line}`;
      if (!seenColumns) {
        const layout = csvLayoutOfHeader(rec.fields);
        // Files with a provenance header always have the count column.
        if (layout === null || (layout.legacy && scan.header !== null)) {
          throw new Error(`${where}: not a results CSV (the column names must be ${CSV_COLUMNS.join(',')}, with a task's columns before error)`);
        }
        scan.legacy = layout.legacy;
        scan.taskColumns = layout.taskColumns;
        seenColumns = true;
        scan.headerEnd = end;
        continue;
      }
      if (rec.fields[0]?.startsWith('#')) throw new Error(`${where}: a second provenance header (were two results files joined?)`);
      let row: CsvResultRow;
      try {
        row = parseCsvResultRow(rec.fields, scan.taskColumns, scan.legacy);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
      yield { row, start, end, line };
    }
    bytesBefore += Buffer.byteLength(chunk);
  }
  if (first !== null && first !== '') {
    // A '#' line with no line ending: the header itself is torn.
    scan.tornTail = true;
    return;
  }
  scan.tornTail = parser.hasPartialRecord;
}

/**
 * Legacy files only (no detection count): whether `row` belongs to the image record that `first`
 * began. Only detection rows continue an image: an error row or a no-detection row is a whole
 * record, so a failure followed by its retry (--resume --retry-failed) reads as two records.
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

/** The rows of one image record and the bytes they span: [start, end). */
export interface CsvRecordSpan {
  rows: CsvResultRow[];
  start: number;
  end: number;
}

/**
 * An image record is its first row's detection count of rows (one row for 0). The one grouping
 * rule for every reader (resume, merge, the commands that read results). A record cut short at
 * the end of the file is torn: not yielded, `scan.tornTail` set; one interrupted by another
 * image's row mid-file means the file was edited or joined, and is an error.
 */
export async function* csvRecords(file: string, scan: CsvScan): AsyncGenerator<CsvRecordSpan> {
  let cur: CsvRecordSpan | null = null;
  let yielded = false;
  let validBytes = 0;
  for await (const { row, start, end, line } of csvResultRows(file, scan)) {
    if (cur) {
      const first = cur.rows[0]!;
      if (scan.legacy ? continuesCsvRecord(first, row) : cur.rows.length < first.count!) {
        if (!scan.legacy && !sameImage(first, row)) {
          throw new Error(`${file} line ${line}: the record of ${first.path} has ${cur.rows.length} of its ${first.count} rows, then another image's row`);
        }
        cur.rows.push(row);
        cur.end = end;
        continue;
      }
      validBytes = cur.end;
      yielded = true;
      yield cur;
    }
    cur = { rows: [row], start, end };
  }
  const complete = cur !== null && (scan.legacy ? !scan.tornTail : cur.rows.length >= Math.max(1, cur.rows[0]!.count!));
  if (cur && complete) {
    validBytes = cur.end;
    yielded = true;
    yield cur;
  } else if (cur) {
    scan.tornTail = true;
  }
  // A torn file is cut back to its last whole record (a legacy file's last image may have lost
  // rows too, so it goes with the torn line), else to the header lines.
  scan.validBytes = !scan.tornTail ? scan.wholeBytes : yielded ? validBytes : scan.headerEnd;
}

function sameImage(a: CsvResultRow, b: CsvResultRow): boolean {
  return a.path === b.path && a.width === b.width && a.height === b.height && a.count === b.count && b.detection !== null;
}

async function* iterCsv(file: string, tail: Tail, info: ReadInfo): AsyncGenerator<StoredResult> {
  const scan = newCsvScan();
  for await (const rec of csvRecords(file, scan)) {
    info.header = scan.header;
    const first = rec.rows[0]!;
    yield {
      path: first.path,
      width: first.width,
      height: first.height,
      detections: rec.rows.flatMap((r) => (r.detection ? [r.detection] : [])),
      error: first.error,
      ...(first.classification ? { classification: first.classification } : {}),
    };
  }
  info.header = scan.header;
  tail.tornTail = scan.tornTail;
  tail.validBytes = scan.validBytes;
}
