// Turns the `batch` arguments (files, directories, globs, manifests, '-') into the ordered,
// de-duplicated list of image jobs. Every unusable input is collected and reported at once.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import type { ImageError, ImageJob } from '../types.js';
import { isImagePath, unsupportedTypeMessage } from './image-types.js';
import { InputError } from './input-error.js';
import { manifestKind, parseTextList, readManifest } from './manifest.js';
import { walkDirectory } from './walk.js';

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
  /** Non-image files (special files, broken links not named like images) met in directories and globs. */
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
  if (walked.files.length === 0) {
    return {
      jobs: [],
      skipped: walked.skipped,
      problems: [`directory contains no images: ${input}${skippedNote(walked.skipped)}`],
    };
  }
  return { jobs: walked.files.map((p) => ({ path: p })), skipped: walked.skipped, problems: [] };
}

async function expandGlob(pattern: string, cwd: string): Promise<Expansion> {
  // Symlinked directories are not descended (loop-safe, like bash's globstar); symlinked
  // files are checked with stat so broken links are skipped rather than fatal.
  const entries = await fg.glob(pattern, {
    cwd,
    absolute: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
    suppressErrors: true,
    unique: true,
  });
  const files: string[] = [];
  let skipped = 0;
  for (const e of entries) {
    const p = path.resolve(e.path);
    let isFile = e.dirent.isFile();
    if (e.dirent.isSymbolicLink()) {
      const target = await stat(p).catch(() => null);
      if (target?.isDirectory()) continue;
      if (!target && isImagePath(p)) {
        files.push(p); // broken image link: an error record from the decoder, as in walk.ts
        continue;
      }
      isFile = target?.isFile() ?? false;
      if (!isFile) {
        skipped++;
        continue;
      }
    }
    if (e.dirent.isDirectory()) continue;
    if (isFile && isImagePath(p)) files.push(p);
    else skipped++;
  }
  if (files.length === 0) {
    return { jobs: [], skipped, problems: [`glob matched no images: '${pattern}'${skippedNote(skipped)}`] };
  }
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { jobs: files.map((p) => ({ path: p })), skipped, problems: [] };
}

async function expandStdin(stdin: NodeJS.ReadableStream, cwd: string): Promise<Expansion> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  const { paths } = parseTextList(Buffer.concat(chunks).toString('utf8'));
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
    const st = await stat(abs).catch(() => null);
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
