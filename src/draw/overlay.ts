// One image's detections as an SVG overlay the size of the drawn image, in Results.plot's order:
// translucent masks, then boxes (or rotated boxes) with their labels, then keypoints and limbs.
// librsvg (inside sharp) renders it; render.ts composites it onto the pixels.
import { maskRegionRgba, rleToMask } from './rle.js';
import {
  COCO_SKELETON,
  KPT_COLOR_INDEX,
  LIMB_COLOR_INDEX,
  POSE_PALETTE,
  classColor,
  labelTextColor,
  rgbCss,
  type Rgb,
} from './palette.js';
import {
  KPT_RADIUS,
  LIMB_CONF_THRESHOLD,
  keypointConfidence,
  keypointDrawn,
  labelStyle,
  labelText,
  limbWidth,
  lineWidth,
  obbPolygon,
  placeLabel,
  polygonPoints,
  textWidth,
  type DrawableDetection,
  type KeypointsXY,
} from './geometry.js';

/** Mask opacity (Annotator.masks alpha). */
export const MASK_ALPHA = 0.5;

export interface OverlayOptions {
  /** Drawn image size (after any downscale). */
  width: number;
  height: number;
  /** Original-image pixels → drawn pixels. */
  scale: number;
  /** Line width; default Annotator's for the drawn size. */
  lineWidth?: number;
  /**
   * How the `name 0.87` labels are drawn: 'svg' as SVG pieces (the default), 'painted' returned
   * in `OverlayPlan.labels` for the caller to paint from cached tiles (label-tiles.ts), or not at all.
   */
  labels?: 'svg' | 'painted' | false;
  /** Classification results (top-5), listed as labels down the top-left corner as Results.plot lists probs. */
  classes?: readonly { class: number; name: string; confidence: number }[];
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside XML/HTML content and quoted attributes; control characters dropped. */
export function escapeXml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

const num = (v: number): string => String(Math.round(v * 10) / 10);

/** An axis-aligned box outline, painted straight into the pixels (paintStroke): no canvas needed. */
export interface RectStroke {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  width: number;
  color: Rgb;
}

/**
 * A piece of SVG drawn over one region of the image. `svg` is a complete document whose viewBox is
 * that region in image coordinates, so it is composited at (left, top) as is. Rendering cost in
 * librsvg grows with the canvas area, so each mask, label and skeleton gets a canvas just its size
 * rather than one canvas the size of the image.
 */
export interface SvgPiece {
  left: number;
  top: number;
  width: number;
  height: number;
  svg: string;
}

/** A label box to paint: placed inside the image, filled with `color`, text in `textColor`. */
export interface LabelBox {
  x: number;
  y: number;
  text: string;
  color: Rgb;
  textColor: Rgb;
}

/** A mask given as pixels (RLE records): RGBA for one region, composited before the SVG pieces. */
export interface RasterPiece {
  left: number;
  top: number;
  width: number;
  height: number;
  rgba: Buffer;
}

export interface OverlayPlan {
  strokes: RectStroke[];
  /** RLE masks (not in overlaySvg's vector form). */
  masks: RasterPiece[];
  pieces: SvgPiece[];
  /** With labels: 'painted', the labels to paint (in drawing order, after the strokes). */
  labels: LabelBox[];
  /** The line width everything was sized for. */
  lineWidth: number;
}

/** Everything to draw for one image's detections, in drawing order (masks, boxes, labels, keypoints). */
export function planOverlay(dets: readonly DrawableDetection[], opts: OverlayOptions): OverlayPlan {
  const { width: W, height: H, scale: s } = opts;
  const lw = opts.lineWidth ?? lineWidth(W, H);
  const style = labelStyle(lw);
  const labels = opts.labels ?? 'svg';
  const strokes: RectStroke[] = [];
  const painted: LabelBox[] = [];
  const pieces: SvgPiece[] = [];
  const masks: RasterPiece[] = [];
  const scaled = (list: [number, number][]): [number, number][] => list.map(([x, y]) => [x * s, y * s]);
  const add = (bounds: Bounds, body: string) => {
    const piece = svgPiece(bounds, body, W, H);
    if (piece) pieces.push(piece);
  };

  for (const d of dets) {
    const poly = d.segments ? scaled(polygonPoints(d.segments)) : [];
    if (poly.length >= 3) add(boundsOf(poly, 1), `<polygon points="${pointList(poly)}" fill="${rgbCss(classColor(d.class))}" fill-opacity="${MASK_ALPHA}"/>`);
    if (d.rle) {
      const m = rasterMask(d, s, W, H);
      if (m) masks.push(m);
    }
  }
  const labelPieces: [Bounds, string][] = [];
  for (const d of dets) {
    const color = classColor(d.class);
    const corners = d.obb ? obbPolygon(d.obb) : null;
    let anchor: [number, number];
    if (corners) {
      const poly = scaled(corners);
      add(boundsOf(poly, lw), `<polygon points="${pointList(poly)}" fill="none" stroke="${rgbCss(color)}" stroke-width="${lw}" stroke-linejoin="round"/>`);
      anchor = poly[0]!;
    } else {
      const b = d.box;
      const x1 = Math.min(b.x1, b.x2) * s;
      const y1 = Math.min(b.y1, b.y2) * s;
      strokes.push({ x1, y1, x2: Math.max(b.x1, b.x2) * s, y2: Math.max(b.y1, b.y2) * s, width: lw, color });
      anchor = [x1, y1];
    }
    addLabel(d, anchor);
  }
  (opts.classes ?? []).forEach((c, i) => addLabel(c, [lw, lw + (i + 1) * style.boxHeight]));

  function addLabel(d: { class: number; name: string; confidence: number }, anchor: [number, number]): void {
    const color = classColor(d.class);
    const text = labelText(d);
    if (labels === 'svg') labelPieces.push(labelSvg(text, anchor, color, style, W, H));
    else if (labels === 'painted') {
      const r = placeLabel(anchor[0], anchor[1], labelWidth(text, style.fontPx), style.boxHeight, W, H);
      painted.push({ x: r.x, y: r.y, text, color, textColor: labelTextColor(color) });
    }
  }
  // Labels go over every box, so a later box's outline never crosses an earlier label.
  for (const [bounds, body] of labelPieces) add(bounds, body);
  for (const d of dets) {
    if (!d.keypoints) continue;
    const k = keypointsSvg(d.keypoints, s, lw, W, H);
    if (k) add(k.bounds, k.body);
  }
  return { strokes, masks, pieces: mergePieces(pieces, W, H), labels: painted, lineWidth: lw };
}

/** An RLE mask over its box (Ultralytics crops masks to their box), or null when unusable. */
function rasterMask(d: DrawableDetection, s: number, W: number, H: number): RasterPiece | null {
  const rle = d.rle!;
  const [mh, mw] = rle.size ?? [0, 0];
  if (!(mh > 0 && mw > 0) || typeof rle.counts !== 'string') return null;
  let mask: Uint8Array;
  try {
    mask = rleToMask(rle);
  } catch {
    return null;
  }
  const b = d.box;
  const left = Math.max(0, Math.floor(Math.min(b.x1, b.x2) * s));
  const top = Math.max(0, Math.floor(Math.min(b.y1, b.y2) * s));
  const right = Math.min(W, Math.ceil(Math.max(b.x1, b.x2) * s));
  const bottom = Math.min(H, Math.ceil(Math.max(b.y1, b.y2) * s));
  if (right <= left || bottom <= top) return null;
  const region = { left, top, width: right - left, height: bottom - top };
  return { ...region, rgba: maskRegionRgba(mask, mw, mh, region, s, classColor(d.class), MASK_ALPHA) };
}

/**
 * librsvg's cost is a fixed ~1 ms per document plus a share proportional to its area, so
 * consecutive pieces are drawn as one document when the canvas that covers both is at most
 * MERGE_SLACK_PX larger than the two apart. Only neighbours merge, which keeps the drawing order.
 */
const MERGE_SLACK_PX = 90_000;

function mergePieces(pieces: SvgPiece[], W: number, H: number): SvgPiece[] {
  const out: { b: Bounds; area: number; bodies: string[] }[] = [];
  for (const p of pieces) {
    const b = { x0: p.left, y0: p.top, x1: p.left + p.width, y1: p.top + p.height };
    const body = p.svg.slice(p.svg.indexOf('>') + 1, -'</svg>'.length);
    const last = out[out.length - 1];
    if (last) {
      const u = { x0: Math.min(last.b.x0, b.x0), y0: Math.min(last.b.y0, b.y0), x1: Math.max(last.b.x1, b.x1), y1: Math.max(last.b.y1, b.y1) };
      const area = (u.x1 - u.x0) * (u.y1 - u.y0);
      if (area - last.area - p.width * p.height <= MERGE_SLACK_PX) {
        last.b = u;
        last.area = area;
        last.bodies.push(body);
        continue;
      }
    }
    out.push({ b, area: p.width * p.height, bodies: [body] });
  }
  return out.map((g) => svgPiece(g.b, g.bodies.join(''), W, H)!);
}

/** The same drawing as one SVG document the size of the image (tests, and anyone who wants the vector form). */
export function overlaySvg(dets: readonly DrawableDetection[], opts: OverlayOptions): string {
  const { strokes, pieces } = planOverlay(dets, opts);
  const body = [
    ...strokes.map((r) => `<rect x="${num(r.x1)}" y="${num(r.y1)}" width="${num(r.x2 - r.x1)}" height="${num(r.y2 - r.y1)}" fill="none" stroke="${rgbCss(r.color)}" stroke-width="${r.width}"/>`),
    ...pieces.map((p) => `<svg x="${p.left}" y="${p.top}" width="${p.width}" height="${p.height}" ${p.svg.slice(p.svg.indexOf('viewBox='))}`),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${opts.width}" height="${opts.height}" viewBox="0 0 ${opts.width} ${opts.height}">${body.join('')}</svg>`;
}

interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function boundsOf(points: [number, number][], margin: number): Bounds {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return { x0: x0 - margin, y0: y0 - margin, x1: x1 + margin, y1: y1 + margin };
}

/** A piece covering `b` clipped to the image (integer pixels), or null when nothing of it is inside. */
function svgPiece(b: Bounds, body: string, W: number, H: number): SvgPiece | null {
  const left = Math.max(0, Math.floor(b.x0));
  const top = Math.max(0, Math.floor(b.y0));
  const right = Math.min(W, Math.ceil(b.x1));
  const bottom = Math.min(H, Math.ceil(b.y1));
  if (right <= left || bottom <= top) return null;
  const width = right - left;
  const height = bottom - top;
  return { left, top, width, height, svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="${left} ${top} ${width} ${height}">${body}</svg>` };
}

const pointList = (list: [number, number][]) => list.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');

/**
 * Paints a box outline lw pixels wide, centred on the box edges as cv2.rectangle draws it, into
 * packed RGB pixels (in place), clipped to the image.
 */
export function paintStroke(data: Uint8Array, width: number, height: number, r: RectStroke): void {
  const inner = Math.floor(r.width / 2);
  const outer = r.width - inner;
  const ox0 = Math.max(0, Math.round(r.x1) - outer);
  const oy0 = Math.max(0, Math.round(r.y1) - outer);
  const ox1 = Math.min(width, Math.round(r.x2) + outer);
  const oy1 = Math.min(height, Math.round(r.y2) + outer);
  // The hole: pixels strictly inside the outline.
  const ix0 = Math.round(r.x1) + inner;
  const iy0 = Math.round(r.y1) + inner;
  const ix1 = Math.round(r.x2) - inner;
  const iy1 = Math.round(r.y2) - inner;
  const [cr, cg, cb] = r.color;
  for (let y = oy0; y < oy1; y++) {
    const rowHole = y >= iy0 && y < iy1 && ix1 > ix0;
    let o = (y * width + ox0) * 3;
    for (let x = ox0; x < ox1; x++, o += 3) {
      if (rowHole && x >= ix0 && x < ix1) {
        // Jump over the hole in one step.
        o += (ix1 - 1 - x) * 3;
        x = ix1 - 1;
        continue;
      }
      data[o] = cr;
      data[o + 1] = cg;
      data[o + 2] = cb;
    }
  }
}

/**
 * A label's width: the sum of its tiles' widths (label-tiles.ts splits `name 0.87` into the name,
 * a space, then one tile per character of the confidence), so a label is as wide however
 * it is drawn.
 */
export function labelWidth(text: string, fontPx: number): number {
  return labelTileTexts(text).reduce((w, t) => w + textWidth(t, fontPx), 0);
}

/** `person 0.87` → ['person', ' ', '0', '.', '8', '7']: few distinct tiles over a whole run. */
export function labelTileTexts(text: string): string[] {
  const sp = text.lastIndexOf(' ');
  return sp < 0 ? [text] : [text.slice(0, sp), ' ', ...text.slice(sp + 1)];
}

function labelSvg(text: string, [ax, ay]: [number, number], color: Rgb, style: ReturnType<typeof labelStyle>, W: number, H: number): [Bounds, string] {
  const w = labelWidth(text, style.fontPx);
  const r = placeLabel(ax, ay, w, style.boxHeight, W, H);
  // The text is set to exactly the width the box was sized for, whatever the font's real metrics.
  const baseline = r.y + r.h - 2;
  const body =
    `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="${rgbCss(color)}"/>` +
    `<text x="${r.x}" y="${baseline}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${style.fontPx}" ` +
    `textLength="${w}" lengthAdjust="spacingAndGlyphs" fill="${rgbCss(labelTextColor(color))}">${escapeXml(text)}</text>`;
  return [{ x0: r.x, y0: r.y, x1: r.x + r.w, y1: r.y + r.h }, body];
}

function keypointsSvg(k: KeypointsXY, s: number, lw: number, W: number, H: number): { bounds: Bounds; body: string } | null {
  const n = Math.min(k.x?.length ?? 0, k.y?.length ?? 0);
  const parts: string[] = [];
  const drawn: [number, number][] = [];
  const coco = n === 17;
  const radius = KPT_RADIUS * Math.max(s, 0.4);
  const at = (i: number) => ({ x: k.x[i]! * s, y: k.y[i]! * s, c: keypointConfidence(k.visible?.[i]) });
  for (let i = 0; i < n; i++) {
    const p = at(i);
    if (!keypointDrawn(p.x, p.y, p.c, W, H)) continue;
    const color = coco ? POSE_PALETTE[KPT_COLOR_INDEX[i]!]! : classColor(i);
    parts.push(`<circle cx="${num(p.x)}" cy="${num(p.y)}" r="${num(radius)}" fill="${rgbCss(color)}"/>`);
    drawn.push([p.x, p.y]);
  }
  // Annotator draws the skeleton only for 17 COCO keypoints.
  if (coco) {
    COCO_SKELETON.forEach(([a, b], li) => {
      const p = at(a);
      const q = at(b);
      if (p.c < LIMB_CONF_THRESHOLD || q.c < LIMB_CONF_THRESHOLD) return;
      if (!keypointDrawn(p.x, p.y, 1, W, H) || !keypointDrawn(q.x, q.y, 1, W, H)) return;
      const color = POSE_PALETTE[LIMB_COLOR_INDEX[li]!]!;
      parts.push(`<line x1="${num(p.x)}" y1="${num(p.y)}" x2="${num(q.x)}" y2="${num(q.y)}" stroke="${rgbCss(color)}" stroke-width="${limbWidth(lw)}" stroke-linecap="round"/>`);
    });
  }
  if (drawn.length === 0) return null;
  return { bounds: boundsOf(drawn, radius + lw), body: parts.join('') };
}
