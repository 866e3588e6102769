// Letterboxing exactly as Ultralytics predicts: LetterBox(auto=False, scaleup=True, center=True)
// geometry, cv2.resize(INTER_LINEAR) on 8-bit pixels, pad 114, RGB, CHW, /255.
//
// Parity notes (what this reproduces and what it cannot):
// - Geometry uses the same double-precision operations in the same order as augment.py, with
//   Python's round() (half to even).
// - Resizing follows OpenCV's generic 8U INTER_LINEAR path (imgproc/src/resize.cpp, x86 build
//   without IPP, which OpenCV only uses for resize when "not exact" results are allowed):
//     scale = 1 / (dst / src)                          (OpenCV keeps inv_scale and inverts it)
//     f = (float)((d + 0.5) * scale - 0.5); s = floor(f); f -= s   (float32 arithmetic)
//     x only: s < 0 -> (s=0, f=0); s >= W-1 -> (s=W-1, f=0)
//     y: the fraction is kept, the two rows are clamped into [0, H-1]
//     coefficients: cvRound(c * 2048) (half to even) for c in (1-f, f)
//     horizontal: h = S[s]*a0 + S[s+1]*a1                            (int, 11-bit fixed point)
//     vertical:   v = ((b0*(h0>>4))>>16) + ((b1*(h1>>4))>>16); out = (v+2)>>2
//   The vertical formula is the one both OpenCV's SIMD kernel (VResizeLinearVec_32s8u) and its
//   scalar specialisation for uchar use, so every pixel of a row is computed the same way.
//   OpenCV switches exact 2x downscales to INTER_AREA's fast path ((a+b+c+d+2)>>2); with the
//   coefficients above (1024/1024) the linear formula gives the identical result, so no special
//   case is needed.
// - Not reproduced: OpenCV builds that route resize through a custom HAL (e.g. KleidiCV on
//   ARM64 wheels) or IPP "not exact" mode; those can differ by ±1 on some pixels.
// - The resized image is written straight into the padded CHW float buffer, so there is no
//   intermediate HWC image and no per-pixel allocation.

import type { LetterboxGeometry, RgbImage } from '../types.js';

/** Python 3 round(x): nearest integer, ties to even. Keeps the sign of zero (-0.5 -> -0). */
export function pyRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f; // exact for every double
  let r: number;
  if (d > 0.5) r = f + 1;
  else if (d < 0.5) r = f;
  else r = f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

/** int(round(x)) in Python: like pyRound, but an integer has no negative zero. */
export function pyRoundInt(x: number): number {
  return pyRound(x) + 0;
}

/** Ultralytics LetterBox geometry for a srcW×srcH image into a dstW×dstH network input. */
export function letterboxGeometry(srcW: number, srcH: number, dstW: number, dstH: number): LetterboxGeometry {
  for (const [name, v] of [['srcW', srcW], ['srcH', srcH], ['dstW', dstW], ['dstH', dstH]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`letterboxGeometry: ${name} must be a positive integer, got ${v}`);
  }
  const gain = Math.min(dstH / srcH, dstW / srcW);
  // Ultralytics would hand cv2.resize a zero dimension for extremely thin images and fail; keeping
  // at least one pixel lets such images run instead of crashing the batch.
  const newW = Math.max(1, pyRoundInt(srcW * gain));
  const newH = Math.max(1, pyRoundInt(srcH * gain));
  const dw = (dstW - newW) / 2;
  const dh = (dstH - newH) / 2;
  return {
    srcW,
    srcH,
    dstW,
    dstH,
    newW,
    newH,
    gain,
    padTop: pyRoundInt(dh - 0.1),
    padBottom: pyRoundInt(dh + 0.1),
    padLeft: pyRoundInt(dw - 0.1),
    padRight: pyRoundInt(dw + 0.1),
  };
}

/** The pad value 114 as the network sees it. */
export const PAD_VALUE = 114;

// u8 -> float32(u8) / 255, the same float32 division torch performs (`im /= 255`).
const U8_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS; // 2048

/** cvRound on a float: nearest, ties to even (SSE2 cvtss2si under the default rounding mode). */
function cvRoundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Fixed-point coefficient pair for one destination coordinate, as OpenCV computes it. */
function linearCoefs(d: number, scale: number, srcLen: number, clampFraction: boolean): [number, number, number] {
  let f = Math.fround((d + 0.5) * scale - 0.5);
  let s = Math.floor(f);
  f = Math.fround(f - s);
  if (clampFraction) {
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= srcLen - 1) {
      f = 0;
      s = srcLen - 1;
    }
  }
  const c0 = cvRoundHalfEven(Math.fround(1 - f) * COEF_SCALE);
  const c1 = cvRoundHalfEven(f * COEF_SCALE);
  return [s, c0, c1];
}

/**
 * Everything about one srcW×srcH → newW×newH resize that does not depend on the pixels: source
 * byte offsets and coefficients for every output column, clamped source rows and coefficients
 * for every output row. Datasets repeat a handful of sizes, so tables are kept per size.
 */
interface ResizeTables {
  /** Byte offsets (within a row) of the two source pixels of output column dx, and their coefficients. */
  xo0: Int32Array;
  xo1: Int32Array;
  ax0: Int32Array;
  ax1: Int32Array;
  /** The two (clamped) source rows of output row dy, and their coefficients. */
  ys0: Int32Array;
  ys1: Int32Array;
  by0: Int32Array;
  by1: Int32Array;
}

function buildResizeTables(srcW: number, srcH: number, newW: number, newH: number): ResizeTables {
  const scaleX = 1 / (newW / srcW);
  const scaleY = 1 / (newH / srcH);
  const t: ResizeTables = {
    xo0: new Int32Array(newW),
    xo1: new Int32Array(newW),
    ax0: new Int32Array(newW),
    ax1: new Int32Array(newW),
    ys0: new Int32Array(newH),
    ys1: new Int32Array(newH),
    by0: new Int32Array(newH),
    by1: new Int32Array(newH),
  };
  for (let dx = 0; dx < newW; dx++) {
    const [sx, a0, a1] = linearCoefs(dx, scaleX, srcW, true);
    t.xo0[dx] = sx * 3;
    t.xo1[dx] = Math.min(sx + 1, srcW - 1) * 3; // clamped to stay in bounds; its coefficient is 0 there
    t.ax0[dx] = a0;
    t.ax1[dx] = a1;
  }
  for (let dy = 0; dy < newH; dy++) {
    const [sy, b0, b1] = linearCoefs(dy, scaleY, srcH, false);
    t.ys0[dy] = sy < 0 ? 0 : sy > srcH - 1 ? srcH - 1 : sy;
    t.ys1[dy] = sy + 1 < 0 ? 0 : sy + 1 > srcH - 1 ? srcH - 1 : sy + 1;
    t.by0[dy] = b0;
    t.by1[dy] = b1;
  }
  return t;
}

/**
 * A small most-recently-used memo of buildResizeTables (a pure function of four integers, so
 * sharing it is invisible to callers). 32 sizes cover typical datasets; a dataset of all-different
 * sizes just rebuilds tables, which costs about as much as one resized row per table entry.
 */
const TABLE_CACHE_SIZE = 32;
const tableCache = new Map<string, ResizeTables>();

function resizeTables(srcW: number, srcH: number, newW: number, newH: number): ResizeTables {
  const key = `${srcW}x${srcH}>${newW}x${newH}`;
  let t = tableCache.get(key);
  if (t) {
    tableCache.delete(key);
  } else {
    t = buildResizeTables(srcW, srcH, newW, newH);
    if (tableCache.size >= TABLE_CACHE_SIZE) tableCache.delete(tableCache.keys().next().value!);
  }
  tableCache.set(key, t);
  return t;
}

function checkArgs(img: RgbImage, g: LetterboxGeometry, out: Float32Array, offset: number): void {
  // An image already resized to newW×newH (--fast-decode) is placed as it is.
  if ((img.width !== g.srcW || img.height !== g.srcH) && (img.width !== g.newW || img.height !== g.newH)) {
    throw new RangeError(`letterboxInto: image is ${img.width}x${img.height} but geometry expects ${g.srcW}x${g.srcH} (or ${g.newW}x${g.newH} already resized)`);
  }
  if (img.data.length < img.width * img.height * 3) {
    throw new RangeError(`letterboxInto: image data has ${img.data.length} bytes, need ${img.width * img.height * 3}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * g.dstW * g.dstH > out.length) {
    throw new RangeError(`letterboxInto: output of length ${out.length} cannot hold 3x${g.dstH}x${g.dstW} at offset ${offset}`);
  }
  if (g.padLeft + g.newW + g.padRight !== g.dstW || g.padTop + g.newH + g.padBottom !== g.dstH) {
    throw new RangeError('letterboxInto: inconsistent geometry');
  }
}

/**
 * Write one image's network input (planar RGB, CHW, float32 in [0,1]) into `out` at `offset`:
 * resized to newW×newH like cv2.resize INTER_LINEAR, placed at (padLeft, padTop), rest 114/255.
 * An image that is already newW×newH (decoded reduced by --fast-decode) is placed unresized.
 */
export function letterboxInto(img: RgbImage, g: LetterboxGeometry, out: Float32Array, offset = 0, padded = false): void {
  checkArgs(img, g, out, offset);
  const { dstW, dstH, newW, newH, padLeft, padTop } = g;
  const plane = dstW * dstH;
  const pad = U8_TO_UNIT[PAD_VALUE]!;

  // Padding: full rows above and below, strips left and right of the image rows. `padded`: the
  // caller knows `out` already holds this geometry's padding (a reused batch place whose
  // previous image had the same padKey), which saves a quarter of the writes for a 4:3 image.
  for (let c = 0, base = offset; c < 3 && !padded; c++, base += plane) {
    out.fill(pad, base, base + padTop * dstW);
    out.fill(pad, base + (padTop + newH) * dstW, base + plane);
    if (padLeft > 0 || padLeft + newW < dstW) {
      for (let y = padTop; y < padTop + newH; y++) {
        const row = base + y * dstW;
        out.fill(pad, row, row + padLeft);
        out.fill(pad, row + padLeft + newW, row + dstW);
      }
    }
  }

  const start = offset + padTop * dstW + padLeft;
  if (newW === img.width && newH === img.height) {
    copyPlanar(img, out, start, plane, dstW);
  } else {
    resizeLinearPlanar(img, resizeTables(img.width, img.height, newW, newH), newW, newH, out, start, plane, dstW);
  }
}

/**
 * Names the padding letterboxInto writes for `g`: two geometries with the same key leave the
 * same pixels outside the image, and their images cover the same place.
 */
export function padKey(g: LetterboxGeometry): string {
  return `${g.dstW}x${g.dstH}:${g.newW}x${g.newH}+${g.padLeft}+${g.padTop}`;
}

/** Whether 32-bit words read from a byte buffer hold its bytes lowest first (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** HWC u8 → CHW float32 with no resize. */
function copyPlanar(img: RgbImage, out: Float32Array, start: number, plane: number, stride: number): void {
  const { data, width, height } = img;
  // Four pixels are three aligned 32-bit words: one load instead of three byte loads per pixel
  // roughly halves the cost of this loop, which runs for every image already at network size.
  if (LITTLE_ENDIAN && data.byteOffset % 4 === 0 && width % 4 === 0) {
    copyPlanarWords(new Uint32Array(data.buffer, data.byteOffset, (width * height * 3) / 4), width, height, out, start, plane, stride);
    return;
  }
  const lut = U8_TO_UNIT;
  const plane2 = 2 * plane;
  let i = 0;
  for (let y = 0; y < height; y++) {
    let o = start + y * stride;
    const end = o + width;
    for (; o < end; o++, i += 3) {
      out[o] = lut[data[i]!]!;
      out[o + plane] = lut[data[i + 1]!]!;
      out[o + plane2] = lut[data[i + 2]!]!;
    }
  }
}

/** copyPlanar for rows of a multiple of 4 pixels, reading the packed RGB as little-endian words. */
function copyPlanarWords(words: Uint32Array, width: number, height: number, out: Float32Array, start: number, plane: number, stride: number): void {
  const lut = U8_TO_UNIT;
  const plane2 = 2 * plane;
  let k = 0;
  for (let y = 0; y < height; y++) {
    let o = start + y * stride;
    const end = o + width;
    for (; o < end; o += 4, k += 3) {
      // r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3
      const a = words[k]!;
      const b = words[k + 1]!;
      const c = words[k + 2]!;
      out[o] = lut[a & 255]!;
      out[o + plane] = lut[(a >>> 8) & 255]!;
      out[o + plane2] = lut[(a >>> 16) & 255]!;
      out[o + 1] = lut[a >>> 24]!;
      out[o + 1 + plane] = lut[b & 255]!;
      out[o + 1 + plane2] = lut[(b >>> 8) & 255]!;
      out[o + 2] = lut[(b >>> 16) & 255]!;
      out[o + 2 + plane] = lut[b >>> 24]!;
      out[o + 2 + plane2] = lut[c & 255]!;
      out[o + 3] = lut[(c >>> 8) & 255]!;
      out[o + 3 + plane] = lut[(c >>> 16) & 255]!;
      out[o + 3 + plane2] = lut[c >>> 24]!;
    }
  }
}

function resizeLinearPlanar(
  img: RgbImage,
  t: ResizeTables,
  newW: number,
  newH: number,
  out: Float32Array,
  start: number,
  plane: number,
  stride: number,
): void {
  const { data, width: srcW } = img;
  const srcRow = srcW * 3;
  const { xo0, xo1, ax0, ax1, ys0, ys1, by0, by1 } = t;

  // Two horizontally resized rows, already shifted right by 4 as the vertical pass wants them.
  const rowLen = newW * 3;
  let buf0 = new Int32Array(rowLen);
  let buf1 = new Int32Array(rowLen);
  let tag0 = -1;
  let tag1 = -1;

  for (let dy = 0; dy < newH; dy++) {
    const s0 = ys0[dy]!;
    const s1 = ys1[dy]!;
    // Reuse rows from the previous output row where possible (downscales by < 2 share rows).
    if (tag0 !== s0) {
      if (tag1 === s0) {
        const t = buf0;
        buf0 = buf1;
        buf1 = t;
        tag1 = tag0;
        tag0 = s0;
      } else {
        if (tag0 === s1) {
          const t = buf0;
          buf0 = buf1;
          buf1 = t;
          tag1 = tag0;
        }
        hresizeRow(data, s0 * srcRow, newW, xo0, xo1, ax0, ax1, buf0);
        tag0 = s0;
      }
    }
    if (tag1 !== s1) {
      if (s1 === s0) buf1.set(buf0);
      else hresizeRow(data, s1 * srcRow, newW, xo0, xo1, ax0, ax1, buf1);
      tag1 = s1;
    }
    const b1 = by1[dy]!;
    if (b1 === 0) vcopyRow(buf0, by0[dy]!, rowLen, out, start + dy * stride, plane);
    else vresizeRow(buf0, buf1, by0[dy]!, b1, rowLen, out, start + dy * stride, plane);
  }
}

/** One source row resized horizontally (11-bit fixed point), stored >> 4 for the vertical pass. */
function hresizeRow(
  data: Uint8Array,
  rowStart: number,
  newW: number,
  xo0: Int32Array,
  xo1: Int32Array,
  ax0: Int32Array,
  ax1: Int32Array,
  dst: Int32Array,
): void {
  for (let dx = 0, j = 0; dx < newW; dx++, j += 3) {
    const p0 = rowStart + xo0[dx]!;
    const p1 = rowStart + xo1[dx]!;
    const a0 = ax0[dx]!;
    const a1 = ax1[dx]!;
    dst[j] = (Math.imul(data[p0]!, a0) + Math.imul(data[p1]!, a1)) >> 4;
    dst[j + 1] = (Math.imul(data[p0 + 1]!, a0) + Math.imul(data[p1 + 1]!, a1)) >> 4;
    dst[j + 2] = (Math.imul(data[p0 + 2]!, a0) + Math.imul(data[p1 + 2]!, a1)) >> 4;
  }
}

/** One output row from two horizontally resized rows, written to the three planes. */
function vresizeRow(
  h0: Int32Array,
  h1: Int32Array,
  b0: number,
  b1: number,
  rowLen: number,
  out: Float32Array,
  o: number,
  plane: number,
): void {
  const lut = U8_TO_UNIT;
  const plane2 = 2 * plane;
  for (let j = 0; j < rowLen; j += 3, o++) {
    out[o] = lut[((Math.imul(b0, h0[j]!) >> 16) + (Math.imul(b1, h1[j]!) >> 16) + 2) >> 2]!;
    out[o + plane] = lut[((Math.imul(b0, h0[j + 1]!) >> 16) + (Math.imul(b1, h1[j + 1]!) >> 16) + 2) >> 2]!;
    out[o + plane2] = lut[((Math.imul(b0, h0[j + 2]!) >> 16) + (Math.imul(b1, h1[j + 2]!) >> 16) + 2) >> 2]!;
  }
}

/** vresizeRow when the second row's coefficient is 0 (its term is then 0 whatever the row holds). */
function vcopyRow(h0: Int32Array, b0: number, rowLen: number, out: Float32Array, o: number, plane: number): void {
  const lut = U8_TO_UNIT;
  const plane2 = 2 * plane;
  for (let j = 0; j < rowLen; j += 3, o++) {
    out[o] = lut[((Math.imul(b0, h0[j]!) >> 16) + 2) >> 2]!;
    out[o + plane] = lut[((Math.imul(b0, h0[j + 1]!) >> 16) + 2) >> 2]!;
    out[o + plane2] = lut[((Math.imul(b0, h0[j + 2]!) >> 16) + 2) >> 2]!;
  }
}

/** Convenience: letterbox one image into a fresh [3, dstH, dstW] tensor. */
export function letterboxToTensor(
  img: RgbImage,
  dstW: number,
  dstH: number,
): { tensor: Float32Array; geometry: LetterboxGeometry } {
  const geometry = letterboxGeometry(img.width, img.height, dstW, dstH);
  const tensor = new Float32Array(3 * dstW * dstH);
  letterboxInto(img, geometry, tensor, 0);
  return { tensor, geometry };
}
