// Class names: the built-in COCO-80 list, the `names` metadata Ultralytics writes, and user files.

import { ModelError } from './errors.js';
import { PyLiteralError, parsePyLiteral } from './py-literal.js';

/** Ultralytics' COCO names (ultralytics/cfg/datasets/coco.yaml), by class id. */
export const COCO80: readonly string[] = Object.freeze([
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
  'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
  'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
  'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
  'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
  'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
]);

type Fail = (message: string) => ModelError;

/** Parses the `names` metadata value ("{0: 'person', …}" or a list) into a dense array. */
export function namesFromMetadata(value: string): string[] {
  const fail: Fail = (message) => new ModelError(`the model's names metadata is invalid: ${message}`);
  let parsed: unknown;
  try {
    parsed = parsePyLiteral(value);
  } catch (err) {
    if (err instanceof PyLiteralError) throw fail(err.message);
    throw err;
  }
  return namesFromValue(parsed, fail);
}

/**
 * Parses a user's names file: JSON (an array, or an object {"0": "person"}), a Python literal,
 * YAML-style `0: person` lines (optionally under a `names:` key, as in an Ultralytics dataset
 * yaml, which may also use `- person` items or an inline [..] list), or one name per line.
 * Blank lines and lines starting with '#' are ignored.
 */
export function parseNamesFile(text: string, filename: string): string[] {
  const fail: Fail = (message) => new ModelError(`names file ${filename}: ${message}`);
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed === '') throw fail('it is empty');
  const names = trimmed[0] === '[' || trimmed[0] === '{' ? parseStructured(trimmed, fail) : parseLines(body, fail);
  if (names.length === 0) throw fail('it contains no class names');
  return names;
}

function parseStructured(text: string, fail: Fail): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (jsonErr) {
    try {
      parsed = parsePyLiteral(text); // e.g. the metadata value pasted into a file
    } catch {
      throw fail(`invalid JSON: ${(jsonErr as Error).message}`);
    }
  }
  return namesFromValue(parsed, fail);
}

/** An array of names, or a mapping of class id → name (Map or plain object). */
function namesFromValue(value: unknown, fail: Fail): string[] {
  if (Array.isArray(value)) {
    value.forEach((name, i) => {
      if (typeof name !== 'string') throw fail(`entry ${i} is not a string`);
    });
    return value as string[];
  }
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (value !== null && typeof value === 'object') entries = Object.entries(value);
  else throw fail('expected a list of names or a mapping of class id to name');
  return denseNames(
    entries.map(([key, name]) => {
      const id = typeof key === 'number' ? key : typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : NaN;
      if (!Number.isInteger(id) || id < 0) throw fail(`key ${JSON.stringify(key)} is not a class id`);
      if (typeof name !== 'string') throw fail(`the name of class ${id} is not a string`);
      return [id, name];
    }),
    fail,
  );
}

/** Turns id → name pairs into an array, rejecting duplicates and gaps. */
function denseNames(pairs: [number, string][], fail: Fail): string[] {
  const names: string[] = [];
  for (const [id, name] of pairs) {
    if (names[id] !== undefined) throw fail(`class ${id} is defined twice`);
    names[id] = name;
  }
  for (let id = 0; id < names.length; id++) {
    if (names[id] === undefined) throw fail(`no name for class ${id} (ids must run 0..${names.length - 1} without gaps)`);
  }
  return names;
}

const NAMES_KEY = /^names\s*:(.*)$/;
const TOP_LEVEL_KEY = /^[A-Za-z_][\w-]*\s*:(\s|$)/;
const ID_LINE = /^\s*(\d+)\s*:(.*)$/;
const LIST_ITEM = /^\s*-(?:\s+(.*))?$/;

function parseLines(body: string, fail: Fail): string[] {
  const lines = body.split(/\r?\n/);
  const isSkippable = (line: string): boolean => line.trim() === '' || line.trimStart().startsWith('#');

  const header = lines.findIndex((line) => NAMES_KEY.test(line));
  if (header >= 0) {
    const inline = stripComment(NAMES_KEY.exec(lines[header]!)![1]!).trim();
    if (inline !== '') return parseFlow(inline, fail);
    // The block: following lines that are indented, list items, blank or comments.
    const block: [number, string][] = [];
    for (let i = header + 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (isSkippable(line)) continue;
      if (!/^\s/.test(line) && !LIST_ITEM.test(line)) break;
      block.push([i + 1, line]);
    }
    return parseEntries(block, fail);
  }

  const content = lines.map((line, i): [number, string] => [i + 1, line]).filter(([, line]) => !isSkippable(line));
  const yamlKey = content.find(([, line]) => TOP_LEVEL_KEY.test(line));
  if (yamlKey) throw fail(`line ${yamlKey[0]} looks like YAML ('${yamlKey[1].trim()}') but there is no 'names:' key`);
  if (content.some(([, line]) => ID_LINE.test(line))) return parseEntries(content, fail);
  return content.map(([, line]) => line.trim());
}

/** `id: name` lines, or `- name` items (ids in order). Mixing the two, or with plain lines, is an error. */
function parseEntries(lines: [number, string][], fail: Fail): string[] {
  const pairs: [number, string][] = [];
  const kinds = new Set<string>();
  for (const [lineNo, line] of lines) {
    const id = ID_LINE.exec(line);
    const item = id ? null : LIST_ITEM.exec(line);
    if (!id && !item) throw fail(`line ${lineNo}: expected 'id: name' but found '${line.trim()}'`);
    kinds.add(id ? 'id' : 'item');
    if (kinds.size > 1) throw fail(`line ${lineNo}: mixes 'id: name' lines with '- name' items`);
    const name = yamlScalar(id ? id[2]! : (item![1] ?? ''), (m) => fail(`line ${lineNo}: ${m}`));
    pairs.push([id ? Number(id[1]) : pairs.length, name]);
  }
  return denseNames(pairs, fail);
}

/** An inline YAML flow collection: `[person, 'traffic light']` or `{0: person, 1: bicycle}`. */
function parseFlow(text: string, fail: Fail): string[] {
  const open = text[0];
  const close = open === '[' ? ']' : open === '{' ? '}' : null;
  if (close === null || !text.endsWith(close)) throw fail(`expected a [..] list or {..} mapping after 'names:'`);
  const items = splitOutsideQuotes(text.slice(1, -1)).filter((s) => s.trim() !== '');
  if (open === '[') return items.map((s) => yamlScalar(s, fail));
  return denseNames(
    items.map((s): [number, string] => {
      const m = /^\s*(\d+)\s*:(.*)$/s.exec(s);
      if (!m) throw fail(`expected 'id: name' in the names mapping but found '${s.trim()}'`);
      return [Number(m[1]), yamlScalar(m[2]!, fail)];
    }),
    fail,
  );
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Drops a trailing ` # comment` from an unquoted YAML value. */
function stripComment(text: string): string {
  return text.replace(/(^|\s)#.*$/, '');
}

/** A YAML scalar: 'single quoted' ('' escapes '), "double quoted" (JSON escapes), or plain. */
function yamlScalar(raw: string, fail: (message: string) => ModelError): string {
  const text = raw.trim();
  let value: string;
  let rest: string;
  if (text.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'(.*)$/s.exec(text);
    if (!m) throw fail(`unterminated quote in ${text}`);
    value = m[1]!.replace(/''/g, "'");
    rest = m[2]!;
  } else if (text.startsWith('"')) {
    const m = /^("(?:[^"\\]|\\.)*")(.*)$/s.exec(text);
    if (!m) throw fail(`unterminated quote in ${text}`);
    try {
      value = JSON.parse(m[1]!) as string;
    } catch {
      throw fail(`bad escape in ${m[1]}`);
    }
    rest = m[2]!;
  } else {
    value = stripComment(text).trim();
    rest = '';
  }
  if (stripComment(rest).trim() !== '') throw fail(`unexpected text after the quoted name: ${rest.trim()}`);
  if (value === '') throw fail('empty class name');
  return value;
}
