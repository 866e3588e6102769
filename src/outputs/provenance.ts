// Run identity: what produced a results file. Every results file starts with one header line
// holding it (JSONL: a JSON object; CSV: '#' and the same JSON), so the file carries its identity
// wherever it goes — renamed, uploaded as an artifact, piped from `--out -`, merged. `--resume`
// and `merge` compare it and refuse to mix results of different models or settings.
//
// The header is deterministic (no times, hosts or shard numbers): shards of one run and the
// unsharded run write the same header, so a merge of shards still equals the unsharded output.
import type { ResultFormat } from './sink.js';

/** The results-file layout version; bump it when a record or column changes meaning. */
export const RESULTS_SCHEMA = 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What produced a results file. Everything except `model.file` is compared. */
export interface Provenance {
  schema: number;
  /** yolo-serve's version. */
  version: string;
  /** The model's task (detect, segment, pose, obb, classify). */
  task: string;
  model: {
    /** The model's file name when the file was written: for people, not compared. */
    file: string;
    sha256: string;
    /** sha256 of the class names as a JSON array (metadata or --names). */
    names_sha256: string;
  };
  /**
   * Every option that changes the records (thresholds, class filter, input size, ...). Open-ended
   * so a task can add its own (e.g. mask format); a key missing on one side is a difference.
   */
  options: Record<string, JsonValue>;
}

/** A file's header line: its provenance, and the runs it was mixed with under --force. */
export interface ResultsHeader {
  provenance: Provenance;
  /** Earlier, different provenances whose records this file also holds (--force); usually empty. */
  mixed: Provenance[];
}

const HEADER_KEY = 'yolo_serve';

/** The header line (with its '\n') in `format`. */
export function formatHeaderLine(h: ResultsHeader, format: ResultFormat): string {
  const obj: Record<string, JsonValue> = { [HEADER_KEY]: canonicalProvenance(h.provenance) as unknown as JsonValue };
  if (h.mixed.length > 0) obj.mixed = h.mixed.map((p) => canonicalProvenance(p) as unknown as JsonValue);
  const json = JSON.stringify(obj);
  return (format === 'csv' ? `#${json}` : json) + '\n';
}

/**
 * The header in one line of text (without its line ending): a ResultsHeader, or null when the
 * line is not a header (a record, a CSV column line, anything else).
 */
export function parseHeaderLine(line: string, format: ResultFormat): ResultsHeader | null {
  let text = line;
  if (format === 'csv') {
    if (!text.startsWith('#')) return null;
    text = text.slice(1);
  }
  if (!text.trimStart().startsWith('{')) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const p = asProvenance(o[HEADER_KEY]);
  if (!p) return null;
  const mixed = Array.isArray(o.mixed) ? o.mixed.map(asProvenance).filter((x): x is Provenance => x !== null) : [];
  return { provenance: p, mixed };
}

/** True when `line` looks like a header line of either format (a second header mid-file, say). */
export function isHeaderLine(line: string): boolean {
  return parseHeaderLine(line, 'jsonl') !== null || parseHeaderLine(line, 'csv') !== null;
}

function asProvenance(v: unknown): Provenance | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Partial<Provenance>;
  if (typeof o.schema !== 'number' || typeof o.version !== 'string' || typeof o.task !== 'string') return null;
  const m = o.model as Partial<Provenance['model']> | undefined;
  if (!m || typeof m.sha256 !== 'string' || typeof m.names_sha256 !== 'string') return null;
  if (typeof o.options !== 'object' || o.options === null || Array.isArray(o.options)) return null;
  return {
    schema: o.schema,
    version: o.version,
    task: o.task,
    model: { file: typeof m.file === 'string' ? m.file : '', sha256: m.sha256, names_sha256: m.names_sha256 },
    options: o.options,
  };
}

/** Fixed key order, options sorted by name, so equal provenances serialise to equal bytes. */
function canonicalProvenance(p: Provenance): Provenance {
  const options: Record<string, JsonValue> = {};
  for (const k of Object.keys(p.options).sort()) options[k] = p.options[k]!;
  return {
    schema: p.schema,
    version: p.version,
    task: p.task,
    model: { file: p.model.file, sha256: p.model.sha256, names_sha256: p.model.names_sha256 },
    options,
  };
}

/** One way two provenances differ. */
export interface ProvenanceDifference {
  /** Dotted key, e.g. 'options.conf'. */
  key: string;
  /** What a user calls it, e.g. '--conf'. */
  label: string;
  /** The values, as JSON text ('(absent)' when one side lacks the key). */
  a: string;
  b: string;
}

const LABELS: Record<string, string> = {
  schema: 'results schema',
  version: 'yolo-serve version',
  task: 'task',
  'model.sha256': 'model (sha256)',
  'model.names_sha256': 'class names (sha256; --names)',
  'options.conf': '--conf',
  'options.iou': '--iou',
  'options.max_det': '--max-det',
  'options.classes': '--classes',
  'options.agnostic_nms': '--agnostic-nms',
  'options.imgsz': '--imgsz (network input size)',
  'options.max_pixels': '--max-pixels',
  'options.max_file_bytes': '--max-file-size',
  'options.allow_vector': '--allow-vector',
  'options.retina_masks': '--retina-masks',
  'options.mask_format': '--mask-format',
};

/** Keys that describe, and do not identify: never a difference. */
const NOT_COMPARED = new Set(['model.file']);

/** Every identifying key whose value differs between `a` and `b`, in a stable order. */
export function diffProvenance(a: Provenance, b: Provenance): ProvenanceDifference[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].filter((k) => !NOT_COMPARED.has(k));
  const diffs: ProvenanceDifference[] = [];
  for (const key of keys) {
    const va = fa.get(key);
    const vb = fb.get(key);
    if (va === vb) continue;
    diffs.push({ key, label: LABELS[key] ?? key, a: short(key, va), b: short(key, vb) });
  }
  return diffs;
}

export function sameProvenance(a: Provenance, b: Provenance): boolean {
  return diffProvenance(a, b).length === 0;
}

/** "--conf: 0.25 in results.jsonl, 0.5 in this run", one string per difference. */
export function describeDifferences(diffs: readonly ProvenanceDifference[], aName: string, bName: string): string[] {
  return diffs.map((d) => `${d.label}: ${d.a} in ${aName}, ${d.b} in ${bName}`);
}

/** The header `a` becomes when records of `b` are added to it under --force (b is now current). */
export function mixHeaders(a: ResultsHeader, b: Provenance): ResultsHeader {
  const mixed: Provenance[] = [];
  for (const p of [a.provenance, ...a.mixed]) {
    if (!sameProvenance(p, b) && !mixed.some((m) => sameProvenance(m, p))) mixed.push(p);
  }
  return { provenance: b, mixed };
}

function flatten(p: Provenance): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else out.set(prefix, JSON.stringify(v));
  };
  walk('', p);
  return out;
}

function short(key: string, v: string | undefined): string {
  if (v === undefined) return '(absent)';
  // Digests: 12 hex digits tell them apart and keep the line readable.
  if (key.endsWith('sha256')) return v.replace(/^"([0-9a-f]{12})[0-9a-f]*"$/, '$1…');
  return v;
}

/**
 * The header of a file made of `headers`' records (merge): the first one's provenance, plus
 * every different provenance any of them holds as `mixed`.
 */
export function combineHeaders(headers: readonly ResultsHeader[]): ResultsHeader | null {
  const first = headers[0];
  if (!first) return null;
  const mixed: Provenance[] = [];
  for (const h of headers) {
    for (const p of [h.provenance, ...h.mixed]) {
      if (!sameProvenance(p, first.provenance) && !mixed.some((m) => sameProvenance(m, p))) mixed.push(p);
    }
  }
  return { provenance: first.provenance, mixed };
}
