// Opening input files safely: only regular files, never blocking, every read bounded. A FIFO
// named like an image (or like a manifest) would otherwise block open() until a writer appears,
// and a device (/dev/zero, /dev/urandom) would be read without end.
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fsPath } from './fs-path.js';

/** The path names something other than a regular file (or a directory, which callers tell apart). */
export class NotRegularFileError extends Error {
  constructor(readonly kind: string, readonly isDirectory: boolean) {
    super(isDirectory ? 'is a directory' : `is ${kind}, not a regular file`);
    this.name = 'NotRegularFileError';
  }
}

/** The file is larger than the reader allows; nothing of it was read. */
export class FileTooLargeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(`is ${size} bytes, above the limit of ${limit} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Opens `p` for reading without blocking (O_NONBLOCK: opening a FIFO with no writer returns at
 * once instead of waiting) and checks what it is with fstat on the open descriptor — not with a
 * stat beforehand, which a rename between the two could defeat. Throws NotRegularFileError for
 * anything but a regular file, and the usual errno errors (ENOENT, EACCES, ELOOP, ENXIO for
 * sockets) from open itself. The caller closes the handle.
 */
export async function openRegularFile(p: string): Promise<{ fh: FileHandle; st: Stats }> {
  const fh = await open(fsPath(p), constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(specialKind(st), st.isDirectory());
    return { fh, st };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** Reads up to `length` bytes at `position`; shorter only when the file ends sooner (it shrank). */
export async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  const filled = await readInto(fh, buf, 0, position);
  return filled === length ? buf : buf.subarray(0, filled);
}

/** Fills `buf` from `offset` to its end with the file's bytes from `position`; returns the bytes read (fewer at end of file). */
export async function readInto(fh: FileHandle, buf: Buffer, offset: number, position: number): Promise<number> {
  let filled = 0;
  while (offset + filled < buf.length) {
    const { bytesRead } = await fh.read(buf, offset + filled, buf.length - offset - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** A whole regular file of at most `maxBytes` (FileTooLargeError, unread, when larger). */
export async function readRegularFile(p: string, maxBytes: number): Promise<Buffer> {
  const { fh, st } = await openRegularFile(p);
  try {
    if (st.size > maxBytes) throw new FileTooLargeError(st.size, maxBytes);
    return await readAt(fh, st.size, 0);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Reads a stream to its end, refusing (FileTooLargeError) once it passes `maxBytes`. */
export async function readStreamBounded(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    total += b.length;
    if (total > maxBytes) throw new FileTooLargeError(total, maxBytes);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** What a non-regular file is, in words for an error message. */
export function specialKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
