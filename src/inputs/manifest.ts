// Manifests: files that list image paths. Parsing is pure (text in, raw path strings and
// problems out); resolving and classifying the paths is expand.ts's job.
import path from 'node:path';
import { parseCsv } from './csv-parse.js';
import { pathFromBytes } from './fs-path.js';
import { FileTooLargeError, readRegularFile } from './regular-file.js';

export type ManifestKind = 'txt' | 'csv' | 'jsonl';

export interface ManifestEntries {
  /** Paths exactly as written (relative ones are resolved by the caller). */
  paths: string[];
  /** Human-readable problems; non-empty means the manifest is unusable. */
  problems: string[];
}

/**
 * Largest manifest (or list of paths on stdin) read: a path list is held in memory as one string,
 * and V8's longest string is 512 MiB. 500 MiB is some five million paths of 100 bytes.
 */
export const MAX_LIST_BYTES = 500 * 1024 * 1024;

/** Past this many bad lines a manifest is plainly the wrong file; don't print them all. */
const MAX_PROBLEMS = 10;

/** The manifest kind a file's extension names, or null when it is not a manifest. */
export function manifestKind(p: string): ManifestKind | null {
  switch (path.extname(p).toLowerCase()) {
    case '.txt':
      return 'txt';
    case '.csv':
      return 'csv';
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    default:
      return null;
  }
}

export async function readManifest(
  file: string,
  label: string,
  kind: ManifestKind,
  column = 'path',
): Promise<ManifestEntries> {
  let text: string;
  try {
    // Bytes that are not UTF-8 are kept (fs-path.ts): such paths still name their files.
    text = pathFromBytes(await readRegularFile(file, MAX_LIST_BYTES));
  } catch (err) {
    const why = err instanceof FileTooLargeError ? `${err.message}; split it into several manifests` : errMessage(err);
    return { paths: [], problems: [`cannot read manifest ${label}: ${why}`] };
  }
  switch (kind) {
    case 'txt':
      return parseTextList(text);
    case 'csv':
      return parseCsvManifest(text, label, column);
    case 'jsonl':
      return parseJsonlManifest(text, label, column);
  }
}

/** One path per line; blank lines and lines starting with '#' are ignored. */
export function parseTextList(text: string): ManifestEntries {
  const paths: string[] = [];
  for (const line of splitLines(text)) {
    // Only the line ending is removed: paths may legitimately have leading/trailing spaces.
    if (line.trim() === '' || line.startsWith('#')) continue;
    paths.push(line);
  }
  return { paths, problems: [] };
}

export function parseCsvManifest(text: string, label: string, column: string): ManifestEntries {
  let records;
  try {
    records = parseCsv(stripBom(text));
  } catch (err) {
    return { paths: [], problems: [`manifest ${label}: ${errMessage(err)}`] };
  }
  const header = records[0];
  if (!header) return { paths: [], problems: [] };
  const names = header.fields.map((f) => f.trim());
  const col = names.indexOf(column);
  if (col < 0) {
    const have = names.map((n) => `'${n}'`).join(', ');
    return {
      paths: [],
      problems: [`manifest ${label} has no '${column}' column (columns: ${have})`],
    };
  }
  const paths: string[] = [];
  const problems = new ProblemList(label);
  for (const rec of records.slice(1)) {
    if (rec.fields.every((f) => f === '')) continue; // blank or ",,," rows
    const value = rec.fields[col] ?? '';
    if (value === '') problems.add(`manifest ${label} line ${rec.line}: empty '${column}' value`);
    else paths.push(value);
  }
  return { paths, problems: problems.list() };
}

export function parseJsonlManifest(text: string, label: string, field: string): ManifestEntries {
  const paths: string[] = [];
  const problems = new ProblemList(label);
  splitLines(stripBom(text)).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `manifest ${label} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.add(`${where}: invalid JSON (${errMessage(err)})`);
      return;
    }
    const p = isRecord(value) ? value[field] : undefined;
    if (typeof p !== 'string' || p === '') {
      problems.add(`${where}: no '${field}' string field`);
      return;
    }
    paths.push(p);
  });
  return { paths, problems: problems.list() };
}

/** Splits on LF, dropping one trailing CR per line (CRLF files) and nothing else. */
export function splitLines(text: string): string[] {
  const lines = stripBom(text).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class ProblemList {
  private items: string[] = [];
  private extra = 0;

  constructor(private readonly label: string) {}

  add(p: string): void {
    if (this.items.length < MAX_PROBLEMS) this.items.push(p);
    else this.extra++;
  }

  list(): string[] {
    if (this.extra === 0) return this.items;
    return [...this.items, `manifest ${this.label}: ${this.extra} more problems not shown`];
  }
}
