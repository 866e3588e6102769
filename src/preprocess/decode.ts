// Decode an image file into upright packed 8-bit RGB, the way cv2.imread(IMREAD_COLOR) sees it
// (which is what Ultralytics predict reads): EXIF orientation applied, alpha dropped without
// blending, grey replicated to three channels, 16-bit reduced to 8-bit by taking the high byte,
// first frame of animations, embedded ICC profiles ignored (OpenCV does not colour-manage).
//
// Failures are values, never exceptions: every path returns a DecodeResult.
//
// Known differences from cv2.imread: CMYK JPEGs are converted with libvips' CMYK profile, not
// OpenCV's naive CMYK->BGR formula; JPEG decoding uses sharp's bundled mozjpeg/libjpeg-turbo,
// which normally matches OpenCV's libjpeg-turbo but is a different build. Truncated files are
// rejected (OpenCV would decode them with a warning and grey fill).
//
// sharp keeps a global operation cache; the CLI should call `sharp.cache(false)` once at start-up
// (doing it here would be a hidden global side effect of importing this module).

import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import sharp from 'sharp';
import { DEFAULTS } from '../config.js';
import { NotRegularFileError, openRegularFile, readAt, readInto } from '../inputs/regular-file.js';
import type { ErrorCode, ImageError, RgbImage } from '../types.js';
import { headerDimensions, isVector, sniffFormat } from './image-header.js';

export type DecodeResult = { ok: true; image: RgbImage } | { ok: false; error: ImageError };

export interface DecodeOptions {
  /** Largest width×height accepted; 0, negative or non-finite means no limit. */
  maxPixels: number;
  /** Largest file read, in bytes (default DEFAULTS.maxFileBytes); larger files are TOO_LARGE unread. */
  maxFileBytes?: number;
  /** Render SVG (vector) content; refused by default (UNSUPPORTED_TYPE). */
  allowVector?: boolean;
  /** Shared by one run's concurrent decodes: bounds the memory they hold together (see DecodeBudget). */
  budget?: DecodeBudget;
}

/**
 * Decoded bytes per pixel: the packed RGB result. libvips streams the decode itself through
 * small line buffers, so a decode's peak is about this times its pixels plus the file's bytes.
 */
export const BYTES_PER_PIXEL = 3;

/**
 * How much of a file is read to judge it (format, pixel count) before the rest is read: most
 * images fit whole (one read, as many round trips on libuv's busy pool as readFile), and a
 * JPEG's frame header comes after EXIF/XMP segments of up to 64 KiB each.
 */
export const HEAD_BYTES = 1024 * 1024;

/**
 * A weighted FIFO semaphore over bytes: a decode holds (its pixels × BYTES_PER_PIXEL + its file
 * size) from just before its file is read whole until its pixels are decoded, so the decodes in
 * flight together never hold more than the capacity — however many run at once and however big
 * the images are. One image always fits: capacity is the largest single image allowed.
 */
export class DecodeBudget {
  private used = 0;
  private readonly waiters: { bytes: number; go: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** The budget for images of at most `maxPixels` pixels and files of at most `maxFileBytes`. */
  static forLimits(maxPixels: number, maxFileBytes: number): DecodeBudget | undefined {
    if (!(maxPixels > 0) || !Number.isFinite(maxPixels) || !(maxFileBytes > 0) || !Number.isFinite(maxFileBytes)) return undefined;
    return new DecodeBudget(maxPixels * BYTES_PER_PIXEL + maxFileBytes);
  }

  get inUse(): number {
    return this.used;
  }

  /** Waits until `bytes` (clamped to the capacity) are free; resolves to the release function. */
  async acquire(bytes: number): Promise<() => void> {
    const want = Math.min(Math.max(0, bytes), this.capacity);
    if (this.waiters.length === 0 && this.used + want <= this.capacity) this.used += want;
    else await new Promise<void>((go) => this.waiters.push({ bytes: want, go }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= want;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.bytes <= this.capacity) {
      const next = this.waiters.shift()!;
      this.used += next.bytes;
      next.go();
    }
  }
}

function fail(code: ErrorCode, message: string): DecodeResult {
  return { ok: false, error: { code, message } };
}

function readErrorResult(path: string, err: unknown): DecodeResult {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return fail('NOT_FOUND', `${path}: file not found`);
    case 'EISDIR':
      return fail('IS_DIRECTORY', `${path}: is a directory, not an image file`);
    case 'EACCES':
    case 'EPERM':
      return fail('UNREADABLE', `${path}: permission denied`);
    case 'ENXIO': // open() of a socket, or of a device with nothing behind it
      return fail('SPECIAL_FILE', `${path}: is a socket or device, not a regular file`);
    default:
      return fail('UNREADABLE', `${path}: cannot read file (${code ?? detail})`);
  }
}

/**
 * Read `path` and decode it; see decodeBuffer for the decoding rules. Only regular files are
 * read: the file is opened without blocking (a FIFO with no writer would otherwise hang the
 * open) and checked with fstat on the open descriptor (not a stat before opening, which a
 * rename could race). Every read is bounded by `maxFileBytes`, and the file's format and pixel
 * count are judged from its first HEAD_BYTES before the rest is read or anything is decoded.
 */
export async function decodeImage(path: string, opts: DecodeOptions): Promise<DecodeResult> {
  let opened: { fh: FileHandle; st: Stats };
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    if (err instanceof NotRegularFileError) {
      if (err.isDirectory) return fail('IS_DIRECTORY', `${path}: is a directory, not an image file`);
      return fail('SPECIAL_FILE', `${path}: ${err.message}; only regular files are read`);
    }
    return readErrorResult(path, err);
  }
  try {
    return await decodeOpenFile(opened.fh, opened.st.size, path, opts);
  } catch (err) {
    return readErrorResult(path, err);
  } finally {
    await opened.fh.close().catch(() => {});
  }
}

async function decodeOpenFile(fh: FileHandle, size: number, path: string, opts: DecodeOptions): Promise<DecodeResult> {
  if (size === 0) return fail('EMPTY_FILE', `${path}: file is empty (0 bytes)`);
  const maxFileBytes = positiveOr(opts.maxFileBytes, DEFAULTS.maxFileBytes);
  if (size > maxFileBytes) {
    return fail('TOO_LARGE', `${path}: file is ${size} bytes, above the limit of ${maxFileBytes} bytes (--max-file-size)`);
  }

  const head = await readAt(fh, Math.min(size, HEAD_BYTES), 0);
  const judged = judgeContent(head, path, opts);
  if (judged) return judged;
  const limit = pixelLimit(opts.maxPixels);
  const format = sniffFormat(head)!;
  const dims = isVector(format) ? null : (headerDimensions(head, format) ?? (await libvipsDimensions(head)));
  if (dims && limit !== false && dims.width * dims.height > limit) return tooLarge(path, `${dims.width}x${dims.height}`, limit);

  // Unknown dimensions (a header past the first bytes, a vector): assume the largest allowed.
  const pixels = dims ? dims.width * dims.height : limit === false ? 0 : limit;
  const release = opts.budget ? await opts.budget.acquire(pixels * BYTES_PER_PIXEL + size) : () => {};
  try {
    let buf = head;
    if (head.length < size && head.length > 0) {
      // The rest goes straight after the head in one buffer of the file's size.
      buf = Buffer.allocUnsafe(size);
      head.copy(buf);
      const rest = await readInto(fh, buf, head.length, head.length);
      if (head.length + rest < size) buf = buf.subarray(0, head.length + rest); // the file shrank
    }
    return await decodeBuffer(buf, path, opts);
  } finally {
    release();
  }
}

/** Width and height as libvips reads them from the header bytes; null when the prefix is not enough. */
async function libvipsDimensions(head: Buffer): Promise<{ width: number; height: number } | null> {
  try {
    const m = await sharp(head, { limitInputPixels: false }).metadata();
    return m.width && m.height ? { width: m.width, height: m.height } : null;
  } catch {
    return null;
  }
}

function pixelLimit(maxPixels: number): number | false {
  return Number.isFinite(maxPixels) && maxPixels > 0 ? Math.floor(maxPixels) : false;
}

function positiveOr(v: number | undefined, fallback: number): number {
  return v !== undefined && v > 0 ? v : fallback;
}

function tooLarge(label: string, size: string, limit: number): DecodeResult {
  return fail('TOO_LARGE', `${label}: image${size ? ` (${size})` : ''} has more pixels than the limit of ${limit}`);
}

/**
 * Refuses content that is not a raster image we decode, whatever the file is called: unknown
 * bytes (a text file or a disk image named .jpg) and, unless allowed, vector formats, whose
 * rendering size the file itself chooses. null: go on.
 */
function judgeContent(head: Uint8Array, label: string, opts: DecodeOptions): DecodeResult | null {
  const format = sniffFormat(head);
  if (format === null) return fail('DECODE_FAILED', `${label}: cannot decode image (Input buffer contains unsupported image format)`);
  if (format === 'pdf') return fail('UNSUPPORTED_TYPE', `${label}: is a PDF document, not an image`);
  if (format === 'svg' && !opts.allowVector) {
    return fail('UNSUPPORTED_TYPE', `${label}: is an SVG (vector) image; vector images are refused unless --allow-vector is given`);
  }
  return null;
}

/** Decode encoded image bytes; `label` names the image in error messages (usually its path). */
export async function decodeBuffer(buf: Uint8Array, label: string, opts: DecodeOptions): Promise<DecodeResult> {
  if (buf.length === 0) return fail('EMPTY_FILE', `${label}: file is empty (0 bytes)`);
  const judged = judgeContent(buf, label, opts);
  if (judged) return judged;
  const limit = pixelLimit(opts.maxPixels);
  try {
    const { data, info } = await sharp(buf, {
      limitInputPixels: limit,
      // 'truncated' rejects cut-off files but, unlike the default 'warning', still accepts the
      // minor libjpeg warnings (extraneous bytes etc.) that OpenCV reads without complaint.
      failOn: 'truncated',
      ignoreIcc: true,
      pages: 1,
      page: 0,
    })
      .autoOrient()
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      return fail('DECODE_FAILED', `${label}: decoded to ${info.channels} channels, expected 3`);
    }
    return { ok: true, image: { data, width: info.width, height: info.height } };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/exceeds pixel limit/i.test(message)) {
      return tooLarge(label, await headerSize(buf), limit as number);
    }
    return fail('DECODE_FAILED', `${label}: cannot decode image (${describeDecodeFailure(buf, message)})`);
  }
}

/**
 * libvips reports a decoder's own message through a buffer that concurrent decodes share, so the
 * text a cut-off JPEG gets varies from run to run (often just "Unknown error"). A JPEG missing
 * its end-of-image marker is named as truncated whatever libvips said, so the record is stable.
 */
function describeDecodeFailure(buf: Uint8Array, message: string): string {
  const text = oneLine(message);
  if (isJpeg(buf) && !endsWithJpegEoi(buf)) return `truncated JPEG: no end-of-image marker${/unknown error/i.test(text) ? '' : `; ${text}`}`;
  return text;
}

function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

/** FF D9 at the end, allowing the trailing padding some encoders and cameras append. */
function endsWithJpegEoi(buf: Uint8Array): boolean {
  let end = buf.length;
  while (end > 2 && buf[end - 1] === 0x00) end--;
  return end >= 2 && buf[end - 2] === 0xff && buf[end - 1] === 0xd9;
}

/**
 * libvips reports one line per libjpeg/libpng warning, often the same line several times; an
 * error record's message stays on one line so CSV rows and logs stay one line per image.
 */
function oneLine(message: string): string {
  const kept: string[] = [];
  for (const raw of message.split('\n')) {
    const line = raw.trim();
    if (line.length > 0 && !kept.some((k) => k.includes(line))) kept.push(line);
  }
  return kept.join('; ');
}

/** "W×H" from the header alone, or "" when even that cannot be read. */
async function headerSize(buf: Uint8Array): Promise<string> {
  const dims = await libvipsDimensions(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  return dims ? `${dims.width}x${dims.height}` : '';
}
