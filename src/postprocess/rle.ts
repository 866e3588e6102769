// COCO run-length encoding of a binary mask (what pycocotools' mask.encode returns and COCO tools
// read): pixels in column-major order, counts of alternating runs starting with 0s, compressed
// into pycocotools' ASCII string (rleToString: 5-bit groups, deltas against the count two back).
import type { Rle } from '../types.js';

/**
 * RLE of an imageW × imageH mask given by `at(x, y)`; `columnHasAny(x)` lets whole empty
 * columns be skipped without calling `at`.
 */
export function encodeRle(imageW: number, imageH: number, at: (x: number, y: number) => boolean, columnHasAny: (x: number) => boolean = () => true): Rle {
  const counts: number[] = [];
  let current = false;
  let run = 0;
  for (let x = 0; x < imageW; x++) {
    if (!current && !columnHasAny(x)) {
      run += imageH;
      continue;
    }
    for (let y = 0; y < imageH; y++) {
      const v = at(x, y);
      if (v === current) run++;
      else {
        counts.push(run);
        current = v;
        run = 1;
      }
    }
  }
  counts.push(run);
  return { size: [imageH, imageW], counts: rleString(counts) };
}

/** pycocotools rleToString. */
export function rleString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** pycocotools rleFrString: the counts back from the string (for tests and readers). */
export function rleCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}
