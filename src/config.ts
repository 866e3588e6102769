// The run's configuration, resolved once at the edge (CLI flags + environment) and passed down.
// This is the only place defaults live.
import { DEVICE_REQUESTS, type DeviceRequest } from './inference/devices.js';
import type { ResolvedShard } from './inputs/shard.js';
import type { MaskFormat, PostprocessOptions } from './types.js';

export type OutputFormat = 'jsonl' | 'csv';
export type Auto = 'auto';

export interface RunConfig {
  inputs: string[];
  recursive: boolean;
  pathColumn: string;

  modelPath: string;
  namesFile: string | null;
  /** Network input size for dynamic-spatial models ([h, w]); null: metadata, else 640. */
  imgsz: [number, number] | null;

  device: DeviceRequest;
  batch: number | Auto;
  workers: number | Auto;
  threads: number | Auto;
  /** Images decoded concurrently (sharp runs them on libuv's thread pool). */
  decodeConcurrency: number;

  /**
   * post.classes holds the ids given to --classes; names given to it wait here until the model's
   * names are known (resolveClasses, in the batch command). [] with names: nothing kept until then.
   */
  post: PostprocessOptions;
  classNames: string[] | null;
  /** Images with more pixels than this are rejected before decoding (TOO_LARGE); also the decode memory budget (README "Memory budget"). */
  maxPixels: number;
  /** --fast-decode: big JPEGs decoded at about network size with shrink-on-load (not parity-exact). */
  fastDecode: boolean;
  /** Image files larger than this many bytes are rejected unread (TOO_LARGE). */
  maxFileBytes: number;
  /** Render SVG content instead of refusing it. */
  allowVector: boolean;

  out: string;
  format: OutputFormat;
  summaryPath: string | null;
  /** `--save-txt DIR`: also write YOLO txt labels per image (Ultralytics save_txt); `--save-conf` appends confidences. */
  saveTxt: string | null;
  saveConf: boolean;

  /** --save-annotated DIR: each image drawn with its detections, mirroring the input layout; null: off. */
  annotateDir: string | null;
  /** --save-crops DIR: one JPEG per detection in DIR/<class name>/; null: off. */
  cropsDir: string | null;
  /** --annotate-quality: JPEG/WebP/AVIF quality of annotated images. */
  annotateQuality: number;
  /** --annotate-max-side: longest side of annotated images (downscaled, never enlarged); null: original size. */
  annotateMaxSide: number | null;
  /** --report FILE: the HTML run report, written at the end of the run; null: none. */
  reportPath: string | null;

  resume: boolean;
  retryFailed: boolean;
  overwrite: boolean;
  /** Let --resume append to a file written by a different run (model, options); said loudly. */
  force: boolean;
  maxFailures: number | null;
  maxFailureRate: number | null;

  /** The shard this run processes, resolved from --shard or the environment (inputs/shard.ts); null: all images. */
  shard: ResolvedShard | null;
  shardCount: number | null;

  progress: 'auto' | 'off';
  progressIntervalSec: number;
  quiet: boolean;
  verbose: boolean;
}

export const DEFAULTS = {
  recursive: true,
  pathColumn: 'path',
  device: 'auto' as DeviceRequest,
  batch: 'auto' as const,
  workers: 'auto' as const,
  threads: 'auto' as const,
  decodeConcurrency: 4,
  conf: 0.25,
  iou: 0.7,
  maxDet: 300,
  maskFormat: 'polygon' as const,
  // 2^27 ≈ 11585², above a 108-megapixel camera; decoded as RGB that is 384 MiB, which is also
  // what all decodes in flight may hold together (see DecodeBudget). sharp's own limit (16383²)
  // let a 250 kB PNG expand to 768 MB per decode, four decodes at once.
  maxPixels: 134217728,
  // Image files are read whole before decoding; larger files are refused unread.
  maxFileBytes: 256 * 1024 * 1024,
  progressIntervalSec: 10,
  // cv2.imwrite's default, which is what Ultralytics' save=True gets.
  annotateQuality: 95,
} as const;

export { UsageError } from './usage-error.js';
import { UsageError } from './usage-error.js';

export function parseNumber(flag: string, value: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(value);
  const kind = opts.integer ? 'an integer' : 'a number';
  if (value.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${kind}, got '${value}'`);
  }
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`${flag} must be at least ${opts.min}, got ${value}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`${flag} must be at most ${opts.max}, got ${value}`);
  return n;
}

export function parseAutoInt(flag: string, value: string, min = 1): number | Auto {
  return value === 'auto' ? 'auto' : parseNumber(flag, value, { min, integer: true });
}

/** A size in bytes: a plain number, or with a binary unit (K, M, G; KiB/MiB/GiB and KB/MB/GB mean the same). */
export function parseByteSize(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) throw new UsageError(`${flag} must be a size in bytes, e.g. 268435456, 256M or 1G; got '${value}'`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Math.floor(Number(m[1]) * scale);
  if (n < 1) throw new UsageError(`${flag} must be at least 1 byte, got '${value}'`);
  return n;
}

export function parseImgsz(value: string): [number, number] {
  const parts = value.split(/[,x×]/).map((p) => p.trim());
  if (parts.length === 1) {
    const n = parseNumber('--imgsz', parts[0]!, { min: 32, integer: true });
    return [n, n];
  }
  if (parts.length === 2) {
    return [parseNumber('--imgsz', parts[0]!, { min: 32, integer: true }), parseNumber('--imgsz', parts[1]!, { min: 32, integer: true })];
  }
  throw new UsageError(`--imgsz must be N or H,W, got '${value}'`);
}

/** `--classes 0,2` or `--classes person,car` (or both): ids as given, names to resolve against the model. */
export function parseClasses(value: string): { ids: number[]; names: string[] } {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`--classes needs at least one class id or name, got '${value}'`);
  const ids: number[] = [];
  const names: string[] = [];
  for (const item of items) {
    if (/^[-+]?\d+(\.\d*)?$/.test(item)) ids.push(parseNumber('--classes', item, { min: 0, integer: true }));
    else names.push(item);
  }
  return { ids, names };
}

/**
 * The class ids --classes keeps, checked against the model's classes: an id the model does not
 * have, or a name it does not know, would otherwise silently keep nothing. Names match exactly,
 * else ignoring case (Ultralytics' names are lower-case: `Person` finds `person`).
 */
export function resolveClasses(ids: number[] | null, names: string[] | null, classNames: readonly string[], model: string): number[] | null {
  if (ids === null && names === null) return null;
  const n = classNames.length;
  const listed = (): string => {
    const shown = classNames.slice(0, 12).map((c, i) => `${i} ${c}`).join(', ');
    return n > 12 ? `${shown}, … (yolo-serve inspect ${model} lists all)` : shown;
  };
  const kept = new Set<number>();
  for (const id of ids ?? []) {
    if (id >= n) throw new UsageError(`--classes ${id}: ${model} has ${n} classes (ids 0 to ${n - 1}): ${listed()}`);
    kept.add(id);
  }
  for (const name of names ?? []) {
    let id = classNames.indexOf(name);
    if (id < 0) {
      const folded = classNames.flatMap((c, i) => (c.toLowerCase() === name.toLowerCase() ? [i] : []));
      if (folded.length === 1) id = folded[0]!;
    }
    if (id < 0) throw new UsageError(`--classes '${name}': ${model} has no class of that name; its classes: ${listed()}`);
    kept.add(id);
  }
  return [...kept].sort((a, b) => a - b);
}

export function parseDevice(value: string): DeviceRequest {
  if ((DEVICE_REQUESTS as readonly string[]).includes(value)) return value as DeviceRequest;
  throw new UsageError(`--device must be one of ${DEVICE_REQUESTS.join(', ')}, got '${value}'`);
}

export function parseMaskFormat(value: string): MaskFormat {
  if (value === 'polygon' || value === 'rle') return value;
  throw new UsageError(`--mask-format must be polygon or rle, got '${value}'`);
}

export function parseFormat(value: string): OutputFormat {
  if (value === 'jsonl' || value === 'csv') return value;
  throw new UsageError(`--format must be jsonl or csv, got '${value}'`);
}

/** `INDEX/COUNT`, zero-based. */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new UsageError(`--shard must be INDEX/COUNT (zero-based, e.g. 3/16), got '${value}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UsageError(`--shard count must be at least 1, got '${value}'`);
  if (index >= count) throw new UsageError(`--shard index must be below the count (zero-based), got '${value}'`);
  return { index, count };
}
