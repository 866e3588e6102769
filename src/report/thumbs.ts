// Gallery thumbnails: each chosen image read again from its path, shrunk while decoding (cheap even
// for large photos), drawn with its detections and embedded as a JPEG data URI. The total size of
// the embedded images is capped so the report stays a file that opens quickly.
import pLimit from 'p-limit';
import sharp from 'sharp';
import { LabelTiles } from '../draw/label-tiles.js';
import { annotateImage } from '../draw/render.js';
import type { GalleryItem } from './collect.js';

export interface ThumbOptions {
  maxSide: number;
  quality: number;
  /** Total bytes of all embedded images (the base64 text, which is what the file carries). */
  budgetBytes: number;
}

export const THUMB_DEFAULTS: ThumbOptions = { maxSide: 360, quality: 70, budgetBytes: 5_000_000 };

export type Thumb = { ok: true; dataUri: string; width: number; height: number } | { ok: false; reason: string };

async function renderThumb(item: GalleryItem, opts: ThumbOptions, tiles: LabelTiles): Promise<Thumb> {
  try {
    const { data, info } = await sharp(item.path, { failOn: 'none', pages: 1 })
      .autoOrient()
      .resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) return { ok: false, reason: `decoded to ${info.channels} channels` };
    // Detections are in the pixels of the image the run saw; the file may have been replaced since.
    const detScale = item.width ? info.width / item.width : 1;
    const jpeg = await annotateImage({ data, width: info.width, height: info.height }, item.detections, { maxSide: null, quality: opts.quality, tiles, detScale });
    return { ok: true, dataUri: `data:image/jpeg;base64,${jpeg.toString('base64')}`, width: info.width, height: info.height };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: e.code === 'ENOENT' ? 'file not found' : `cannot read image (${e.message.split('\n')[0]})` };
  }
}

/**
 * Thumbnails for `items` (paths may repeat across gallery sections: each is made once), keyed by
 * path. Budget is spent in the order given, so the result does not depend on timing.
 */
export async function makeThumbnails(items: readonly GalleryItem[], opts: ThumbOptions = THUMB_DEFAULTS): Promise<Map<string, Thumb>> {
  const unique = [...new Map(items.map((i) => [i.path, i])).values()];
  const limit = pLimit(4);
  const tiles = new LabelTiles();
  const made = await Promise.all(unique.map((item) => limit(() => renderThumb(item, opts, tiles))));
  const out = new Map<string, Thumb>();
  let spent = 0;
  unique.forEach((item, i) => {
    const t = made[i]!;
    if (t.ok && spent + t.dataUri.length > opts.budgetBytes) {
      out.set(item.path, { ok: false, reason: 'not embedded: the report is at its image size limit' });
      return;
    }
    if (t.ok) spent += t.dataUri.length;
    out.set(item.path, t);
  });
  return out;
}
