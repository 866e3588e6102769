// Pure drawing geometry, after Ultralytics' Annotator (utils/plotting.py): line width scaled to
// the image, label boxes kept inside the image, keypoint/limb rules, and save_one_box's crop.
// No pixels here: overlay.ts turns these numbers into SVG.
import type { Box } from '../types.js';

/** Polygon in original-image pixels (segment records). */
export interface PolygonXY {
  x: number[];
  y: number[];
}

/** Keypoints in original-image pixels; `visible` is a confidence (0–1) or a flag per point. */
export interface KeypointsXY {
  x: number[];
  y: number[];
  visible?: (number | boolean | null)[];
}

/** Rotated box corners in original-image pixels (OBB records). */
export interface ObbCorners {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  x3: number;
  y3: number;
  x4: number;
  y4: number;
}

/** What the drawing code reads from a detection record; the task-specific parts are optional. */
export interface DrawableDetection {
  name: string;
  class: number;
  confidence: number;
  box: Box;
  segments?: PolygonXY | null;
  /** A COCO RLE mask at the original image size (segment records with --mask-format rle). */
  rle?: { size: [number, number]; counts: string } | null;
  keypoints?: KeypointsXY | null;
  obb?: ObbCorners | null;
}

/** Python's round(): halves go to the even neighbour (round(2.5) == 2). */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Annotator's default line width, `max(round(sum(im.shape) / 2 * 0.003), 2)`. The image is a
 * numpy array there, so sum(shape) is h + w + 3 (the channel count is included).
 */
export function lineWidth(width: number, height: number): number {
  return Math.max(pyRound(((height + width + 3) / 2) * 0.003), 2);
}

export interface LabelStyle {
  /** Text height in pixels (cv2.getTextSize's height at font scale lw/3). */
  textHeight: number;
  /** Label box height: the text plus 3 px of padding, as Annotator adds. */
  boxHeight: number;
  /** CSS font size that gives capitals of `textHeight` pixels in DejaVu Sans (cap height 0.73 em). */
  fontPx: number;
}

/** OpenCV's Hershey simplex font is 22 px tall at scale 1; Annotator uses scale lw / 3. */
export function labelStyle(lw: number): LabelStyle {
  const textHeight = Math.max(1, Math.round((22 * lw) / 3));
  return { textHeight, boxHeight: textHeight + 3, fontPx: Math.round((textHeight / 0.73) * 10) / 10 };
}

/** Advance widths in em of DejaVu Sans (the font fontconfig gives librsvg here), by character class. */
function advanceEm(ch: string): number {
  if (' .,:;!|\'il'.includes(ch)) return 0.32;
  if ('fjrt()[]-'.includes(ch)) return 0.4;
  if ('mwMW'.includes(ch)) return 0.95;
  if (ch >= 'A' && ch <= 'Z') return 0.72;
  if (ch.charCodeAt(0) > 0x2e7f) return 1; // CJK and other wide scripts
  return 0.63;
}

/** Width the label text takes at `fontPx`; the SVG fixes the text to exactly this width (textLength). */
export function textWidth(text: string, fontPx: number): number {
  let em = 0;
  for (const ch of text) em += advanceEm(ch);
  return Math.ceil(em * fontPx);
}

/** `name 0.87`, as Results.plot labels a box. */
export function labelText(d: { name: string; confidence: number }): string {
  return `${d.name} ${d.confidence.toFixed(2)}`;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Where a label box of w×h goes for a box whose top-left is (x1, y1), inside an image of
 * imgW×imgH: above the box when it fits there, else just inside its top edge (Annotator's
 * `outside`); shifted left when it would pass the right edge; and — beyond Annotator, which can
 * push it off a small image — never past the left or bottom edge.
 */
export function placeLabel(x1: number, y1: number, w: number, h: number, imgW: number, imgH: number): Rect & { outside: boolean } {
  const px = Math.trunc(x1);
  const py = Math.trunc(y1);
  const outside = py >= h;
  let x = px > imgW - w ? imgW - w : px;
  x = Math.max(0, x);
  let y = outside ? py - h : py;
  if (y + h > imgH) y = imgH - h;
  y = Math.max(0, y);
  return { x, y, w, h, outside };
}

/** Keypoint confidence from a record's `visible` entry (absent: visible). */
export function keypointConfidence(v: number | boolean | null | undefined): number {
  if (v === undefined || v === null) return 1;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** Annotator.kpts: a point is drawn at confidence ≥ 0.25 (and not at an image edge coordinate of 0). */
export const KPT_CONF_THRESHOLD = 0.25;
/** …and a limb only when both ends have confidence ≥ 0.5. */
export const LIMB_CONF_THRESHOLD = 0.5;
/** Results.plot's kpt_radius. */
export const KPT_RADIUS = 5;

export function keypointDrawn(x: number, y: number, conf: number, imgW: number, imgH: number): boolean {
  return conf >= KPT_CONF_THRESHOLD && Number.isFinite(x) && Number.isFinite(y) && x > 0 && y > 0 && x < imgW && y < imgH;
}

/** Limbs are drawn ceil(lw / 2) wide. */
export function limbWidth(lw: number): number {
  return Math.ceil(lw / 2);
}

/**
 * The region save_one_box crops for a box: width and height × 1.02 + 10 px about the centre,
 * truncated to integers and clipped to the image. Never empty (at least 1×1).
 */
export function cropRect(box: Box, imgW: number, imgH: number, gain = 1.02, pad = 10): { left: number; top: number; width: number; height: number } {
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const w = Math.abs(box.x2 - box.x1) * gain + pad;
  const h = Math.abs(box.y2 - box.y1) * gain + pad;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  let left = clip(Math.trunc(cx - w / 2), imgW);
  let top = clip(Math.trunc(cy - h / 2), imgH);
  const right = clip(Math.trunc(cx + w / 2), imgW);
  const bottom = clip(Math.trunc(cy + h / 2), imgH);
  left = Math.min(left, imgW - 1);
  top = Math.min(top, imgH - 1);
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** Size after fitting the longer side into `maxSide` (never enlarged); scale 1 when it fits. */
export function fitMaxSide(width: number, height: number, maxSide: number | null): { width: number; height: number; scale: number } {
  const longer = Math.max(width, height);
  if (maxSide === null || longer <= maxSide) return { width, height, scale: 1 };
  const scale = maxSide / longer;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)), scale };
}

/** The corners of an OBB record as a polygon, or null when a corner is missing. */
export function obbPolygon(o: ObbCorners): [number, number][] | null {
  const pts: [number, number][] = [
    [o.x1, o.y1],
    [o.x2, o.y2],
    [o.x3, o.y3],
    [o.x4, o.y4],
  ];
  return pts.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) ? pts : null;
}

/** A polygon record's points, pairs where both coordinates are numbers. */
export function polygonPoints(p: PolygonXY): [number, number][] {
  const n = Math.min(p.x?.length ?? 0, p.y?.length ?? 0);
  const pts: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const x = p.x[i]!;
    const y = p.y[i]!;
    if (Number.isFinite(x) && Number.isFinite(y)) pts.push([x, y]);
  }
  return pts;
}
