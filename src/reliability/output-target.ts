// Checks on where `batch` writes, made before any work starts (UsageError, exit 2): the output
// must be writable, must not clobber earlier results by accident, and must not be one of the
// run's own inputs. A symlink as --out is followed, as the shell's `>` does — a dangling one
// creates its target — so the file written, and the lock beside it, are the link's target.
import { access, constants, lstat, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunConfig } from '../config.js';
import { UsageError } from '../config.js';
import type { ImageJob } from '../types.js';

export interface OutputTarget {
  /** The file results go to, symlinks resolved; null for stdout. */
  real: string | null;
  /** True when that is (or will be) a regular file: only those are locked and resumed. */
  regular: boolean;
}

/** Symlink hops followed before --out counts as a loop (Linux's own limit). */
const MAX_HOPS = 40;

/** Follows `p` through symlinks, even when the last one dangles; the absolute path at the end. */
export async function resolveOutputPath(p: string): Promise<string> {
  let cur = path.resolve(p);
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const st = await lstat(cur).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw new UsageError(`cannot use --out ${p}: ${err.message}`);
    });
    if (!st?.isSymbolicLink()) return cur;
    cur = path.resolve(path.dirname(cur), await readlink(cur));
  }
  throw new UsageError(`cannot use --out ${p}: it is a symlink loop (more than ${MAX_HOPS} links)`);
}

export async function checkOutputTarget(cfg: Pick<RunConfig, 'out' | 'overwrite' | 'resume'>): Promise<OutputTarget> {
  if (cfg.out === '-') return { real: null, regular: false };
  const real = await resolveOutputPath(cfg.out);
  const shown = real === path.resolve(cfg.out) ? cfg.out : `${cfg.out} (a symlink to ${real})`;
  const st = await stat(real).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`--out ${shown} is a directory; give a file path`);
  if (st && st.size > 0 && !cfg.overwrite && !cfg.resume) {
    throw new UsageError(`output ${shown} already exists; pass --overwrite to replace it or --resume to continue it`);
  }
  if (st?.isFile()) {
    await access(real, constants.W_OK).catch(() => {
      throw new UsageError(`cannot write output ${shown}: permission denied`);
    });
  }
  const dir = path.dirname(real);
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write output ${shown}: directory ${dir} ${err.code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  });
  return { real, regular: !st || st.isFile() };
}

/**
 * Refuses an output that is one of the run's own inputs — a manifest or an image named on the
 * command line (same file, by device and inode, whatever the spelling) or an image the inputs
 * expand to — since writing it would destroy what the run reads.
 */
export async function checkOutputNotInput(target: OutputTarget, inputs: readonly string[], jobs: readonly ImageJob[]): Promise<void> {
  if (target.real === null) return;
  const out = await stat(target.real).catch(() => null);
  if (!out) return; // a file that does not exist yet is nobody's input
  for (const input of inputs) {
    if (input === '-') continue;
    const st = await stat(input).catch(() => null);
    if (st && st.isFile() && st.dev === out.dev && st.ino === out.ino) {
      throw new UsageError(`--out ${target.real} is one of this run's inputs (${input}); writing results there would destroy it`);
    }
  }
  for (const job of jobs) {
    if (job.path === target.real) throw new UsageError(`--out ${target.real} is one of this run's input images; writing results there would destroy it`);
  }
}
