// Start-of-run checks for the picture outputs of `batch` (--save-annotated, --save-crops,
// --report), so a bad folder fails before any work, and the saver the pipeline calls.
import { access, constants, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunConfig } from '../config.js';
import { UsageError } from '../config.js';
import { shardRoot } from '../inputs/shard-root.js';
import { checkReportTarget } from '../report/index.js';
import { ImageSaver } from './saver.js';

async function checkDir(flag: string, dir: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (st && !st.isDirectory()) throw new UsageError(`${flag} ${dir} is not a directory`);
  await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot create ${flag} directory ${dir}: ${err.code ?? err.message}`);
  });
  await access(dir, constants.W_OK).catch(() => {
    throw new UsageError(`cannot write to ${flag} directory ${dir}: permission denied`);
  });
}

/** Checks the folders and the report target; returns the saver, or null when no images are saved. */
export async function prepareVisualOutputs(cfg: RunConfig, cwd: string): Promise<ImageSaver | null> {
  if (cfg.reportPath !== null) {
    if (cfg.out === '-') throw new UsageError('--report reads the results back from --out: give --out a file, or run yolo-serve report on a saved copy');
    await checkReportTarget(cfg.reportPath, [cfg.out, ...(cfg.summaryPath ? [cfg.summaryPath] : [])]);
  }
  if (cfg.annotateDir === null && cfg.cropsDir === null) return null;
  // The same root the shards are keyed by: every shard writes the same layout.
  const root = await shardRoot(cfg.inputs, cwd);
  if (cfg.annotateDir !== null) {
    if (path.resolve(cwd, cfg.annotateDir) === root) {
      throw new UsageError(`--save-annotated ${cfg.annotateDir} is the input folder: the annotated images would replace the originals`);
    }
    await checkDir('--save-annotated', cfg.annotateDir);
  }
  if (cfg.cropsDir !== null) await checkDir('--save-crops', cfg.cropsDir);
  return new ImageSaver({ annotateDir: cfg.annotateDir, cropsDir: cfg.cropsDir, root, quality: cfg.annotateQuality, maxSide: cfg.annotateMaxSide });
}
