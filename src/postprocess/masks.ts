// Instance masks from a segmentation head, as Ultralytics ops.process_mask (upsample=True) and
// ops.process_mask_native compute them: logits = coefficients · prototypes, zero outside the box,
// bilinear resize (torch F.interpolate, align_corners=False), then > 0.
//
// Only a window around each box is computed: outside it the cropped logits are 0 and stay 0
// after interpolation, so the result equals the full-size computation at a fraction of the work.

/** A binary mask covering [x0, x0+w) × [y0, y0+h) of a larger image; every pixel outside is 0. */
export interface MaskWindow {
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Row-major, 1 = inside the mask. */
  data: Uint8Array;
  /** Size of the image the window lies in. */
  imageW: number;
  imageH: number;
}

/** Prototypes of one image: nm planes of mh × mw. */
export interface Protos {
  data: Float32Array;
  nm: number;
  mh: number;
  mw: number;
}

/** The mask logit at proto pixel (r, c): coefficients · prototypes. */
function logit(p: Protos, coeffs: Float32Array, at: number): number {
  const plane = p.mh * p.mw;
  let s = 0;
  for (let k = 0; k < p.nm; k++) s += coeffs[k]! * p.data[k * plane + at]!;
  return s;
}

/** torch's bilinear source index (align_corners=False): lower index, upper index, weight of upper. */
function sourceIndex(dst: number, scale: number, size: number): [number, number, number] {
  let src = (dst + 0.5) * scale - 0.5;
  if (src < 0) src = 0;
  const i0 = Math.min(Math.floor(src), size - 1);
  const i1 = Math.min(i0 + 1, size - 1);
  return [i0, i1, src - i0];
}

/**
 * process_mask(protos, coeffs, box, (outH, outW), upsample=True): the box is in network-input
 * pixels; the crop happens in prototype space (box × mh/outH, × mw/outW), then the cropped logits
 * are resized to outH × outW.
 */
export function processMask(p: Protos, coeffs: Float32Array, box: { x1: number; y1: number; x2: number; y2: number }, outH: number, outW: number): MaskWindow {
  const rw = p.mw / outW;
  const rh = p.mh / outH;
  // Proto columns/rows kept by crop_mask: c >= x1·rw and c < x2·rw.
  const cx0 = Math.max(0, Math.ceil(Math.fround(box.x1 * rw)));
  const cx1 = Math.min(p.mw - 1, Math.ceil(Math.fround(box.x2 * rw)) - 1);
  const cy0 = Math.max(0, Math.ceil(Math.fround(box.y1 * rh)));
  const cy1 = Math.min(p.mh - 1, Math.ceil(Math.fround(box.y2 * rh)) - 1);
  if (cx1 < cx0 || cy1 < cy0) return emptyWindow(outW, outH);
  // Cropped logits on the whole proto plane: 0 outside the kept window, as crop_mask leaves them.
  const plane = new Float32Array(p.mh * p.mw);
  for (let r = cy0; r <= cy1; r++) for (let c = cx0; c <= cx1; c++) plane[r * p.mw + c] = logit(p, coeffs, r * p.mw + c);
  // Output pixels whose interpolation touches the kept window (one pixel of margin for rounding).
  const sx = p.mw / outW;
  const sy = p.mh / outH;
  const x0 = Math.max(0, Math.floor((cx0 - 0.5) / sx - 0.5) - 1);
  const x1 = Math.min(outW, Math.ceil((cx1 + 1.5) / sx - 0.5) + 1);
  const y0 = Math.max(0, Math.floor((cy0 - 0.5) / sy - 0.5) - 1);
  const y1 = Math.min(outH, Math.ceil((cy1 + 1.5) / sy - 0.5) + 1);
  return resample(plane, p.mw, 0, 0, p.mw, p.mh, x0, y0, x1, y1, outW, outH, sx, sy);
}

/**
 * process_mask_native(protos, coeffs, box, (outH, outW)): the prototypes lose the letterbox
 * padding (scale_masks), are resized to the original image, then cropped to the box, which is in
 * original-image pixels.
 */
export function processMaskNative(p: Protos, coeffs: Float32Array, box: { x1: number; y1: number; x2: number; y2: number }, outH: number, outW: number): MaskWindow {
  const gain = Math.min(p.mh / outH, p.mw / outW);
  const padW = (p.mw - outW * gain) / 2;
  const padH = (p.mh - outH * gain) / 2;
  const top = Math.trunc(padH);
  const left = Math.trunc(padW);
  const bottom = Math.trunc(p.mh - padH);
  const right = Math.trunc(p.mw - padW);
  const inW = right - left;
  const inH = bottom - top;
  // crop_mask in output space: x >= x1 and x < x2.
  const x0 = Math.max(0, Math.ceil(box.x1));
  const x1 = Math.min(outW, Math.ceil(box.x2));
  const y0 = Math.max(0, Math.ceil(box.y1));
  const y1 = Math.min(outH, Math.ceil(box.y2));
  if (x1 <= x0 || y1 <= y0 || inW <= 0 || inH <= 0) return emptyWindow(outW, outH);
  // Logits over the proto rows/columns the box's pixels read (the rest is never touched).
  const plane = new Float32Array(p.mh * p.mw);
  const sx = inW / outW;
  const sy = inH / outH;
  const [c0] = sourceIndex(x0, sx, inW);
  const [, c1] = sourceIndex(x1 - 1, sx, inW);
  const [r0] = sourceIndex(y0, sy, inH);
  const [, r1] = sourceIndex(y1 - 1, sy, inH);
  for (let r = top + r0; r <= top + r1; r++) for (let c = left + c0; c <= left + c1; c++) plane[r * p.mw + c] = logit(p, coeffs, r * p.mw + c);
  return resample(plane, p.mw, left, top, inW, inH, x0, y0, x1, y1, outW, outH, sx, sy);
}

/**
 * Bilinear resize (align_corners=False) of the inW × inH region at (left, top) of `plane` onto
 * the output window [x0, x1) × [y0, y1), thresholded at > 0.
 */
function resample(
  plane: Float32Array,
  stride: number,
  left: number,
  top: number,
  inW: number,
  inH: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  imageW: number,
  imageH: number,
  sx: number,
  sy: number,
): MaskWindow {
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const data = new Uint8Array(w * h);
  const c0 = new Int32Array(w);
  const c1 = new Int32Array(w);
  const lx = new Float64Array(w);
  for (let i = 0; i < w; i++) {
    const [a, b, l] = sourceIndex(x0 + i, sx, inW);
    c0[i] = left + a;
    c1[i] = left + b;
    lx[i] = l;
  }
  for (let j = 0; j < h; j++) {
    const [r0, r1, ly] = sourceIndex(y0 + j, sy, inH);
    const row0 = (top + r0) * stride;
    const row1 = (top + r1) * stride;
    for (let i = 0; i < w; i++) {
      const a = lx[i]!;
      const t = plane[row0 + c0[i]!]! * (1 - a) + plane[row0 + c1[i]!]! * a;
      const b = plane[row1 + c0[i]!]! * (1 - a) + plane[row1 + c1[i]!]! * a;
      if (t * (1 - ly) + b * ly > 0) data[j * w + i] = 1;
    }
  }
  return { x0, y0, w, h, data, imageW, imageH };
}

function emptyWindow(imageW: number, imageH: number): MaskWindow {
  return { x0: 0, y0: 0, w: 0, h: 0, data: new Uint8Array(0), imageW, imageH };
}

export function maskArea(m: MaskWindow): number {
  let n = 0;
  for (const v of m.data) n += v;
  return n;
}
