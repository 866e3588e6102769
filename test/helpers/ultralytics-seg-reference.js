// Independent re-implementation of Ultralytics' segmentation predict recipe for ONNX models with
// output0 [1, 4+nc+nm, N] (YOLOv8/11-seg) or end-to-end [1, K, 6+nm] (YOLO26-seg) and output1
// prototypes [1, nm, mh, mw]. Like ultralytics-reference.js (whose decode, LetterBox and
// OpenCV resize it reuses) it shares NO code with ../../src. Written from Ultralytics'
// utils/ops.py (process_mask, crop_mask, scale_image), utils/nms.py (non_max_suppression with
// nm extra columns) and models/yolo/segment/predict.py (construct_result: drop empty masks).
// Plain full-size loops: every mask is the whole 640×640 plane, nothing windowed.

import * as ort from 'onnxruntime-node';
import { DEFAULTS, decodeRgb, letterbox, resizeBilinearOpenCV, roundHalfEven, toChwFloat } from './ultralytics-reference.js';

const f32 = Math.fround;

/** NMS over [4+nc+nm, N] keeping each kept row's nm mask coefficients (non_max_suppression, nm>0). */
function nmsWithMasks(pred, rows, n, nm, opts) {
  const nc = rows - 4 - nm;
  const confF = f32(opts.conf);
  const cand = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let cls = -1;
    for (let c = 0; c < nc; c++) {
      const s = pred[(4 + c) * n + i];
      if (s > best) {
        best = s;
        cls = c;
      }
    }
    if (!(best > confF)) continue;
    const cx = pred[i];
    const cy = pred[n + i];
    const hw = pred[2 * n + i] / 2;
    const hh = pred[3 * n + i] / 2;
    const coeffs = new Float32Array(nm);
    for (let k = 0; k < nm; k++) coeffs[k] = pred[(4 + nc + k) * n + i];
    cand.push({ x1: f32(cx - hw), y1: f32(cy - hh), x2: f32(cx + hw), y2: f32(cy + hh), conf: best, cls, coeffs });
  }
  const order = cand.map((_, i) => i).sort((a, b) => cand[b].conf - cand[a].conf || a - b);
  const boxes = cand.map((d) => {
    const off = f32(d.cls * DEFAULTS.maxWh);
    const x1 = f32(d.x1 + off);
    const y1 = f32(d.y1 + off);
    const x2 = f32(d.x2 + off);
    const y2 = f32(d.y2 + off);
    return { x1, y1, x2, y2, area: f32(f32(x2 - x1) * f32(y2 - y1)) };
  });
  const gone = new Uint8Array(cand.length);
  const keep = [];
  for (let oi = 0; oi < order.length; oi++) {
    const i = order[oi];
    if (gone[i]) continue;
    keep.push(cand[i]);
    for (let oj = oi + 1; oj < order.length; oj++) {
      const j = order[oj];
      if (gone[j]) continue;
      const a = boxes[i];
      const b = boxes[j];
      const w = Math.max(0, f32(Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)));
      const h = Math.max(0, f32(Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)));
      const inter = f32(w * h);
      if (f32(inter / f32(f32(a.area + b.area) - inter)) > opts.iou) gone[j] = 1;
    }
  }
  return keep.slice(0, opts.maxDet);
}

/** End-to-end rows [K, 6+nm]: score > conf, model order, first maxDet. */
function endToEndRows(pred, k, cols, nm, opts) {
  const out = [];
  for (let i = 0; i < k && out.length < opts.maxDet; i++) {
    const r = i * cols;
    if (!(pred[r + 4] > f32(opts.conf))) continue;
    out.push({ x1: pred[r], y1: pred[r + 1], x2: pred[r + 2], y2: pred[r + 3], conf: pred[r + 4], cls: Math.trunc(pred[r + 5]), coeffs: pred.slice(r + 6, r + 6 + nm) });
  }
  return out;
}

/**
 * process_mask(protos, coeffs, box, (H, W), upsample=True): the full mh×mw logit plane, crop_mask
 * with the box scaled to proto space, F.interpolate bilinear (align_corners=False) to H×W, > 0.
 */
export function processMaskFull(protos, nm, mh, mw, coeffs, box, H, W) {
  const plane = new Float64Array(mh * mw);
  for (let p = 0; p < mh * mw; p++) {
    let s = 0;
    for (let k = 0; k < nm; k++) s += coeffs[k] * protos[k * mh * mw + p];
    plane[p] = s;
  }
  const bx1 = box.x1 * (mw / W);
  const bx2 = box.x2 * (mw / W);
  const by1 = box.y1 * (mh / H);
  const by2 = box.y2 * (mh / H);
  for (let r = 0; r < mh; r++) for (let c = 0; c < mw; c++) if (!(c >= bx1 && c < bx2 && r >= by1 && r < by2)) plane[r * mw + c] = 0;
  const src = (d, scale, size) => {
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(s), size - 1);
    return [i0, Math.min(i0 + 1, size - 1), s - i0];
  };
  const mask = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    const [r0, r1, ly] = src(y, mh / H, mh);
    for (let x = 0; x < W; x++) {
      const [c0, c1, lx] = src(x, mw / W, mw);
      const top = plane[r0 * mw + c0] * (1 - lx) + plane[r0 * mw + c1] * lx;
      const bot = plane[r1 * mw + c0] * (1 - lx) + plane[r1 * mw + c1] * lx;
      mask[y * W + x] = top * (1 - ly) + bot * ly > 0 ? 1 : 0;
    }
  }
  return mask;
}

/**
 * ops.scale_image: the letterboxed H×W mask without its padding, resized to the original image
 * with cv2.resize (INTER_LINEAR) as 0/255 uint8, then >= 128.
 */
export function scaleMaskToImage(mask, H, W, origW, origH) {
  const gain = Math.min(H / origH, W / origW);
  const padX = (W - origW * gain) / 2;
  const padY = (H - origH * gain) / 2;
  const top = roundHalfEven(padY - 0.1);
  const left = roundHalfEven(padX - 0.1);
  const bottom = H - roundHalfEven(padY + 0.1);
  const right = W - roundHalfEven(padX + 0.1);
  const cw = right - left;
  const ch = bottom - top;
  const crop = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = mask[(y + top) * W + x + left] ? 255 : 0;
  const resized = resizeBilinearOpenCV(crop, cw, ch, 1, origW, origH);
  const out = new Uint8Array(origW * origH);
  for (let i = 0; i < out.length; i++) out[i] = resized[i] >= 128 ? 1 : 0;
  return out;
}

/** Box scaling as scale_boxes (pad = round(... - 0.1)), clipped, float32. */
function scaleBox(d, H, W, origW, origH) {
  const gain = Math.min(H / origH, W / origW);
  const padX = roundHalfEven((W - origW * gain) / 2 - 0.1);
  const padY = roundHalfEven((H - origH * gain) / 2 - 0.1);
  const g = f32(gain);
  const c = (v, hi) => Math.min(Math.max(v, 0), hi);
  return { x1: c(f32(f32(d.x1 - padX) / g), origW), y1: c(f32(f32(d.y1 - padY) / g), origH), x2: c(f32(f32(d.x2 - padX) / g), origW), y2: c(f32(f32(d.y2 - padY) / g), origH) };
}

export async function loadSegSession(modelPath) {
  return ort.InferenceSession.create(modelPath);
}

/**
 * Segmentation predict on one image. Returns { width, height, detections: [{ cls, conf, x1, y1,
 * x2, y2, mask }] } with boxes and masks (Uint8Array origW×origH, row-major) in image pixels.
 */
export async function referenceSegment(session, imagePath, opts = {}) {
  const o = { conf: DEFAULTS.conf, iou: DEFAULTS.iou, maxDet: DEFAULTS.maxDet, ...opts };
  const img = await decodeRgb(imagePath);
  const [H, W] = [640, 640];
  const lb = letterbox(img, [H, W]);
  const outs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', toChwFloat(lb), [1, 3, H, W]) });
  const det = outs[session.outputNames[0]];
  const proto = outs[session.outputNames[1]];
  const [, nm, mh, mw] = proto.dims;
  const [, a, b] = det.dims;
  const kept = b === 6 + nm && a <= 1000 ? endToEndRows(det.data, a, b, nm, o) : nmsWithMasks(det.data, a, b, nm, o);
  const detections = [];
  for (const d of kept) {
    const m640 = processMaskFull(proto.data, nm, mh, mw, d.coeffs, d, H, W);
    if (!m640.some((v) => v === 1)) continue; // construct_result keeps only non-empty masks
    const box = scaleBox(d, H, W, img.width, img.height);
    detections.push({ cls: d.cls, conf: d.conf, ...box, mask: scaleMaskToImage(m640, H, W, img.width, img.height) });
  }
  return { width: img.width, height: img.height, detections };
}
