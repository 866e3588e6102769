import { stringify } from 'csv-stringify/sync';
import { DETECTION_TASK_FIELDS, RECORD_TASK_FIELDS, type Classification, type Detection, type ErrorCode, type ImageError, type ImageResult, type TaskField } from '../types.js';

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

/** The base columns up to and including y2: every results CSV starts with them. */
const BOX_COLUMNS = CSV_COLUMNS.slice(0, 10);

/**
 * A task's columns: the base columns with the task's fields (tasks/*.ts csvColumns) between y2
 * and error, each cell holding that field as JSON (e.g. segments {"x":[...],"y":[...]}).
 */
export function csvColumnsFor(taskColumns: readonly TaskField[] = []): string[] {
  return [...BOX_COLUMNS, ...taskColumns, 'error'];
}

export function csvHeaderFor(taskColumns: readonly TaskField[] = []): string {
  return csvColumnsFor(taskColumns).join(',') + '\n';
}

/** The task columns a header declares, or null when the fields are not a results CSV header. */
export function taskColumnsOfHeader(fields: readonly string[]): TaskField[] | null {
  if (fields.length < CSV_COLUMNS.length || fields[fields.length - 1] !== 'error') return null;
  if (BOX_COLUMNS.some((c, i) => fields[i] !== c)) return null;
  const extra = fields.slice(BOX_COLUMNS.length, -1);
  const known: readonly string[] = [...DETECTION_TASK_FIELDS, ...RECORD_TASK_FIELDS];
  if (!extra.every((f) => known.includes(f))) return null;
  if (new Set(extra).size !== extra.length) return null;
  return extra as TaskField[];
}

/** True when `text` begins like a results CSV (any task's). */
export function looksLikeResultsCsv(text: string): boolean {
  return text.startsWith(BOX_COLUMNS.join(',') + ',');
}

type Cell = string | number | null;

/**
 * The CSV rows (each ending in '\n') for one image: one per detection; one row with empty
 * detection columns when there are none; for a failed image one row with only path and
 * `error` ("CODE: message").
 */
export function formatCsvRows(r: ImageResult, taskColumns: readonly TaskField[] = []): string {
  const rows: Cell[][] = [];
  const none: Cell[] = taskColumns.map(() => null);
  if (r.error) {
    rows.push([r.path, null, null, null, null, null, null, null, null, null, ...none, formatCsvError(r.error)]);
  } else if (r.classification) {
    // classify: one row, the top-1 class in class/name/confidence, no box, top5 as JSON.
    const c = r.classification;
    const extra = taskColumns.map((f) => (f === 'top5' ? JSON.stringify(c.top5) : null));
    rows.push([r.path, r.width, r.height, c.class, c.name, c.confidence, null, null, null, null, ...extra, null]);
  } else if (r.detections.length === 0) {
    rows.push([r.path, r.width, r.height, null, null, null, null, null, null, null, ...none, null]);
  } else {
    for (const d of r.detections) {
      const b = d.box;
      const extra = taskColumns.map((f) => (f === 'top5' || d[f] === undefined ? null : JSON.stringify(d[f])));
      rows.push([r.path, r.width, r.height, d.class, d.name, d.confidence, b.x1, b.y1, b.x2, b.y2, ...extra, null]);
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
  /** classify rows: the class scores (the row has no box). */
  classification: Classification | null;
}

/** Parses one data row's fields; throws with a reason when the row is malformed. */
export function parseCsvResultRow(fields: string[], taskColumns: readonly TaskField[] = []): CsvResultRow {
  const expected = CSV_COLUMNS.length + taskColumns.length;
  if (fields.length !== expected) {
    throw new Error(`expected ${expected} fields, got ${fields.length}`);
  }
  const [path, width, height, cls, name, conf, x1, y1, x2, y2] = fields as [
    string, string, string, string, string, string, string, string, string, string,
  ];
  const error = fields[fields.length - 1]!;
  const top5At = taskColumns.indexOf('top5');
  const top5 = top5At >= 0 && fields[10 + top5At] !== '' ? fields[10 + top5At]! : null;
  if (top5 !== null) {
    // classify: the top-1 class and the top 5, no box.
    const classification: Classification = { name, class: num(cls), confidence: num(conf), top5: jsonCell('top5', top5) as Classification['top5'] };
    return { path, width: width === '' ? null : num(width), height: height === '' ? null : num(height), detection: null, error: error === '' ? null : parseCsvError(error), classification };
  }
  const detection: Detection | null =
    cls === ''
      ? null
      : {
          name,
          class: num(cls),
          confidence: num(conf),
          box: { x1: num(x1), y1: num(y1), x2: num(x2), y2: num(y2) },
        };
  taskColumns.forEach((f, i) => {
    const cell = fields[10 + i]!;
    if (cell === '' || detection === null) return;
    (detection as unknown as Record<string, unknown>)[f] = jsonCell(f, cell);
  });
  return {
    path,
    width: width === '' ? null : num(width),
    height: height === '' ? null : num(height),
    detection,
    error: error === '' ? null : parseCsvError(error),
    classification: null,
  };
}

function jsonCell(column: string, cell: string): unknown {
  try {
    return JSON.parse(cell);
  } catch {
    throw new Error(`column ${column}: not JSON: '${cell.length > 40 ? `${cell.slice(0, 40)}…` : cell}'`);
  }
}

function num(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Error(`not a number: '${s}'`);
  return n;
}
