// Directory walking. Our own walker rather than fast-glob so that symlinked directories can be
// followed without loops: every physical directory (dev:ino) is listed once, and symlinked
// directories are walked only after the real tree, so a file reachable both ways keeps its real path.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsPath, pathFromBytes } from './fs-path.js';
import { isImagePath } from './image-types.js';

/** A directory under the walked root that could not be listed: its images are unknown. */
export interface UnreadableDirectory {
  path: string;
  /** errno code (EACCES, EIO, …) or the error's message. */
  reason: string;
}

export interface WalkResult {
  /** Absolute image paths, sorted by plain string comparison. */
  files: string[];
  /** Non-image files, broken links not named like images. */
  skipped: number;
  /** Sub-directories that could not be listed (permissions, I/O errors), sorted by path. */
  unreadable: UnreadableDirectory[];
}

/**
 * Lists the images under `root` (absolute). Hidden entries (names starting with '.') are
 * ignored, as shell globs and Ultralytics' directory loader do. Names are read as bytes, so a
 * name that is not UTF-8 keeps its bytes (fs-path.ts). Throws only when `root` itself cannot be
 * read; a sub-directory that cannot be read is returned in `unreadable`, never dropped silently.
 * Special files (FIFOs, devices, sockets) named like images are listed, so that the decoder
 * reports them; others are skipped.
 */
export async function walkDirectory(root: string, recursive: boolean): Promise<WalkResult> {
  const files: string[] = [];
  const unreadable: UnreadableDirectory[] = [];
  let skipped = 0;
  const visited = new Set<string>();
  const symlinkedDirs: string[] = [];

  const enter = async (dir: string, isRoot: boolean): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      const st = await stat(fsPath(dir));
      const key = `${st.dev}:${st.ino}`;
      if (visited.has(key)) return;
      visited.add(key);
      entries = await readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      if (isRoot) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      // Gone since its parent was listed: nothing was there to lose.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') unreadable.push({ path: dir, reason: code ?? (err as Error).message });
      return;
    }
    const named = entries.map((e) => ({ e, name: pathFromBytes(e.name) }));
    named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { e, name } of named) {
      if (name.startsWith('.')) continue;
      const full = path.join(dir, name);
      if (e.isFile()) {
        if (isImagePath(full)) files.push(full);
        else skipped++;
      } else if (e.isDirectory()) {
        if (recursive) await enter(full, false);
      } else if (e.isSymbolicLink()) {
        const target = await stat(fsPath(full)).catch(() => null); // null: broken or looping link
        if (target?.isDirectory()) {
          if (recursive) symlinkedDirs.push(full);
        } else if (isImagePath(full)) {
          // A regular file, or something that should have been one: a broken or looping link
          // (a missing mount, a moved dataset) or a link to a special file. The decoder turns
          // the latter into error records.
          files.push(full);
        } else {
          skipped++;
        }
      } else if (isImagePath(full)) {
        files.push(full); // a FIFO, socket or device named like an image: SPECIAL_FILE
      } else {
        skipped++;
      }
    }
  };

  await enter(root, true);
  for (let i = 0; i < symlinkedDirs.length; i++) await enter(symlinkedDirs[i]!, false);

  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  unreadable.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped, unreadable };
}
