// Runs the real CLI (node bin/yolo-serve …) as a subprocess for end-to-end tests, and parses
// what it writes. Independent of src/: the CSV reader here is its own small RFC 4180 parser.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const modelsDir = path.join(sharedDir, 'models');
/** The shared models for tasks other than detection (segment, pose): tested by their own suites. */
export const NON_DETECT_MODEL = /-(seg|pose|obb|cls)_/;
export const samplesDir = path.join(sharedDir, 'images', 'samples');
export const coco128Dir = path.join(sharedDir, 'images', 'coco128');
export const BIN = path.join(repoRoot, 'bin', 'yolo-serve');

/** True when ../shared is there; otherwise skips the test (or fails it under CI=true). */
export function requireShared(t) {
  if (fs.existsSync(sharedDir)) return true;
  if (process.env.CI === 'true') assert.fail(`${sharedDir} not found (required when CI=true)`);
  t.skip(`${sharedDir} not found`);
  return false;
}

/**
 * Runs `node bin/yolo-serve ...args`. `env` entries are added to a copy of process.env with
 * YOLO_SERVE_MODEL removed (a value of undefined removes a variable); `stdin` is written and closed.
 * Resolves { code, stdout, stderr, ms }.
 */
export function runCli(args, { stdin = '', env = {}, cwd = repoRoot, timeoutMs = 120_000 } = {}) {
  const fullEnv = { ...process.env };
  delete fullEnv.YOLO_SERVE_MODEL;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? `signal ${signal}`,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      });
    });
    child.stdin.on('error', () => undefined); // the CLI may exit before reading stdin
    child.stdin.end(stdin);
  });
}

/** The provenance header line a results file starts with (see docs/output-format.md), or null. */
export function resultsHeader(text) {
  const first = text.slice(0, text.indexOf('\n'));
  const json = first.startsWith('#') ? first.slice(1) : first;
  try {
    const v = JSON.parse(json);
    return v && typeof v === 'object' && v.yolo_serve ? v : null;
  } catch {
    return null;
  }
}

/** Drops a results file's provenance header line, if it has one. */
export function withoutHeader(text) {
  return resultsHeader(text) ? text.slice(text.indexOf('\n') + 1) : text;
}

/** Parses JSONL text (its provenance header line dropped); every line must be a JSON object. */
export function parseJsonl(text) {
  assert.ok(text.endsWith('\n'), 'JSONL output must end with a newline');
  text = withoutHeader(text);
  if (text === '') return [];
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (e) {
        throw new Error(`line ${i + 1} is not JSON: ${line.slice(0, 200)}`, { cause: e });
      }
    });
}

/**
 * RFC 4180 CSV (quoted fields may hold commas, quotes doubled, newlines) → array of string arrays.
 * A results CSV's '#' provenance line is dropped.
 */
export function parseCsv(text) {
  text = withoutHeader(text);
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      // CRLF: the \n ends the row
    } else field += ch;
  }
  assert.ok(!quoted, 'CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * The lines of stderr that are not the progress/summary/notice chatter, i.e. the error report.
 * Also asserts that there is no stack trace in it.
 */
export function errorLines(stderr) {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  assert.ok(!lines.some((l) => /^\s+at\s/.test(l)), `stack trace on stderr:\n${stderr}`);
  return lines.filter((l) => l !== '(run with --help for usage)');
}
