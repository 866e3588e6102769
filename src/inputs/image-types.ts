import path from 'node:path';

/** Extensions (lower-case, with dot) of the image formats the decode stage reads. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.avif',
  '.gif',
]);

const IMAGE_SET = new Set(IMAGE_EXTENSIONS);

/** True when the path's extension (case-insensitive) is a supported image type. */
export function isImagePath(p: string): boolean {
  return IMAGE_SET.has(path.extname(p).toLowerCase());
}

/** The message an explicitly named, unsupported file gets. */
export function unsupportedTypeMessage(p: string): string {
  const ext = path.extname(p) || '(no extension)';
  const list = IMAGE_EXTENSIONS.map((e) => e.slice(1)).join(', ');
  return `unsupported file type ${ext} (supported: ${list})`;
}
