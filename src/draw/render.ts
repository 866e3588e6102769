// Pixels: an annotated copy of a decoded image, and detection crops, encoded by sharp. sharp runs
// on libuv's thread pool, so the costly parts (SVG rendering, compositing, encoding) stay off the
// main thread; box outlines are painted straight into a copy of the pixels, which costs next to
// nothing, and only labels, masks, rotated boxes and skeletons go through librsvg.
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { RgbImage } from '../types.js';
import { cropRect, fitMaxSide, type DrawableDetection } from './geometry.js';
import type { LabelTiles } from './label-tiles.js';
import { paintStroke, planOverlay } from './overlay.js';

/** Output encodings sharp writes; annotated images keep their input's format. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'avif' | 'gif';

export interface AnnotateOptions {
  /** Longest side of the written image; null keeps the original size. */
  maxSide: number | null;
  /** 1–100, for the lossy formats. */
  quality: number;
  format?: ImageFormat;
  /** false: boxes without labels. */
  labels?: boolean;
  /**
   * The detections are in the pixels of an image this many times larger than `image` (which was
   * shrunk while decoding, as report thumbnails are); default 1.
   */
  detScale?: number;
  /** A classification record's top-5, listed at the top-left. */
  classes?: readonly { class: number; name: string; confidence: number }[];
  /**
   * Paint labels from these cached tiles instead of rendering each one with librsvg (several
   * times cheaper). Used when nothing is drawn over the labels' layer out of order: images with
   * masks or rotated boxes get SVG labels, so the labels stay on top as Ultralytics draws them.
   */
  tiles?: LabelTiles;
}

function rawInput(data: Uint8Array, width: number, height: number): Sharp {
  return sharp(data, { raw: { width, height, channels: 3 } });
}

function encode(img: Sharp, format: ImageFormat, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      // Huffman optimisation would triple the encoding time for ~5% smaller files.
      return img.jpeg({ quality, optimiseCoding: false });
    case 'webp':
      return img.webp({ quality });
    case 'avif':
      return img.avif({ quality });
    case 'tiff':
      return img.tiff({ quality, compression: 'jpeg' });
    case 'png':
      return img.png();
    case 'gif':
      return img.gif();
  }
}

/**
 * The image with its detections drawn (coordinates in `image`'s pixels), encoded. `image` is not
 * modified: the drawing goes into a copy (or into the downscaled pixels).
 */
export async function annotateImage(image: RgbImage, dets: readonly DrawableDetection[], opts: AnnotateOptions): Promise<Buffer> {
  const size = fitMaxSide(image.width, image.height, opts.maxSide);
  const pixels =
    size.scale === 1
      ? Buffer.from(image.data)
      : await rawInput(image.data, image.width, image.height).resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer();
  const tiles = opts.labels !== false && opts.tiles && !dets.some((d) => d.segments || d.rle || d.obb) ? opts.tiles : null;
  const plan = planOverlay(dets, { width: size.width, height: size.height, scale: size.scale * (opts.detScale ?? 1), labels: opts.labels === false ? false : tiles ? 'painted' : 'svg', classes: opts.classes });
  for (const stroke of plan.strokes) paintStroke(pixels, size.width, size.height, stroke);
  if (tiles) await tiles.paint(pixels, size.width, size.height, plan.labels, plan.lineWidth);
  let img = rawInput(pixels, size.width, size.height);
  // Compositing RGBA pieces gives the image an alpha channel; the input had none.
  const layers: OverlayOptions[] = [
    ...plan.masks.map((m) => ({ input: m.rgba, raw: { width: m.width, height: m.height, channels: 4 as const }, left: m.left, top: m.top })),
    ...plan.pieces.map((p) => ({ input: Buffer.from(p.svg), left: p.left, top: p.top })),
  ];
  if (layers.length > 0) img = img.composite(layers).removeAlpha();
  return encode(img, opts.format ?? 'jpeg', opts.quality).toBuffer();
}

/** One detection's save_one_box crop of the original pixels, as JPEG. */
export async function cropImage(image: RgbImage, det: DrawableDetection, quality: number): Promise<Buffer> {
  const r = cropRect(det.box, image.width, image.height);
  return rawInput(image.data, image.width, image.height).extract(r).jpeg({ quality, optimiseCoding: false }).toBuffer();
}
