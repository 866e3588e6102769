export { formatFromPath, openSink } from './sink.js';
export type { OpenSinkOptions, ResultFormat, ResultSink } from './sink.js';
export { formatJsonlLine } from './jsonl.js';
export { CSV_HEADER, formatCsvRows } from './csv.js';
export { readCsvResults, readJsonlResults, scanResults } from './read-results.js';
export type { ScanSummary, StoredResult } from './read-results.js';
