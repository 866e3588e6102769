// Classification preprocessing, as Ultralytics' ClassificationPredictor does it for an exported
// model: classify_transforms(imgsz) on a PIL image of the (RGB) decoded picture, i.e.
//
//   T.Resize(s, BILINEAR)  (square imgsz s×s: the SHORT side to s, the long side
//                           int(s · long / short), aspect kept)
//   T.Resize((h, w))       (non-square imgsz: both sides, aspect not kept)
//   T.CenterCrop((h, w))   top = round((H − h) / 2), left = round((W − w) / 2), Python rounding
//   T.ToTensor()           u8 / 255 in float32, CHW
//   T.Normalize(0, 1)      Ultralytics' defaults (mean 0, std 1): no change
//
// No letterbox and no padding. torchvision hands PIL images to Pillow's Image.resize, whose
// BILINEAR filter is antialiased (a triangle filter whose support grows with the downscale factor,
// Pillow's Resample.c), so that is what this reproduces, integer for integer:
// - coefficients per output pixel in double precision (precompute_coeffs), normalised to 22-bit
//   fixed point (normalize_coeffs_8bpc: (int)(0.5 + k · 2^22));
// - the horizontal pass first, rounded and clamped to an 8-bit intermediate image
//   ((Σ p·k + 2^21) >> 22), then the vertical pass over that intermediate;
// - a pass is skipped when its side does not change (Pillow skips it too).
// Only the pixels inside the centre crop are computed: every output pixel depends only on its own
// coefficients, so the crop of the full resize and the resize of the crop region are the same.

import type { RgbImage } from '../types.js';
import { pyRoundInt } from './letterbox.js';

/** Where one image's classify input comes from: resize to resizeW×resizeH, then the dstW×dstH crop at (cropLeft, cropTop). */
export interface ClassifyGeometry {
  srcW: number;
  srcH: number;
  resizeW: number;
  resizeH: number;
  cropLeft: number;
  cropTop: number;
  dstW: number;
  dstH: number;
}

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

// u8 -> float32(u8) / 255, as ToTensor computes it.
const U8_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** classify_transforms geometry for a srcW×srcH image and a dstW×dstH model input. */
export function classifyGeometry(srcW: number, srcH: number, dstW: number, dstH: number): ClassifyGeometry {
  for (const [name, v] of [['srcW', srcW], ['srcH', srcH], ['dstW', dstW], ['dstH', dstH]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`classifyGeometry: ${name} must be a positive integer, got ${v}`);
  }
  let resizeW = dstW;
  let resizeH = dstH;
  if (dstW === dstH) {
    // torchvision _compute_resized_output_size with one size: the short side becomes it.
    if (srcW <= srcH) resizeH = Math.trunc((dstW * srcH) / srcW);
    else resizeW = Math.trunc((dstH * srcW) / srcH);
  }
  return {
    srcW,
    srcH,
    resizeW,
    resizeH,
    cropLeft: pyRoundInt((resizeW - dstW) / 2),
    cropTop: pyRoundInt((resizeH - dstH) / 2),
    dstW,
    dstH,
  };
}

/** Fixed-point filter taps for `count` output pixels starting at `from`, of a resize inSize -> outSize. */
interface Taps {
  /** First source pixel of each output pixel. */
  start: Int32Array;
  /** Number of source pixels of each output pixel. */
  length: Int32Array;
  /** ksize coefficients per output pixel (22-bit fixed point). */
  k: Int32Array;
  ksize: number;
}

/** Pillow's precompute_coeffs (BILINEAR, support 1) + normalize_coeffs_8bpc, for a window of outputs. */
export function bilinearTaps(inSize: number, outSize: number, from: number, count: number): Taps {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale; // bilinear support 1.0 × filterscale
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(count);
  const length = new Int32Array(count);
  const k = new Int32Array(count * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < count; i++) {
    const center = (from + i + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1 ? 1 - t : 0;
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x]! / ww : w[x]!;
      k[i * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[i] = xmin;
    length[i] = xmax;
  }
  return { start, length, k, ksize };
}

/** clip8: the accumulated sum back to a byte. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * The crop of Image.resize((resizeW, resizeH), BILINEAR) as packed RGB (dstW×dstH×3), computed
 * only where the crop needs it.
 */
export function resizeCropRgb(img: RgbImage, g: ClassifyGeometry): Uint8Array {
  checkImage(img, g);
  const { data, width: srcW } = img;
  const { dstW, dstH } = g;
  const needH = g.resizeW !== g.srcW;
  const needV = g.resizeH !== g.srcH;

  // Source rows the vertical pass reads (or, without it, the cropped rows themselves).
  const vtaps = needV ? bilinearTaps(g.srcH, g.resizeH, g.cropTop, dstH) : null;
  const rowFirst = vtaps ? vtaps.start[0]! : g.cropTop;
  const rowEnd = vtaps ? vtaps.start[dstH - 1]! + vtaps.length[dstH - 1]! : g.cropTop + dstH;

  // Horizontal pass (or column crop) into an 8-bit intermediate of rowEnd - rowFirst rows.
  const mid = new Uint8Array((rowEnd - rowFirst) * dstW * 3);
  if (needH) horizontalPass(data, srcW, rowFirst, rowEnd, bilinearTaps(srcW, g.resizeW, g.cropLeft, dstW), dstW, mid);
  else cropColumns(data, srcW, rowFirst, rowEnd, g.cropLeft, dstW, mid);
  if (vtaps === null) return mid;
  const out = new Uint8Array(dstW * dstH * 3);
  verticalPass(mid, rowFirst, vtaps, dstW * 3, dstH, out);
  return out;
}

function cropColumns(data: Uint8Array, srcW: number, rowFirst: number, rowEnd: number, left: number, dstW: number, mid: Uint8Array): void {
  for (let y = rowFirst, o = 0; y < rowEnd; y++, o += dstW * 3) {
    const from = (y * srcW + left) * 3;
    mid.set(data.subarray(from, from + dstW * 3), o);
  }
}

function horizontalPass(data: Uint8Array, srcW: number, rowFirst: number, rowEnd: number, taps: Taps, dstW: number, mid: Uint8Array): void {
  const { start, length, k, ksize } = taps;
  for (let y = rowFirst, o = 0; y < rowEnd; y++) {
    const rowBase = y * srcW * 3;
    for (let x = 0; x < dstW; x++, o += 3) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = rowBase + start[x]! * 3;
      for (let t = x * ksize, end = t + length[x]!; t < end; t++, p += 3) {
        const kk = k[t]!;
        s0 += data[p]! * kk;
        s1 += data[p + 1]! * kk;
        s2 += data[p + 2]! * kk;
      }
      mid[o] = clip8(s0);
      mid[o + 1] = clip8(s1);
      mid[o + 2] = clip8(s2);
    }
  }
}

function verticalPass(mid: Uint8Array, rowFirst: number, taps: Taps, stride: number, dstH: number, out: Uint8Array): void {
  const { start, length, k, ksize } = taps;
  for (let y = 0; y < dstH; y++) {
    const first = (start[y]! - rowFirst) * stride;
    const kBase = y * ksize;
    const n = length[y]!;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let t = 0, p = first + i; t < n; t++, p += stride) s += mid[p]! * k[kBase + t]!;
      out[y * stride + i] = clip8(s);
    }
  }
}

/**
 * Write one image's classify input (planar RGB, CHW, float32 in [0,1]) into `out` at `offset`:
 * the dstW×dstH centre crop of the bilinear resize, divided by 255.
 */
export function classifyInto(img: RgbImage, g: ClassifyGeometry, out: Float32Array, offset = 0): void {
  const plane = g.dstW * g.dstH;
  if (!Number.isInteger(offset) || offset < 0 || offset + 3 * plane > out.length) {
    throw new RangeError(`classifyInto: output of length ${out.length} cannot hold 3x${g.dstH}x${g.dstW} at offset ${offset}`);
  }
  const rgb = resizeCropRgb(img, g);
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[offset + i] = U8_TO_UNIT[rgb[p]!]!;
    out[offset + plane + i] = U8_TO_UNIT[rgb[p + 1]!]!;
    out[offset + 2 * plane + i] = U8_TO_UNIT[rgb[p + 2]!]!;
  }
}

/** Convenience: one image's classify input as a fresh [3, dstH, dstW] tensor. */
export function classifyToTensor(img: RgbImage, dstW: number, dstH: number): { tensor: Float32Array; geometry: ClassifyGeometry } {
  const geometry = classifyGeometry(img.width, img.height, dstW, dstH);
  const tensor = new Float32Array(3 * dstW * dstH);
  classifyInto(img, geometry, tensor, 0);
  return { tensor, geometry };
}

function checkImage(img: RgbImage, g: ClassifyGeometry): void {
  if (img.width !== g.srcW || img.height !== g.srcH) {
    throw new RangeError(`classify preprocessing: image is ${img.width}x${img.height} but geometry expects ${g.srcW}x${g.srcH}`);
  }
  if (img.data.length < img.width * img.height * 3) {
    throw new RangeError(`classify preprocessing: image data has ${img.data.length} bytes, need ${img.width * img.height * 3}`);
  }
  if (g.cropLeft < 0 || g.cropTop < 0 || g.cropLeft + g.dstW > g.resizeW || g.cropTop + g.dstH > g.resizeH) {
    throw new RangeError('classify preprocessing: the crop lies outside the resized image');
  }
}
