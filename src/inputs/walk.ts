// Directory walking. Our own walker rather than fast-glob so that symlinked directories can be
// followed without loops: every physical directory (dev:ino) is listed once, and symlinked
// directories are walked only after the real tree, so a file reachable both ways keeps its real path.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isImagePath } from './image-types.js';

export interface WalkResult {
  /** Absolute image paths, sorted by plain string comparison. */
  files: string[];
  /** Non-image files, special files, unreadable subdirectories, broken links not named like images. */
  skipped: number;
}

/**
 * Lists the images under `root` (absolute). Hidden entries (names starting with '.') are
 * ignored, as shell globs and Ultralytics' directory loader do. Throws only when `root`
 * itself cannot be read.
 */
export async function walkDirectory(root: string, recursive: boolean): Promise<WalkResult> {
  const files: string[] = [];
  let skipped = 0;
  const visited = new Set<string>();
  const symlinkedDirs: string[] = [];

  const enter = async (dir: string, isRoot: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      const st = await stat(dir);
      const key = `${st.dev}:${st.ino}`;
      if (visited.has(key)) return;
      visited.add(key);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isRoot) throw err;
      skipped++;
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isFile()) {
        if (isImagePath(full)) files.push(full);
        else skipped++;
      } else if (e.isDirectory()) {
        if (recursive) await enter(full, false);
      } else if (e.isSymbolicLink()) {
        const target = await stat(full).catch(() => null); // null: broken or looping link
        if (target?.isFile()) {
          if (isImagePath(full)) files.push(full);
          else skipped++;
        } else if (target?.isDirectory()) {
          if (recursive) symlinkedDirs.push(full);
        } else if (!target && isImagePath(full)) {
          // A broken or looping link named like an image is an image that should be there
          // (a missing mount, a moved dataset): the decoder turns it into an error record.
          files.push(full);
        } else {
          skipped++;
        }
      } else {
        skipped++; // sockets, FIFOs, devices
      }
    }
  };

  await enter(root, true);
  for (let i = 0; i < symlinkedDirs.length; i++) await enter(symlinkedDirs[i]!, false);

  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files, skipped };
}
