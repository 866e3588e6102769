import { stringify } from 'csv-stringify/sync';
import type { Detection, ErrorCode, ImageError, ImageResult } from '../types.js';

export const CSV_COLUMNS = [
  'path',
  'width',
  'height',
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
 * detection columns when there are none; for a failed image one row with only path and
 * `error` ("CODE: message").
 */
export function formatCsvRows(r: ImageResult): string {
  const rows: Cell[][] = [];
  if (r.error) {
    rows.push([r.path, null, null, null, null, null, null, null, null, null, formatCsvError(r.error)]);
  } else if (r.detections.length === 0) {
    rows.push([r.path, r.width, r.height, null, null, null, null, null, null, null, null]);
  } else {
    for (const d of r.detections) {
      const b = d.box;
      rows.push([r.path, r.width, r.height, d.class, d.name, d.confidence, b.x1, b.y1, b.x2, b.y2, null]);
    }
  }
  // Always quote fields with CR/LF (csv-stringify does) so a path with a newline round-trips.
  return stringify(rows, { record_delimiter: '\n', cast: { number: (n) => String(n) } });
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
  detection: Detection | null;
  error: ImageError | null;
}

/** Parses one data row's fields; throws with a reason when the row is malformed. */
export function parseCsvResultRow(fields: string[]): CsvResultRow {
  if (fields.length !== CSV_COLUMNS.length) {
    throw new Error(`expected ${CSV_COLUMNS.length} fields, got ${fields.length}`);
  }
  const [path, width, height, cls, name, conf, x1, y1, x2, y2, error] = fields as [
    string, string, string, string, string, string, string, string, string, string, string,
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
  return {
    path,
    width: width === '' ? null : num(width),
    height: height === '' ? null : num(height),
    detection,
    error: error === '' ? null : parseCsvError(error),
  };
}

function num(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Error(`not a number: '${s}'`);
  return n;
}
