// What an image file is, and how many pixels it will decode to, from its first bytes alone — so a
// file is judged before it is read whole or decoded. Pure functions over a byte prefix.

/** Raster formats the decoder accepts (libvips decodes them from a buffer). */
export type RasterFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'heif';
/** Vector formats: rendered at whatever size the file asks for, so refused unless allowed. */
export type VectorFormat = 'svg' | 'pdf';

/** The format a file's content (not its name) says it is; null when it is none we read. */
export function sniffFormat(b: Uint8Array): RasterFormat | VectorFormat | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  const tiff = ascii(b, 0, 2);
  if ((tiff === 'II' && (b[2] === 42 || b[2] === 43) && b[3] === 0) || (tiff === 'MM' && b[2] === 0 && (b[3] === 42 || b[3] === 43))) return 'tiff';
  if (ascii(b, 4, 8) === 'ftyp') return 'heif';
  if (ascii(b, 0, 5) === '%PDF-') return 'pdf';
  if (looksLikeSvg(b)) return 'svg';
  return null;
}

export function isVector(f: RasterFormat | VectorFormat): f is VectorFormat {
  return f === 'svg' || f === 'pdf';
}

/**
 * Width and height from a JPEG's or PNG's header bytes (the formats nearly every dataset holds);
 * null when the prefix does not reach them or for other formats (the caller asks libvips).
 */
export function headerDimensions(b: Uint8Array, format: RasterFormat): { width: number; height: number } | null {
  if (format === 'png') {
    if (b.length < 24 || ascii(b, 12, 16) !== 'IHDR') return null;
    return { width: u32be(b, 16), height: u32be(b, 20) };
  }
  if (format === 'jpeg') return jpegDimensions(b);
  return null;
}

/** Walks the marker segments up to the first start-of-frame (SOF0–SOF15 except DHT, JPG, DAC). */
function jpegDimensions(b: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      return { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    }
    if (marker === 0xda || len < 2) return null; // scan data before a frame header: not a JPEG we trust
    i += 2 + len;
  }
  return null;
}

function looksLikeSvg(b: Uint8Array): boolean {
  // XML may start with a BOM and whitespace; an SVG names its root element early.
  let text = Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 4096)).toString('utf8');
  text = text.replace(/^\ufeff/, '').trimStart();
  return text.startsWith('<') && /<svg[\s>]/i.test(text);
}

function startsWith(b: Uint8Array, sig: number[]): boolean {
  return b.length >= sig.length && sig.every((v, i) => b[i] === v);
}

function ascii(b: Uint8Array, from: number, to: number): string {
  if (b.length < to) return '';
  return String.fromCharCode(...b.subarray(from, to));
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
}
