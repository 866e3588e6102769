import { stringify } from 'csv-stringify/sync';
import type { Detection, ErrorCode, ImageError, ImageResult } from '../types.js';

export const CSV_COLUMNS = [
  'path',
  'width',
  'height',
  // The image's detection count on every one of its rows: a record is complete when it has that
  // many rows (one row when 0), so a file cut between two rows of an image is seen to be torn.
  'detections',
  'class',
  'name',
  'confidence',
  'x1',
  'y1',
  'x2',
  'y2',
  'error',
] as const;

export const CSV_HEADER = CSV_COLUMNS.join(',') + '\n';

type Cell = string | number | null;

/**
 * The CSV rows (each ending in '\n') for one image: one per detection; one row with empty
 * detection columns when there are none; for a failed image one row with only path, the count 0
 * and `error` ("CODE: message").
 */
export function formatCsvRows(r: ImageResult): string {
  const rows: Cell[][] = [];
  if (r.error) {
    rows.push([r.path, null, null, 0, null, null, null, null, null, null, null, formatCsvError(r.error)]);
  } else if (r.detections.length === 0) {
    rows.push([r.path, r.width, r.height, 0, null, null, null, null, null, null, null, null]);
  } else {
    const n = r.detections.length;
    for (const d of r.detections) {
      const b = d.box;
      rows.push([r.path, r.width, r.height, n, d.class, d.name, d.confidence, b.x1, b.y1, b.x2, b.y2, null]);
    }
  }
  // Always quote fields with CR/LF (csv-stringify does) so a path with a newline round-trips, and
  // fields with '#' so no row can pass for the '#' header line (pandas: comment='#' is safe).
  return stringify(rows, { record_delimiter: '\n', quoted_match: '#', cast: { number: (n) => String(n) } });
}

export function formatCsvError(e: ImageError): string {
  return `${e.code}: ${e.message}`;
}

export function parseCsvError(cell: string): ImageError {
  const at = cell.indexOf(': ');
  if (at < 0) return { code: cell as ErrorCode, message: '' };
  return { code: cell.slice(0, at) as ErrorCode, message: cell.slice(at + 2) };
}

/** One parsed data row (the inverse of one formatCsvRows row). */
export interface CsvResultRow {
  path: string;
  width: number | null;
  height: number | null;
  /** The image's detection count (its number of rows when > 0); null in a file written before the column existed. */
  count: number | null;
  detection: Detection | null;
  error: ImageError | null;
}

/** The columns of results CSVs written before the `detections` count (still readable, not resumable). */
export const LEGACY_CSV_COLUMNS = CSV_COLUMNS.filter((c) => c !== 'detections');

/**
 * Parses one data row's fields; throws with a reason when the row is malformed. `legacy`: the
 * row has LEGACY_CSV_COLUMNS (no count).
 */
export function parseCsvResultRow(fields: string[], legacy = false): CsvResultRow {
  const columns = legacy ? LEGACY_CSV_COLUMNS : CSV_COLUMNS;
  if (fields.length !== columns.length) {
    throw new Error(`expected ${columns.length} fields, got ${fields.length}`);
  }
  const full = legacy ? [...fields.slice(0, 3), '', ...fields.slice(3)] : fields;
  const [path, width, height, count, cls, name, conf, x1, y1, x2, y2, error] = full as [
    string, string, string, string, string, string, string, string, string, string, string, string,
  ];
  const detection: Detection | null =
    cls === ''
      ? null
      : {
          name,
          class: num(cls),
          confidence: num(conf),
          box: { x1: num(x1), y1: num(y1), x2: num(x2), y2: num(y2) },
        };
  if (!legacy) {
    const n = num(count);
    if (!Number.isInteger(n) || n < 0) throw new Error(`detections must be a count, got '${count}'`);
    if ((n === 0) !== (detection === null)) throw new Error(`detections is ${n} on a row ${detection ? 'with' : 'without'} a detection`);
  }
  return {
    path,
    width: width === '' ? null : num(width),
    height: height === '' ? null : num(height),
    count: legacy ? null : num(count),
    detection,
    error: error === '' ? null : parseCsvError(error),
  };
}

function num(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Error(`not a number: '${s}'`);
  return n;
}
