// Labels painted from cached tiles. librsvg costs about a millisecond per document however small,
// which for a few labels per image was most of the cost of drawing. A label is an opaque box with
// text on it, so it is cut into tiles — the class name, a space, then each character of the
// confidence — rendered once per font size and colour by librsvg, and copied into the pixels.
// The tiles over a whole run are few (names × sizes, plus 11 characters × 20 palette colours per
// size), and the cache is bounded anyway.
import sharp from 'sharp';
import { labelStyle, textWidth } from './geometry.js';
import { escapeXml, labelTileTexts, type LabelBox } from './overlay.js';
import { rgbCss, type Rgb } from './palette.js';

interface Tile {
  width: number;
  height: number;
  /** Packed RGB. */
  data: Buffer;
}

/** More tiles than a run of any sane dataset needs; past it the cache starts again. */
const MAX_TILES = 20_000;

export class LabelTiles {
  private readonly tiles = new Map<string, Promise<Tile>>();

  private tile(text: string, lw: number, color: Rgb, textColor: Rgb): Promise<Tile> {
    const key = `${lw}\u0000${color.join(',')}\u0000${textColor.join(',')}\u0000${text}`;
    let t = this.tiles.get(key);
    if (!t) {
      if (this.tiles.size >= MAX_TILES) this.tiles.clear();
      t = renderTile(text, lw, color, textColor);
      // A failed render is not cached: the next label tries again.
      t.catch(() => this.tiles.delete(key));
      this.tiles.set(key, t);
    }
    return t;
  }

  /** Paints `labels` (placed by planOverlay for line width `lw`) into packed RGB pixels, in order. */
  async paint(data: Uint8Array, width: number, height: number, labels: readonly LabelBox[], lw: number): Promise<void> {
    const rows = await Promise.all(labels.map((l) => Promise.all(labelTileTexts(l.text).map((t) => this.tile(t, lw, l.color, l.textColor)))));
    labels.forEach((l, i) => {
      let x = l.x;
      for (const tile of rows[i]!) {
        blit(data, width, height, tile, x, l.y);
        x += tile.width;
      }
    });
  }
}

async function renderTile(text: string, lw: number, color: Rgb, textColor: Rgb): Promise<Tile> {
  const style = labelStyle(lw);
  const w = textWidth(text, style.fontPx);
  const h = style.boxHeight;
  // Same text placement as the SVG labels (overlay.ts labelSvg), in a tile of its own width.
  const glyphs =
    text.trim() === ''
      ? ''
      : `<text x="0" y="${h - 2}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${style.fontPx}" ` +
        `textLength="${w}" lengthAdjust="spacingAndGlyphs" fill="${rgbCss(textColor)}">${escapeXml(text)}</text>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="${rgbCss(color)}"/>${glyphs}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** Copies an RGB tile into the pixels at (x, y), clipped to the image. */
function blit(dst: Uint8Array, width: number, height: number, tile: Tile, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(width, x + tile.width);
  if (x1 <= x0) return;
  for (let ty = Math.max(0, -y); ty < tile.height && y + ty < height; ty++) {
    const src = (ty * tile.width + (x0 - x)) * 3;
    dst.set(tile.data.subarray(src, src + (x1 - x0) * 3), ((y + ty) * width + x0) * 3);
  }
}
