// Writing the JSON summary where --summary says. A reader (a CI step, a merge) must never see half
// a summary: the file is written beside its target, flushed to disk, then renamed over it.
import { access, constants, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../config.js';
import type { RunSummary } from './summary.js';

/** Fails before any work starts when the summary could not be written at the end. */
export async function checkSummaryTarget(summaryPath: string | null, out: string): Promise<void> {
  if (summaryPath === null) return;
  if (summaryPath === '-') {
    if (out === '-') throw new UsageError('--summary - and --out - would both write to stdout; give one of them a file');
    return;
  }
  const st = await stat(summaryPath).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`--summary ${summaryPath} is a directory; give a file path`);
  if (resolve(summaryPath) === resolve(out)) throw new UsageError('--summary and --out name the same file');
  const dir = dirname(resolve(summaryPath));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write summary ${summaryPath}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
}

export function summaryJson(summary: RunSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

/** Writes the summary atomically (FILE.tmp, fsync, rename), or to `stdout` for '-'. */
export async function writeSummaryFile(path: string, summary: RunSummary, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  const text = summaryJson(summary);
  if (path === '-') {
    await new Promise<void>((res, rej) => stdout.write(text, (err) => (err ? rej(err) : res())));
    return;
  }
  await writeFileAtomic(path, text);
}

/** Writes `text` as FILE.tmp, flushes it to disk, then renames it over FILE: a reader never sees half of it. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
