// Where annotated images and crops go. Annotated images mirror each input's path relative to the
// input root (inputs/shard-root.ts), so same-named files in different folders never collide and
// every shard of a job agrees on the layout. Crops follow Ultralytics' save_crop layout.
import path from 'node:path';
import type { ImageFormat } from '../draw/render.js';

const FORMAT_BY_EXT: Record<string, ImageFormat> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'avif',
  '.gif': 'gif',
};

/** Folder for images outside the input root (manifest entries pointing elsewhere). */
export const OUTSIDE_ROOT_DIR = '_outside_root';

/**
 * The annotated copy of `imagePath`: DIR/<path relative to root>, same name and format. A path
 * outside the root goes under DIR/_outside_root/<its absolute path>. Inputs with another
 * extension (none reach here today) are written as JPEG with `.jpg` appended.
 */
export function annotatedPath(dir: string, root: string, imagePath: string): { file: string; format: ImageFormat } {
  const abs = path.resolve(imagePath);
  let rel = path.relative(root, abs);
  if (rel === '' || rel.startsWith(`..${path.sep}`) || rel === '..' || path.isAbsolute(rel)) {
    const { root: fsRoot } = path.parse(abs);
    rel = path.join(OUTSIDE_ROOT_DIR, fsRoot.replace(/[:\\/]/g, ''), abs.slice(fsRoot.length));
  }
  const format = FORMAT_BY_EXT[path.extname(abs).toLowerCase()];
  return format ? { file: path.join(dir, rel), format } : { file: path.join(dir, `${rel}.jpg`), format: 'jpeg' };
}

/** A class name as one safe folder name: no separators, no control characters, never '.' or '..'. */
export function classDirName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').trim();
  if (clean === '' || clean === '.' || clean === '..') return `_${clean}`;
  return clean;
}

/**
 * Candidate names for the n-th attempt at a crop (n from 1): `stem.jpg`, then `stem2.jpg`,
 * `stem3.jpg`, … as Ultralytics' increment_path(sep='') numbers repeats.
 */
export function cropName(stem: string, n: number): string {
  return n <= 1 ? `${stem}.jpg` : `${stem}${n}.jpg`;
}

export function imageStem(imagePath: string): string {
  return path.basename(imagePath, path.extname(imagePath));
}
