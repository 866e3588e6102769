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

import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ErrorCode, ImageError, RgbImage } from '../types.js';

export type DecodeResult =
  | {
      ok: true;
      image: RgbImage;
      /** Set when `reduceJpeg` chose a smaller size: the image's own upright size (image is smaller). */
      reducedFrom?: { width: number; height: number };
    }
  | { ok: false; error: ImageError };

export interface DecodeOptions {
  /** Largest width×height accepted; 0, negative or non-finite means no limit. */
  maxPixels: number;
  /**
   * `--fast-decode` (see fast-decode.ts): given a JPEG's upright size, the smaller size to decode
   * it at with shrink-on-load, or null to decode it whole. Not consulted for other formats.
   */
  reduceJpeg?: ((width: number, height: number) => { width: number; height: number } | null) | null;
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
    default:
      return fail('UNREADABLE', `${path}: cannot read file (${code ?? detail})`);
  }
}

/** Read `path` and decode it; see decodeBuffer for the decoding rules. */
export async function decodeImage(path: string, opts: DecodeOptions): Promise<DecodeResult> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    return readErrorResult(path, err);
  }
  return decodeBuffer(buf, path, opts);
}

/** Decode encoded image bytes; `label` names the image in error messages (usually its path). */
export async function decodeBuffer(buf: Uint8Array, label: string, opts: DecodeOptions): Promise<DecodeResult> {
  if (buf.length === 0) return fail('EMPTY_FILE', `${label}: file is empty (0 bytes)`);
  const limit = Number.isFinite(opts.maxPixels) && opts.maxPixels > 0 ? Math.floor(opts.maxPixels) : false;
  try {
    const reduce = opts.reduceJpeg && isJpeg(buf) ? await reducedSize(buf, opts.reduceJpeg) : null;
    const pipeline = sharp(buf, {
      limitInputPixels: limit,
      // 'truncated' rejects cut-off files but, unlike the default 'warning', still accepts the
      // minor libjpeg warnings (extraneous bytes etc.) that OpenCV reads without complaint.
      failOn: 'truncated',
      ignoreIcc: true,
      pages: 1,
      page: 0,
    })
      .autoOrient();
    // fastShrinkOnLoad lets libjpeg decode at 1/2, 1/4 or 1/8 scale (DCT scaling); libvips'
    // reduce takes it the rest of the way.
    if (reduce) pipeline.resize(reduce.to.width, reduce.to.height, { fit: 'fill', fastShrinkOnLoad: true, kernel: 'linear' });
    const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      return fail('DECODE_FAILED', `${label}: decoded to ${info.channels} channels, expected 3`);
    }
    const image = { data, width: info.width, height: info.height };
    return reduce ? { ok: true, image, reducedFrom: reduce.from } : { ok: true, image };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/exceeds pixel limit/i.test(message)) {
      const size = await headerSize(buf);
      return fail('TOO_LARGE', `${label}: image${size} has more pixels than the limit of ${limit}`);
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

/** The upright size from the header and the size `choose` picks for it, or null to decode whole. */
async function reducedSize(buf: Uint8Array, choose: NonNullable<DecodeOptions['reduceJpeg']>): Promise<{ from: { width: number; height: number }; to: { width: number; height: number } } | null> {
  // A header that cannot be read is left to the full decode, which reports it.
  const m = await sharp(buf, { limitInputPixels: false }).metadata().catch(() => null);
  if (!m?.width || !m.height) return null;
  const from = (m.orientation ?? 1) >= 5 ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
  const to = choose(from.width, from.height);
  return to ? { from, to } : null;
}

/** " (W×H)" from the header alone, or "" when even that cannot be read. */
async function headerSize(buf: Uint8Array): Promise<string> {
  try {
    const m = await sharp(buf, { limitInputPixels: false }).metadata();
    return m.width && m.height ? ` (${m.width}x${m.height})` : '';
  } catch {
    return '';
  }
}
