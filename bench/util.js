// Small helpers shared by the benchmark scripts: image lists, link folders, stats, tables.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const IMAGE_EXT = /\.(jpe?g|png|webp|bmp|tiff?)$/i;

/** Image files directly inside `dir`, sorted. */
export function listImages(dir) {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f))
    .sort()
    .map((f) => path.resolve(dir, f));
}

export function makeTempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), `yolo-serve-bench-${prefix}-`));
}

/**
 * A folder of `count` symlinks cycling over `images`, each with its own name: yolo-serve
 * de-duplicates repeated paths, so repeating a small set needs distinct names.
 */
export function linkFolder(images, count, prefix = 'links') {
  const dir = makeTempDir(prefix);
  const width = String(count).length;
  for (let i = 0; i < count; i++) {
    const src = images[i % images.length];
    symlinkSync(src, path.join(dir, `${String(i).padStart(width, '0')}_${path.basename(src)}`));
  }
  return dir;
}

export function removeDir(dir) {
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** CPU seconds (user + system) of this process since `since` (a process.cpuUsage() value). */
export function cpuSecondsSince(since) {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

export const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** A plain-text table with right-aligned numeric columns. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(all[0]), sep, ...all.slice(1).map(line)].join('\n');
}

/** Parses `--name value` / `--flag` arguments into an object (repeated names collect into arrays). */
export function parseArgs(argv, spec) {
  const out = {};
  for (const [name, def] of Object.entries(spec)) out[name] = def.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const [rawName, inline] = arg.slice(2).split('=', 2);
    const name = rawName.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const def = spec[name];
    if (!def) throw new Error(`unknown option --${rawName}`);
    if (def.type === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${rawName} needs a value`);
    const parsed = def.type === 'number' ? Number(value) : value;
    if (def.type === 'number' && !Number.isFinite(parsed)) throw new Error(`--${rawName} must be a number`);
    if (def.multiple) out[name] = [...(out[name] === def.default ? [] : out[name]), parsed];
    else out[name] = parsed;
  }
  return out;
}
