// The root that shard keys are relative to. It is derived from the input ARGUMENTS, never from the
// files found, so that adding files (even in new sub-folders) cannot change any existing key:
//   directory        → the directory itself
//   manifest, image  → the folder holding it (manifest paths are relative to it)
//   glob             → its static base ('data/**/*.jpg' → data)
//   '-' (stdin)      → the working directory
// With several inputs, the deepest folder containing all of those bases.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';

export async function shardRoot(inputs: readonly string[], cwd: string): Promise<string> {
  const bases: string[] = [];
  for (const input of inputs) bases.push(await inputBase(input, cwd));
  return commonRoot(bases);
}

async function inputBase(input: string, cwd: string): Promise<string> {
  if (input === '-') return path.resolve(cwd);
  const abs = path.resolve(cwd, input);
  const st = await stat(abs).catch(() => null);
  if (st?.isDirectory()) return abs;
  // Same test expandInputs uses: a path that does not exist but looks like a pattern is a glob.
  if (!st && fg.isDynamicPattern(input)) return globBase(input, cwd);
  return path.dirname(abs);
}

/** The static leading folders of a glob pattern, absolute. */
export function globBase(pattern: string, cwd: string): string {
  const segments = pattern.split('/');
  const fixed: string[] = [];
  for (const s of segments.slice(0, -1)) {
    if (s !== '' && fg.isDynamicPattern(s)) break;
    fixed.push(s);
  }
  // A leading '' is the filesystem root of an absolute pattern.
  const base = fixed.length === 1 && fixed[0] === '' ? '/' : fixed.join('/');
  return path.resolve(cwd, base);
}

/** The deepest folder that contains every one of `dirs` (absolute, normalised). */
export function commonRoot(dirs: readonly string[]): string {
  if (dirs.length === 0) throw new RangeError('commonRoot needs at least one folder');
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  const first = split[0]!;
  let n = first.length;
  for (const parts of split.slice(1)) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i++;
    n = i;
  }
  const joined = first.slice(0, n).join(path.sep);
  // POSIX: ['', 'data'] → '/data', and [''] → '/'. (Different Windows drives share nothing:
  // fall back to the first folder's root.)
  if (joined === '') return path.parse(path.resolve(dirs[0]!)).root;
  return /^[A-Za-z]:$/.test(joined) ? joined + path.sep : joined;
}
