// COCO run-length masks (`--mask-format rle` records) for drawing: pycocotools' compressed
// counts string decoded, and the mask sampled over one region of the drawn image.

/** pycocotools rleFrString: 6-bit chunks (5 data bits, 1 continuation), deltas from two runs back. */
export function decodeRleCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error('RLE counts end inside a number');
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}

/**
 * The mask as one byte per pixel (1 inside), row-major [h][w]. COCO runs are column-major and
 * start with a run of zeros.
 */
export function rleToMask(rle: { size: [number, number]; counts: string }): Uint8Array {
  const [h, w] = rle.size;
  const mask = new Uint8Array(h * w);
  let i = 0;
  let value = 0;
  for (const n of decodeRleCounts(rle.counts)) {
    if (value === 1) {
      for (let j = i; j < Math.min(i + n, h * w); j++) mask[(j % h) * w + Math.floor(j / h)] = 1;
    }
    i += n;
    value ^= 1;
  }
  return mask;
}

/**
 * RGBA pixels for the region (left, top, width, height) of the drawn image: `color` at `alpha`
 * where the mask (at `scale` from the drawn image to the mask's pixels, nearest) is set.
 */
export function maskRegionRgba(
  mask: Uint8Array,
  maskW: number,
  maskH: number,
  region: { left: number; top: number; width: number; height: number },
  scale: number,
  color: readonly [number, number, number],
  alpha: number,
): Buffer {
  const out = Buffer.alloc(region.width * region.height * 4);
  const a = Math.round(alpha * 255);
  for (let y = 0; y < region.height; y++) {
    const my = Math.min(maskH - 1, Math.floor((region.top + y + 0.5) / scale));
    for (let x = 0; x < region.width; x++) {
      const mx = Math.min(maskW - 1, Math.floor((region.left + x + 0.5) / scale));
      if (mask[my * maskW + mx] !== 1) continue;
      const o = (y * region.width + x) * 4;
      out[o] = color[0];
      out[o + 1] = color[1];
      out[o + 2] = color[2];
      out[o + 3] = a;
    }
  }
  return out;
}
