import { stringify } from 'csv-stringify/sync';
import { DETECTION_TASK_FIELDS, RECORD_TASK_FIELDS, type Classification, type Detection, type ErrorCode, type ImageError, type ImageResult, type TaskField } from '../types.js';

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

/** The base columns up to and including y2: every results CSV starts with them. */
const BOX_COLUMNS = CSV_COLUMNS.slice(0, 11);

/** The columns of results CSVs written before the `detections` count (still readable, not resumable). */
export const LEGACY_CSV_COLUMNS = CSV_COLUMNS.filter((c) => c !== 'detections');
const LEGACY_BOX_COLUMNS = BOX_COLUMNS.filter((c) => c !== 'detections');

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

const KNOWN_TASK_FIELDS: readonly string[] = [...DETECTION_TASK_FIELDS, ...RECORD_TASK_FIELDS];

/** What a results CSV's column line declares: the task's columns, and whether it lacks the count (legacy). */
export interface CsvLayout {
  taskColumns: TaskField[];
  legacy: boolean;
}

/** The layout a column line declares, or null when the fields are not a results CSV header. */
export function csvLayoutOfHeader(fields: readonly string[]): CsvLayout | null {
  for (const [box, legacy] of [[BOX_COLUMNS, false], [LEGACY_BOX_COLUMNS, true]] as const) {
    if (fields.length < box.length + 1 || fields[fields.length - 1] !== 'error') continue;
    if (box.some((c, i) => fields[i] !== c)) continue;
    const extra = fields.slice(box.length, -1);
    if (!extra.every((f) => KNOWN_TASK_FIELDS.includes(f))) continue;
    if (new Set(extra).size !== extra.length) continue;
    return { taskColumns: extra as TaskField[], legacy };
  }
  return null;
}

/** The task columns a header declares, or null when the fields are not a (current) results CSV header. */
export function taskColumnsOfHeader(fields: readonly string[]): TaskField[] | null {
  const layout = csvLayoutOfHeader(fields);
  return layout && !layout.legacy ? layout.taskColumns : null;
}

/** True when `text` begins like a results CSV column line (any task's, either layout). */
export function looksLikeResultsCsv(text: string): boolean {
  return text.startsWith(BOX_COLUMNS.join(',') + ',') || text.startsWith(LEGACY_BOX_COLUMNS.join(',') + ',');
}

type Cell = string | number | null;

/**
 * The CSV rows (each ending in '\n') for one image: one per detection; one row with empty
 * detection columns when there are none; for a failed image one row with only path, the count 0
 * and `error` ("CODE: message").
 */
export function formatCsvRows(r: ImageResult, taskColumns: readonly TaskField[] = []): string {
  const rows: Cell[][] = [];
  const none: Cell[] = taskColumns.map(() => null);
  if (r.error) {
    rows.push([r.path, null, null, 0, null, null, null, null, null, null, null, ...none, formatCsvError(r.error)]);
  } else if (r.classification) {
    // classify: one row, the top-1 class in class/name/confidence, no box (count 0), top5 as JSON.
    const c = r.classification;
    const extra = taskColumns.map((f) => (f === 'top5' ? JSON.stringify(c.top5) : null));
    rows.push([r.path, r.width, r.height, 0, c.class, c.name, c.confidence, null, null, null, null, ...extra, null]);
  } else if (r.detections.length === 0) {
    rows.push([r.path, r.width, r.height, 0, null, null, null, null, null, null, null, ...none, null]);
  } else {
    const n = r.detections.length;
    for (const d of r.detections) {
      const b = d.box;
      const extra = taskColumns.map((f) => (f === 'top5' || d[f] === undefined ? null : JSON.stringify(d[f])));
      rows.push([r.path, r.width, r.height, n, d.class, d.name, d.confidence, b.x1, b.y1, b.x2, b.y2, ...extra, null]);
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
  /** classify rows: the class scores (the row has no box). */
  classification: Classification | null;
}

/**
 * Parses one data row's fields; throws with a reason when the row is malformed. `legacy`: the
 * row has no count column (LEGACY_CSV_COLUMNS).
 */
export function parseCsvResultRow(fields: string[], taskColumns: readonly TaskField[] = [], legacy = false): CsvResultRow {
  const expected = (legacy ? LEGACY_CSV_COLUMNS : CSV_COLUMNS).length + taskColumns.length;
  if (fields.length !== expected) {
    throw new Error(`expected ${expected} fields, got ${fields.length}`);
  }
  const full = legacy ? [...fields.slice(0, 3), '', ...fields.slice(3)] : fields;
  const [path, width, height, count, cls, name, conf, x1, y1, x2, y2] = full as [
    string, string, string, string, string, string, string, string, string, string, string,
  ];
  const error = full[full.length - 1]!;
  const top5At = taskColumns.indexOf('top5');
  const top5 = top5At >= 0 && full[BOX_COLUMNS.length + top5At] !== '' ? full[BOX_COLUMNS.length + top5At]! : null;
  if (top5 !== null) {
    // classify: the top-1 class and the top 5, no box.
    const classification: Classification = { name, class: num(cls), confidence: num(conf), top5: jsonCell('top5', top5) as Classification['top5'] };
    return {
      path,
      width: width === '' ? null : num(width),
      height: height === '' ? null : num(height),
      count: legacy ? null : num(count),
      detection: null,
      error: error === '' ? null : parseCsvError(error),
      classification,
    };
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
    const cell = full[BOX_COLUMNS.length + i]!;
    if (cell === '' || detection === null) return;
    (detection as unknown as Record<string, unknown>)[f] = jsonCell(f, cell);
  });
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
