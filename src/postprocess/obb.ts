// Oriented boxes (task=obb): one image's raw output -> Ultralytics-style rotated detections in
// original-image pixels. Pure: no ORT, no sharp, no I/O.
//
// Ultralytics' recipe (models/yolo/obb/predict.py, utils/nms.py, utils/ops.py, engine/results.py):
// - output [B, 4+nc+1, N]: rows cx,cy,w,h, nc class scores, then the angle (the LAST row);
//   non_max_suppression(rotated=True, nc=len(names)) keeps the boxes as xywh (no xyxy), picks the
//   best class per anchor like detection and runs rotated Fast-NMS with ProbIoU (rotated-nms.ts);
// - end-to-end output [B, K, 7]: cx,cy,w,h,score,class,angle, already de-duplicated: only the
//   threshold, the class filter and the first max_det rows;
// - construct_result: scale_boxes(xywh=True) subtracts the letterbox padding from the centre and
//   divides centre and size by the gain, in float32, WITHOUT clipping; the angle is unchanged;
// - OBB.xyxyxyxy = xywhr2xyxyxyxy(xywhr), the corners summary() writes as x1..y4;
//   OBB.xyxy = min/max of those corners (not clipped either).
//
// Angle convention: current Ultralytics writes the model's angle as it is (the head predicts
// [-π/4, 3π/4); YOLO26's OBB26 head predicts it raw). Releases before the YOLO26 heads passed the
// boxes through regularize_rboxes first (long side first, angle in [0, π/2)): `regularize: true`
// reproduces those. The corners are the same rectangle either way, only their starting corner and
// the xywhr values differ.

import type { Box, Corners, Detection, Dim, LetterboxGeometry, OutputLayout } from '../types.js';
import { formatShape } from '../model/layout.js';
import { roundDecimals } from './round.js';
import { rotatedNms, type RotatedCandidate } from './rotated-nms.js';
import { scalePadding, type PadMode } from './scale.js';
import type { Rbox } from './probiou.js';

const f = Math.fround;

/** How an OBB model's output 0 is laid out (see OutputLayout). */
export type ObbLayout = Extract<OutputLayout, 'xywh-classes-angle' | 'xywh-score-class-angle'>;

/** A rotated candidate in network-input pixels, with the output row/anchor it came from. */
export interface ObbCandidate extends RotatedCandidate {
  source: number;
}

/** An oriented detection: `box` is the axis-aligned box around the corners (OBB.xyxy). */
export type ObbDetection = Detection & Required<Pick<Detection, 'obb' | 'xywhr'>>;

export interface ObbOptions {
  conf: number;
  iou: number;
  maxDet: number;
  classes: number[] | null;
  agnostic: boolean;
}

export interface ObbRounding {
  /** Decimals for confidence (summary() uses 5). */
  confidence: number;
  /** Decimals for pixel coordinates: corners, box and x, y, w, h. */
  box: number;
  /** Decimals for the angle in radians. */
  angle: number;
  /** scale_boxes padding formula (see scale.ts). */
  padMode?: PadMode;
  /** Apply regularize_rboxes before scaling, as Ultralytics releases before YOLO26 did. */
  regularize?: boolean;
}

export const DEFAULT_OBB_ROUNDING: ObbRounding = { confidence: 5, box: 2, angle: 5, padMode: 'letterbox', regularize: false };

/**
 * Candidates for ONE image; `data` is that image's 2-D output [rows, cols]:
 * - 'xywh-classes-angle':     [4+nc+1, N], channels first (column j is anchor j)
 * - 'xywh-score-class-angle': [K, >=7], the angle in the last column, model order kept
 */
export function extractObbCandidates(
  layout: ObbLayout,
  data: Float32Array,
  rows: number,
  cols: number,
  opts: Pick<ObbOptions, 'conf' | 'classes'>,
): ObbCandidate[] {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || data.length < rows * cols) {
    throw new RangeError(`${layout}: output of ${data.length} values does not hold shape [${rows}, ${cols}]`);
  }
  const conf = f(opts.conf);
  const wanted = opts.classes === null ? null : new Set(opts.classes);
  return layout === 'xywh-classes-angle' ? anchors(data, rows, cols, conf, wanted) : endToEndRows(data, rows, cols, conf, wanted);
}

/** [4+nc+1, N]: best class per anchor (first maximum; a NaN score drops the anchor, as torch's max does). */
function anchors(data: Float32Array, rows: number, n: number, conf: number, wanted: Set<number> | null): ObbCandidate[] {
  const nc = rows - 5;
  if (nc < 1) throw new RangeError(`xywh-classes-angle: need at least 6 rows (4 box, 1 class, 1 angle), got ${rows}`);
  const best = data.slice(4 * n, 5 * n);
  const bestCls = new Int32Array(n);
  for (let c = 1; c < nc; c++) {
    const base = (4 + c) * n;
    for (let j = 0; j < n; j++) {
      const v = data[base + j]!;
      if (v > best[j]! || v !== v) {
        best[j] = v;
        bestCls[j] = c;
      }
    }
  }
  const angleRow = (rows - 1) * n;
  const out: ObbCandidate[] = [];
  for (let j = 0; j < n; j++) {
    const score = best[j]!;
    if (!(score > conf)) continue;
    if (wanted !== null && !wanted.has(bestCls[j]!)) continue;
    out.push({ cx: data[j]!, cy: data[n + j]!, w: data[2 * n + j]!, h: data[3 * n + j]!, r: data[angleRow + j]!, score, cls: bestCls[j]!, source: j });
  }
  return out;
}

/** [K, 7]: cx,cy,w,h,score,class,...,angle; the float class column is matched against the ids, then truncated. */
function endToEndRows(data: Float32Array, k: number, cols: number, conf: number, wanted: Set<number> | null): ObbCandidate[] {
  if (cols < 7) throw new RangeError(`xywh-score-class-angle: need at least 7 columns, got ${cols}`);
  const out: ObbCandidate[] = [];
  for (let i = 0, row = 0; i < k; i++, row += cols) {
    const score = data[row + 4]!;
    if (!(score > conf)) continue;
    const clsValue = data[row + 5]!;
    if (!Number.isFinite(clsValue)) continue;
    if (wanted !== null && !wanted.has(clsValue)) continue;
    const r = data[row + cols - 1]!;
    out.push({ cx: data[row]!, cy: data[row + 1]!, w: data[row + 2]!, h: data[row + 3]!, r, score, cls: Math.trunc(clsValue), source: i });
  }
  return out;
}

/** regularize_rboxes: swap w and h when the angle mod π is in [π/2, π), then angle mod π/2 (float32). */
export function regularizeRbox(b: Rbox): Rbox {
  const swap = floatRemainder(b.r, f(Math.PI)) >= f(Math.PI / 2);
  return { cx: b.cx, cy: b.cy, w: swap ? b.h : b.w, h: swap ? b.w : b.h, r: floatRemainder(b.r, f(Math.PI / 2)) };
}

/** torch.remainder for float32: fmod (exact), moved into [0, m) by adding m in float32. */
function floatRemainder(x: number, m: number): number {
  const r = x % m;
  return r !== 0 && r < 0 !== m < 0 ? f(r + m) : r;
}

/** scale_boxes(xywh=True): centre minus the padding, centre and size divided by the gain; no clipping. */
export function scaleRbox(b: Rbox, g: LetterboxGeometry, mode: PadMode = 'letterbox'): Rbox {
  const gain = f(Math.min(g.dstH / g.srcH, g.dstW / g.srcW));
  const [padX, padY] = scalePadding(g, mode);
  return { cx: f(f(b.cx - padX) / gain), cy: f(f(b.cy - padY) / gain), w: f(b.w / gain), h: f(b.h / gain), r: b.r };
}

/** xywhr2xyxyxyxy in float32: the corners ctr ± w/2·(cos, sin) ± h/2·(−sin, cos). */
export function rboxCorners(b: Rbox): Corners {
  const cos = f(Math.cos(b.r));
  const sin = f(Math.sin(b.r));
  const v1x = f(f(b.w / 2) * cos);
  const v1y = f(f(b.w / 2) * sin);
  const v2x = f(f(-b.h / 2) * sin);
  const v2y = f(f(b.h / 2) * cos);
  const px = f(b.cx + v1x);
  const py = f(b.cy + v1y);
  const mx = f(b.cx - v1x);
  const my = f(b.cy - v1y);
  return {
    x1: f(px + v2x),
    y1: f(py + v2y),
    x2: f(px - v2x),
    y2: f(py - v2y),
    x3: f(mx - v2x),
    y3: f(my - v2y),
    x4: f(mx + v2x),
    y4: f(my + v2y),
  };
}

/** OBB.xyxy: the axis-aligned box around the corners. */
export function cornersBox(c: Corners): Box {
  return {
    x1: Math.min(c.x1, c.x2, c.x3, c.x4),
    y1: Math.min(c.y1, c.y2, c.y3, c.y4),
    x2: Math.max(c.x1, c.x2, c.x3, c.x4),
    y2: Math.max(c.y1, c.y2, c.y3, c.y4),
  };
}

/**
 * Rotated detections for ONE image, in score order (model order for end-to-end outputs).
 * `data` is that image's 2-D output (see extractObbCandidates).
 */
export function postprocessObbImage(
  layout: ObbLayout,
  data: Float32Array,
  rows: number,
  cols: number,
  geometry: LetterboxGeometry,
  opts: ObbOptions,
  names: readonly string[],
  rounding: ObbRounding = DEFAULT_OBB_ROUNDING,
): ObbDetection[] {
  const candidates = extractObbCandidates(layout, data, rows, cols, opts);
  const kept =
    layout === 'xywh-score-class-angle'
      ? candidates.slice(0, Math.max(0, Math.floor(opts.maxDet)))
      : rotatedNms(candidates, { iou: opts.iou, agnostic: opts.agnostic, maxDet: opts.maxDet });
  return kept.map((c) => obbDetection(c, geometry, names, rounding));
}

/** One kept candidate as the record Results.summary() describes, plus its xywhr. */
export function obbDetection(c: RotatedCandidate, geometry: LetterboxGeometry, names: readonly string[], rounding: ObbRounding): ObbDetection {
  const rbox = scaleRbox(rounding.regularize ? regularizeRbox(c) : c, geometry, rounding.padMode ?? 'letterbox');
  const corners = rboxCorners(rbox);
  const px = (v: number): number => roundDecimals(v, rounding.box);
  const box = cornersBox(corners);
  return {
    name: names[c.cls] ?? `class${c.cls}`,
    class: c.cls,
    confidence: roundDecimals(c.score, rounding.confidence),
    box: { x1: px(box.x1), y1: px(box.y1), x2: px(box.x2), y2: px(box.y2) },
    obb: {
      x1: px(corners.x1),
      y1: px(corners.y1),
      x2: px(corners.x2),
      y2: px(corners.y2),
      x3: px(corners.x3),
      y3: px(corners.y3),
      x4: px(corners.x4),
      y4: px(corners.y4),
    },
    xywhr: { x: px(rbox.cx), y: px(rbox.cy), w: px(rbox.w), h: px(rbox.h), r: roundDecimals(rbox.r, rounding.angle) },
  };
}

/** End-to-end OBB outputs hold at most this many rows; raw heads have thousands of anchors. */
const MAX_END2END_ROWS = 1000;

/**
 * Which OBB layout an output of `shape` ([B, a, c], null or names for unknown dims) has, given
 * whether the metadata says end-to-end, and how many classes it carries (null when the shape does
 * not say). Throws a RangeError naming the shape when it fits neither layout.
 */
export function obbLayoutOf(shape: readonly Dim[] | null, end2end: boolean): { layout: ObbLayout; numClasses: number | null } {
  const dims = shape ?? [null, null, null];
  const fmt = formatShape(dims);
  const supported = 'an OBB model outputs [B, 4+nc+1, N] (cx, cy, w, h, class scores, angle) or, end-to-end, [B, K, 7]';
  if (dims.length !== 3) throw new RangeError(`unsupported OBB output shape ${fmt}; ${supported}`);
  const a = typeof dims[1] === 'number' ? dims[1] : null;
  const c = typeof dims[2] === 'number' ? dims[2] : null;
  if (end2end || (a !== null && c === 7 && a > c && a <= MAX_END2END_ROWS)) {
    if (c !== null && c !== 7) throw new RangeError(`unsupported OBB output shape ${fmt} (end-to-end needs 7 columns); ${supported}`);
    return { layout: 'xywh-score-class-angle', numClasses: null };
  }
  if (a !== null && a < 6) throw new RangeError(`unsupported OBB output shape ${fmt} (needs at least 6 rows); ${supported}`);
  return { layout: 'xywh-classes-angle', numClasses: a === null ? null : a - 5 };
}
