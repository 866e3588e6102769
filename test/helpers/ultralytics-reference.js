// Independent re-implementation of the Ultralytics `predict` recipe for ONNX
// detection models with the [1, 4 + nc, N] output layout (YOLOv8 / YOLO11 heads).
//
// It exists only to produce expected detections for parity tests, so it
// deliberately shares NO code with ../../src: it was written from the
// Ultralytics sources (data/augment.py LetterBox, utils/ops.py xywh2xyxy +
// scale_boxes + clip_boxes, utils/nms.py non_max_suppression, engine/predictor.py
// preprocess) and OpenCV's modules/imgproc/src/resize.cpp (INTER_LINEAR, 8-bit).
// Readability beats speed here: plain nested loops, one step per function.
//
// Float32 emulation: Ultralytics does its box maths on float32 torch tensors and
// torchvision's NMS computes IoU in float32, so those steps round every
// intermediate with Math.fround. That matters for NMS decisions near the IoU
// threshold (class offsets of up to 79 * 7680 px leave only ~0.06 px of
// float32 resolution) and for the last digit of the output boxes.

import sharp from 'sharp';
import * as ort from 'onnxruntime-node';

export const DEFAULTS = Object.freeze({
  imgsz: 640, // LetterBox new_shape when the model input is not fixed
  conf: 0.25, // predict default
  iou: 0.7, // predict default
  maxDet: 300,
  maxNms: 30000,
  maxWh: 7680,
  agnostic: false,
  padValue: 114,
});

const f32 = Math.fround;

// ---------------------------------------------------------------------------
// Small numeric helpers

/** Python 3 int(round(x)): ties go to the even neighbour (round(2.5) == 2), never -0. */
export function roundHalfEven(x) {
  let r = Math.round(x); // ties go up (towards +inf)
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return r === 0 ? 0 : r;
}

/** OpenCV cvRound on SSE2: round-to-nearest, ties to even. */
function cvRound(x) {
  return roundHalfEven(x);
}

/** OpenCV saturate_cast<short>(float). */
function saturateShort(x) {
  return Math.min(32767, Math.max(-32768, cvRound(x)));
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Decode an image to packed RGB uint8 (HWC), applying EXIF orientation like
 * cv2.imread does. Grey or alpha images come back as 3 channels.
 */
export async function decodeRgb(imagePath) {
  const { data, info } = await sharp(imagePath)
    .rotate()
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    throw new Error(`expected 3 channels after decode, got ${info.channels} for ${imagePath}`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
}

// ---------------------------------------------------------------------------
// cv2.resize(..., interpolation=cv2.INTER_LINEAR) for 8-bit images

const INTER_RESIZE_COEF_BITS = 11;
const INTER_RESIZE_COEF_SCALE = 1 << INTER_RESIZE_COEF_BITS; // 2048

/** OpenCV's clip() used when picking source rows: clamps to [a, b-1]. */
function clipRow(x, a, b) {
  return x >= a ? (x < b ? x : b - 1) : a;
}

/**
 * Bilinear resize with OpenCV's INTER_LINEAR semantics for CV_8U, following
 * hal::resize -> resizeGeneric_ (HResizeLinear + VResizeLinear<uchar,int,short>):
 *  - half-pixel centres: f = (float)((d + 0.5) * scale - 0.5), s = floor(f);
 *  - 11-bit fixed-point weights: saturate_cast<short>((1 - f) * 2048), (f * 2048);
 *  - horizontally, source columns outside the image clamp (weight (2048, 0));
 *    vertically the weights are NOT clamped, only the row indices are;
 *  - the vertical pass uses OpenCV's reduced-precision rounding
 *    ((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16) + 2) >> 2,
 *    which is what both its SIMD and its scalar code compute.
 * An exact 2x downscale is redirected to INTER_AREA's fast path, as OpenCV does.
 * `src` is HWC uint8 with `cn` channels; returns a new Uint8Array.
 */
export function resizeBilinearOpenCV(src, srcW, srcH, cn, dstW, dstH) {
  if (srcW === dstW && srcH === dstH) return Uint8Array.from(src);

  const invScaleX = dstW / srcW;
  const invScaleY = dstH / srcH;
  const scaleX = 1 / invScaleX;
  const scaleY = 1 / invScaleY;
  const iscaleX = cvRound(scaleX);
  const iscaleY = cvRound(scaleY);
  const isAreaFast = Math.abs(scaleX - iscaleX) < Number.EPSILON && Math.abs(scaleY - iscaleY) < Number.EPSILON;
  if (isAreaFast && iscaleX === 2 && iscaleY === 2) {
    return resizeAreaFast2x(src, srcW, cn, dstW, dstH);
  }

  // Horizontal tables.
  const xofs = new Int32Array(dstW);
  const alpha = new Int32Array(dstW * 2);
  let xmax = dstW; // from xmax on, the right neighbour would fall outside the image
  for (let dx = 0; dx < dstW; dx++) {
    let fx = f32((dx + 0.5) * scaleX - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx + 1 >= srcW) {
      xmax = Math.min(xmax, dx);
      if (sx >= srcW - 1) {
        fx = 0;
        sx = srcW - 1;
      }
    }
    xofs[dx] = sx;
    alpha[dx * 2] = saturateShort(f32(1 - fx) * INTER_RESIZE_COEF_SCALE);
    alpha[dx * 2 + 1] = saturateShort(fx * INTER_RESIZE_COEF_SCALE);
  }

  // Vertical tables (note: no clamping of fy here, unlike fx).
  const yofs = new Int32Array(dstH);
  const beta = new Int32Array(dstH * 2);
  for (let dy = 0; dy < dstH; dy++) {
    let fy = f32((dy + 0.5) * scaleY - 0.5);
    const sy = Math.floor(fy);
    fy = f32(fy - sy);
    yofs[dy] = sy;
    beta[dy * 2] = saturateShort(f32(1 - fy) * INTER_RESIZE_COEF_SCALE);
    beta[dy * 2 + 1] = saturateShort(fy * INTER_RESIZE_COEF_SCALE);
  }

  // Horizontal pass of one source row into int32 "row buffer" values (scaled by 2048).
  const hresizeRow = (sy) => {
    const row = new Int32Array(dstW * cn);
    const base = sy * srcW * cn;
    for (let dx = 0; dx < dstW; dx++) {
      const sx = xofs[dx];
      for (let c = 0; c < cn; c++) {
        const s0 = src[base + sx * cn + c];
        if (dx < xmax) {
          const s1 = src[base + (sx + 1) * cn + c];
          row[dx * cn + c] = s0 * alpha[dx * 2] + s1 * alpha[dx * 2 + 1];
        } else {
          row[dx * cn + c] = s0 * INTER_RESIZE_COEF_SCALE;
        }
      }
    }
    return row;
  };

  const dst = new Uint8Array(dstW * dstH * cn);
  for (let dy = 0; dy < dstH; dy++) {
    const r0 = hresizeRow(clipRow(yofs[dy], 0, srcH));
    const r1 = hresizeRow(clipRow(yofs[dy] + 1, 0, srcH));
    const b0 = beta[dy * 2];
    const b1 = beta[dy * 2 + 1];
    for (let i = 0; i < dstW * cn; i++) {
      const v = (((b0 * (r0[i] >> 4)) >> 16) + ((b1 * (r1[i] >> 4)) >> 16) + 2) >> 2;
      dst[dy * dstW * cn + i] = v & 0xff; // uchar() cast; v never leaves 0..255
    }
  }
  return dst;
}

/** INTER_AREA fast path for an exact 2x downscale: rounded mean of each 2x2 block. */
function resizeAreaFast2x(src, srcW, cn, dstW, dstH) {
  const dst = new Uint8Array(dstW * dstH * cn);
  for (let dy = 0; dy < dstH; dy++) {
    for (let dx = 0; dx < dstW; dx++) {
      for (let c = 0; c < cn; c++) {
        const at = (y, x) => src[(y * srcW + x) * cn + c];
        const sum = at(2 * dy, 2 * dx) + at(2 * dy, 2 * dx + 1) + at(2 * dy + 1, 2 * dx) + at(2 * dy + 1, 2 * dx + 1);
        dst[(dy * dstW + dx) * cn + c] = (sum + 2) >> 2;
      }
    }
  }
  return dst;
}

// ---------------------------------------------------------------------------
// LetterBox(new_shape, auto=False, scaleFill=False, scaleup=True, center=True)

/**
 * Letterbox an HWC uint8 image to [newH, newW] exactly as Ultralytics' LetterBox
 * with auto=False, scaleup=True, center=True, pad value 114.
 * Returns { data, width, height, channels, ratio, left, top, newUnpad: [w, h] }.
 */
export function letterbox(img, newShape = [DEFAULTS.imgsz, DEFAULTS.imgsz], padValue = DEFAULTS.padValue) {
  const [newH, newW] = newShape;
  const { width: w, height: h, channels: cn } = img;
  const r = Math.min(newH / h, newW / w);
  const unpadW = roundHalfEven(w * r);
  const unpadH = roundHalfEven(h * r);
  const dw = (newW - unpadW) / 2;
  const dh = (newH - unpadH) / 2;

  const resized = w !== unpadW || h !== unpadH ? resizeBilinearOpenCV(img.data, w, h, cn, unpadW, unpadH) : img.data;

  const top = roundHalfEven(dh - 0.1);
  const bottom = roundHalfEven(dh + 0.1);
  const left = roundHalfEven(dw - 0.1);
  const right = roundHalfEven(dw + 0.1);
  const outW = unpadW + left + right;
  const outH = unpadH + top + bottom;

  const out = new Uint8Array(outW * outH * cn).fill(padValue);
  for (let y = 0; y < unpadH; y++) {
    const srcStart = y * unpadW * cn;
    out.set(resized.subarray(srcStart, srcStart + unpadW * cn), ((y + top) * outW + left) * cn);
  }
  return { data: out, width: outW, height: outH, channels: cn, ratio: r, left, top, newUnpad: [unpadW, unpadH] };
}

/** HWC uint8 -> CHW float32 scaled by 1/255 (channel order kept: RGB in, RGB out). */
export function toChwFloat(img) {
  const { data, width, height, channels } = img;
  const plane = width * height;
  const out = new Float32Array(channels * plane);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        // Float32Array storage rounds the double quotient, which equals float32 division.
        out[c * plane + y * width + x] = data[(y * width + x) * channels + c] / 255;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// non_max_suppression for the [1, 4 + nc, N] layout

/**
 * Ultralytics non_max_suppression (single image, multi_label=False, no masks)
 * with torchvision.ops.nms semantics. `pred` is the flat [4 + nc, N] tensor
 * (channel-major, as ONNX returns it). Returns detections in model-input pixels,
 * ordered as NMS keeps them (score descending):
 * [{ x1, y1, x2, y2, conf, cls }].
 */
export function nonMaxSuppression(pred, numChannels, numAnchors, opts = {}) {
  const conf = opts.conf ?? DEFAULTS.conf;
  const iou = opts.iou ?? DEFAULTS.iou;
  const maxDet = opts.maxDet ?? DEFAULTS.maxDet;
  const maxNms = opts.maxNms ?? DEFAULTS.maxNms;
  const maxWh = opts.maxWh ?? DEFAULTS.maxWh;
  const agnostic = opts.agnostic ?? DEFAULTS.agnostic;
  const nc = numChannels - 4;
  const N = numAnchors;
  // torch compares a float32 tensor with a Python float after casting it to float32.
  const confF = f32(conf);

  // Candidates: best class score > conf; best class = first index of the max.
  let cand = [];
  for (let i = 0; i < N; i++) {
    let best = -Infinity;
    let bestCls = -1;
    for (let c = 0; c < nc; c++) {
      const s = pred[(4 + c) * N + i];
      if (s > best) {
        best = s;
        bestCls = c;
      }
    }
    if (!(best > confF)) continue;
    // xywh2xyxy in float32 (w / 2 is exact).
    const cx = pred[i];
    const cy = pred[N + i];
    const hw = pred[2 * N + i] / 2;
    const hh = pred[3 * N + i] / 2;
    cand.push({ x1: f32(cx - hw), y1: f32(cy - hh), x2: f32(cx + hw), y2: f32(cy + hh), conf: best, cls: bestCls });
  }
  if (cand.length === 0) return [];
  if (cand.length > maxNms) {
    cand = stableSortByConfDesc(cand).slice(0, maxNms);
  }

  // Batched NMS by class offset, then torchvision.ops.nms (stable sort by score).
  const offsetBoxes = cand.map((d) => {
    const off = agnostic ? 0 : f32(d.cls * maxWh);
    const x1 = f32(d.x1 + off);
    const y1 = f32(d.y1 + off);
    const x2 = f32(d.x2 + off);
    const y2 = f32(d.y2 + off);
    return { x1, y1, x2, y2, area: f32(f32(x2 - x1) * f32(y2 - y1)) };
  });
  const order = stableSortIndicesByConfDesc(cand);
  const suppressed = new Uint8Array(cand.length);
  const keep = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    const a = offsetBoxes[i];
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const b = offsetBoxes[j];
      const w = Math.max(0, f32(Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)));
      const h = Math.max(0, f32(Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)));
      const inter = f32(w * h);
      const ovr = f32(inter / f32(f32(a.area + b.area) - inter));
      if (ovr > iou) suppressed[j] = 1; // torchvision compares float IoU with the double threshold
    }
  }
  return keep.slice(0, maxDet).map((i) => ({ ...cand[i] }));
}

function stableSortIndicesByConfDesc(dets) {
  return dets.map((_, i) => i).sort((a, b) => dets[b].conf - dets[a].conf || a - b);
}

function stableSortByConfDesc(dets) {
  return stableSortIndicesByConfDesc(dets).map((i) => dets[i]);
}

// ---------------------------------------------------------------------------
// scale_boxes + clip_boxes

/**
 * Map boxes from the letterboxed input [inH, inW] back to the original image
 * [origH, origW], as ops.scale_boxes(ratio_pad=None) then clip_boxes, in float32.
 */
export function scaleBoxes(dets, inputShape, origShape) {
  const [inH, inW] = inputShape;
  const [origH, origW] = origShape;
  const gain = Math.min(inH / origH, inW / origW);
  const padX = roundHalfEven((inW - origW * gain) / 2 - 0.1);
  const padY = roundHalfEven((inH - origH * gain) / 2 - 0.1);
  const gainF = f32(gain); // a Python float applied to a float32 tensor acts as float32
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  return dets.map((d) => ({
    ...d,
    x1: clamp(f32(f32(d.x1 - padX) / gainF), origW),
    y1: clamp(f32(f32(d.y1 - padY) / gainF), origH),
    x2: clamp(f32(f32(d.x2 - padX) / gainF), origW),
    y2: clamp(f32(f32(d.y2 - padY) / gainF), origH),
  }));
}

// ---------------------------------------------------------------------------
// Session + end-to-end predict

/** Create an onnxruntime-node CPU session with default options. */
export async function loadReferenceSession(modelPath) {
  return ort.InferenceSession.create(modelPath);
}

/** The model's fixed [H, W] input size, or [imgsz, imgsz] when it is dynamic. */
function inputShapeOf(session, imgsz) {
  const meta = session.inputMetadata?.[0];
  const shape = meta?.shape;
  if (shape && shape.length === 4 && Number.isInteger(shape[2]) && Number.isInteger(shape[3])) {
    return [shape[2], shape[3]];
  }
  return [imgsz, imgsz];
}

/**
 * Full recipe on one image; returns { width, height, detections } where
 * detections are [{ cls, conf, x1, y1, x2, y2 }] in original-image pixels.
 */
export async function referencePredictWithInfo(session, imagePath, opts = {}) {
  const img = await decodeRgb(imagePath);
  const [inH, inW] = opts.inputShape ?? inputShapeOf(session, opts.imgsz ?? DEFAULTS.imgsz);
  const lb = letterbox(img, [inH, inW]);
  const input = new ort.Tensor('float32', toChwFloat(lb), [1, 3, inH, inW]);
  const outputs = await session.run({ [session.inputNames[0]]: input });
  const out = outputs[session.outputNames[0]];
  const [batch, numChannels, numAnchors] = out.dims;
  if (out.dims.length !== 3 || batch !== 1 || numChannels >= numAnchors) {
    throw new Error(`reference supports only [1, 4+nc, N] outputs, got [${out.dims.join(', ')}]`);
  }
  const kept = nonMaxSuppression(out.data, numChannels, numAnchors, opts);
  const scaled = scaleBoxes(kept, [inH, inW], [img.height, img.width]);
  const detections = scaled.map((d) => ({ cls: d.cls, conf: d.conf, x1: d.x1, y1: d.y1, x2: d.x2, y2: d.y2 }));
  return { width: img.width, height: img.height, detections };
}

/**
 * Ultralytics-equivalent predict on one image.
 * opts: { conf = 0.25, iou = 0.7, maxDet = 300, agnostic = false, imgsz = 640 }.
 * Returns [{ cls, conf, x1, y1, x2, y2 }] sorted by confidence (NMS order).
 */
export async function referencePredict(session, imagePath, opts = {}) {
  return (await referencePredictWithInfo(session, imagePath, opts)).detections;
}
