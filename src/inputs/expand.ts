// Turns the `batch` arguments (files, directories, globs, manifests, '-') into the ordered,
// de-duplicated list of image jobs. Every unusable input is collected and reported at once.
import fs from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import type { ImageError, ImageJob } from '../types.js';
import { fsPath, pathFromBytes } from './fs-path.js';
import { isImagePath, unsupportedTypeMessage } from './image-types.js';
import { InputError } from './input-error.js';
import { MAX_LIST_BYTES, manifestKind, parseTextList, readManifest } from './manifest.js';
import { FileTooLargeError, readStreamBounded } from './regular-file.js';
import { type UnreadableDirectory, walkDirectory } from './walk.js';

export interface ExpandOptions {
  /** Walk sub-directories of directory inputs. */
  recursive: boolean;
  /** Column (CSV) or field (JSONL) of manifests holding the path; default 'path'. */
  pathColumn?: string;
  /** Base for relative arguments, globs and stdin paths; default process.cwd(). */
  cwd?: string;
  /** Where '-' reads paths from; default process.stdin. */
  stdin?: NodeJS.ReadableStream;
}

export interface ExpandedInputs {
  jobs: ImageJob[];
  /** Non-image files (special files and broken links not named like images) met in directories and globs. */
  skipped: number;
  /** Jobs dropped because the same resolved path was already listed. */
  duplicates: number;
}

interface Pending {
  path: string;
  error?: ImageError;
}

/** What one input contributes: jobs, or a problem that makes the whole run unusable. */
interface Expansion {
  jobs: Pending[];
  skipped: number;
  problems: string[];
}

export async function expandInputs(inputs: string[], opts: ExpandOptions): Promise<ExpandedInputs> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  if (inputs.length === 0) throw new InputError(['no inputs given']);

  const seen = new Set<string>();
  const jobs: ImageJob[] = [];
  const problems: string[] = [];
  let skipped = 0;
  let duplicates = 0;

  for (const input of inputs) {
    const ex = await expandOne(input, cwd, opts);
    skipped += ex.skipped;
    problems.push(...ex.problems);
    for (const job of ex.jobs) {
      if (seen.has(job.path)) {
        duplicates++;
        continue;
      }
      seen.add(job.path);
      jobs.push({ index: jobs.length, ...job });
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return { jobs, skipped, duplicates };
}

async function expandOne(input: string, cwd: string, opts: ExpandOptions): Promise<Expansion> {
  if (input === '-') return expandStdin(opts.stdin ?? process.stdin, cwd);

  const abs = path.resolve(cwd, input);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = errCode(err);
    if ((code === 'ENOENT' || code === 'ENOTDIR') && fg.isDynamicPattern(input)) {
      return expandGlob(input, cwd);
    }
    if (code === 'ENOENT' || code === 'ENOTDIR') return problem(`no such file or directory: ${input}`);
    return problem(`cannot access ${input}: ${errMessage(err)}`);
  }

  if (st.isDirectory()) return expandDirectory(input, abs, opts.recursive);

  const kind = manifestKind(abs);
  if (kind) {
    const m = await readManifest(abs, input, kind, opts.pathColumn);
    if (m.problems.length > 0) return { jobs: [], skipped: 0, problems: m.problems };
    if (m.paths.length === 0) return problem(`manifest lists no paths: ${input}`);
    return { jobs: await resolveListed(m.paths, path.dirname(abs)), skipped: 0, problems: [] };
  }
  if (isImagePath(abs)) return { jobs: [{ path: abs }], skipped: 0, problems: [] };
  return {
    jobs: [{ path: abs, error: { code: 'UNSUPPORTED_TYPE', message: unsupportedTypeMessage(abs) } }],
    skipped: 0,
    problems: [],
  };
}

async function expandDirectory(input: string, abs: string, recursive: boolean): Promise<Expansion> {
  let walked;
  try {
    walked = await walkDirectory(abs, recursive);
  } catch (err) {
    return problem(`cannot read directory ${input}: ${errMessage(err)}`);
  }
  if (walked.files.length === 0 && walked.unreadable.length === 0) {
    return {
      jobs: [],
      skipped: walked.skipped,
      problems: [`directory contains no images: ${input}${skippedNote(walked.skipped)}`],
    };
  }
  return { jobs: withUnreadable(walked.files, walked.unreadable), skipped: walked.skipped, problems: [] };
}

/**
 * Images plus one error job per directory that could not be listed, in path order: the user sees
 * each such directory as a failed record (UNREADABLE), and it counts against the error budget,
 * instead of its images silently not being there.
 */
function withUnreadable(files: string[], unreadable: UnreadableDirectory[]): Pending[] {
  const jobs: Pending[] = files.map((p) => ({ path: p }));
  for (const d of unreadable) {
    const why = d.reason === 'EACCES' || d.reason === 'EPERM' ? 'permission denied' : d.reason;
    jobs.push({ path: d.path, error: { code: 'UNREADABLE', message: `${d.path}: cannot read directory (${why}); the images in it were not listed` } });
  }
  return jobs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function expandGlob(pattern: string, cwd: string): Promise<Expansion> {
  // Symlinked directories are not descended (loop-safe, like bash's globstar).
  // fast-glob skips directories it cannot read without a word (suppressErrors); its readdir is
  // wrapped so each one is still reported.
  const unreadable: UnreadableDirectory[] = [];
  const readdir = ((dir: string, ...rest: unknown[]) => {
    const cb = rest.pop() as (err: NodeJS.ErrnoException | null, entries?: unknown) => void;
    (fs.readdir as (...a: unknown[]) => void)(dir, ...rest, (err: NodeJS.ErrnoException | null, entries?: unknown) => {
      if (err && err.code !== 'ENOENT' && err.code !== 'ENOTDIR') unreadable.push({ path: path.resolve(cwd, dir), reason: err.code ?? err.message });
      cb(err, entries);
    });
  }) as typeof fs.readdir;
  const entries = await fg.glob(pattern, {
    cwd,
    absolute: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
    suppressErrors: true,
    unique: true,
    fs: { readdir },
  });
  const files: string[] = [];
  let skipped = 0;
  for (const e of entries) {
    const p = path.resolve(e.path);
    if (e.dirent.isDirectory()) continue;
    if (e.dirent.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory()) continue;
    // Named like an image but a broken, looping or special file: an error record from the
    // decoder, as in walk.ts.
    if (isImagePath(p)) files.push(p);
    else skipped++;
  }
  if (files.length === 0 && unreadable.length === 0) {
    return { jobs: [], skipped, problems: [`glob matched no images: '${pattern}'${skippedNote(skipped)}`] };
  }
  return { jobs: withUnreadable(files, unreadable), skipped, problems: [] };
}

async function expandStdin(stdin: NodeJS.ReadableStream, cwd: string): Promise<Expansion> {
  let bytes: Buffer;
  try {
    bytes = await readStreamBounded(stdin, MAX_LIST_BYTES);
  } catch (err) {
    if (err instanceof FileTooLargeError) return problem(`the paths on stdin (-) are more than ${MAX_LIST_BYTES} bytes; split the list`);
    throw err;
  }
  // `find | yolo-serve batch -` passes names as bytes: keep those that are not UTF-8 (fs-path.ts).
  const { paths } = parseTextList(pathFromBytes(bytes));
  if (paths.length === 0) return problem('no paths on stdin (-)');
  return { jobs: await resolveListed(paths, cwd), skipped: 0, problems: [] };
}

/**
 * Paths named one by one (manifest lines, stdin). A missing file still becomes a job — the
 * decode stage reports it as NOT_FOUND in the results — so only non-image names are stat'ed,
 * to tell a directory (IS_DIRECTORY) from an unsupported file.
 */
async function resolveListed(paths: string[], base: string): Promise<Pending[]> {
  const out: Pending[] = [];
  for (const p of paths) {
    const abs = path.resolve(base, p);
    if (isImagePath(abs)) {
      out.push({ path: abs });
      continue;
    }
    const st = await stat(fsPath(abs)).catch(() => null);
    if (!st) out.push({ path: abs });
    else if (st.isDirectory()) {
      out.push({
        path: abs,
        error: {
          code: 'IS_DIRECTORY',
          message: 'is a directory (list image files, or pass the directory itself as an input)',
        },
      });
    } else out.push({ path: abs, error: { code: 'UNSUPPORTED_TYPE', message: unsupportedTypeMessage(abs) } });
  }
  return out;
}

function problem(message: string): Expansion {
  return { jobs: [], skipped: 0, problems: [message] };
}

function skippedNote(skipped: number): string {
  if (skipped === 0) return '';
  return ` (${skipped} other ${skipped === 1 ? 'file' : 'files'} skipped)`;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
