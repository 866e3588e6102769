// Run-length encoded masks as pycocotools (common/maskApi.c) defines them, for segm evaluation:
// an h×w mask read column by column (x-major), counts alternating background / foreground,
// starting with background. Polygons are rasterised the way maskApi's rleFrPoly does it (the
// boundary traced at 5× resolution, then the crossings of each pixel column's centre line), so
// masks, areas and IoUs equal pycocotools' for the same polygons.
import type { Rle } from './coco-eval.js';

/** The rasterisation of one polygon [x0, y0, x1, y1, …] (pixels) into an h×w RLE. */
export function polygonToRle(xy: readonly number[], h: number, w: number): Rle {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  // C's (int) cast truncates toward zero.
  const trunc = (v: number) => Math.trunc(v);
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(trunc(scale * xy[2 * j]! + 0.5));
    y.push(trunc(scale * xy[2 * j + 1]! + 0.5));
  }
  x.push(x[0]!);
  y.push(y[0]!);
  // Dense boundary points at the upsampled resolution, one step per unit of the longer axis.
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(trunc(xs + s * t + 0.5));
      }
    }
  }
  // Where the boundary crosses a pixel column's centre (downsampled back), the first row inside.
  const starts: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    starts.push(xd * h + yd);
  }
  starts.push(h * w);
  starts.sort((a, b) => a - b);
  // Differences between successive crossings are the runs; a zero run merges its neighbours.
  const diffs: number[] = [];
  let prev = 0;
  for (const a of starts) {
    diffs.push(a - prev);
    prev = a;
  }
  const counts: number[] = [diffs[0]!];
  for (let j = 1; j < diffs.length; ) {
    if (diffs[j]! > 0) counts.push(diffs[j++]!);
    else {
      j++;
      if (j < diffs.length) counts[counts.length - 1] += diffs[j++]!;
    }
  }
  return { h, w, counts };
}

/** Union (or intersection) of masks of one size, as maskApi's rleMerge. */
export function mergeRles(rles: readonly Rle[], intersect = false): Rle {
  if (rles.length === 0) return { h: 0, w: 0, counts: [] };
  let acc = rles[0]!;
  for (const b of rles.slice(1)) {
    if (b.h !== acc.h || b.w !== acc.w) return { h: 0, w: 0, counts: [] };
    const out: number[] = [];
    let ai = 1;
    let bi = 1;
    let ca = acc.counts[0] ?? 0;
    let cb = b.counts[0] ?? 0;
    let va = false;
    let vb = false;
    let v = false;
    let cc = 0;
    let more = true;
    while (more) {
      const c = Math.min(ca, cb);
      cc += c;
      ca -= c;
      if (!ca && ai < acc.counts.length) {
        ca = acc.counts[ai++]!;
        va = !va;
      }
      cb -= c;
      if (!cb && bi < b.counts.length) {
        cb = b.counts[bi++]!;
        vb = !vb;
      }
      more = ca + cb > 0;
      const vp: boolean = v;
      v = intersect ? va && vb : va || vb;
      if (v !== vp || !more) {
        out.push(cc);
        cc = 0;
      }
    }
    acc = { h: acc.h, w: acc.w, counts: out };
  }
  return acc;
}

/** Foreground pixels. */
export function rleArea(r: Rle): number {
  let a = 0;
  for (let j = 1; j < r.counts.length; j += 2) a += r.counts[j]!;
  return a;
}

/** Mask IoU (maskApi rleIou); for a crowd ground truth the union is the detection's area. */
export function rleIou(dt: Rle, gt: Rle, crowd: boolean): number {
  if (dt.h !== gt.h || dt.w !== gt.w) return -1;
  let ca = dt.counts[0] ?? 0;
  let cb = gt.counts[0] ?? 0;
  let a = 1;
  let b = 1;
  let va = false;
  let vb = false;
  let inter = 0;
  let union = 0;
  let more = true;
  while (more) {
    const c = Math.min(ca, cb);
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ca -= c;
    if (!ca && a < dt.counts.length) {
      ca = dt.counts[a++]!;
      va = !va;
    }
    cb -= c;
    if (!cb && b < gt.counts.length) {
      cb = gt.counts[b++]!;
      vb = !vb;
    }
    more = ca + cb > 0;
  }
  if (inter === 0) return 0;
  return inter / (crowd ? rleArea(dt) : union);
}

/** COCO's compressed RLE string (6 bits per character, offsets from ASCII 48; counts after the second are deltas). */
export function rleFromString(s: string, h: number, w: number): Rle {
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
    counts.push(x >>> 0);
  }
  return { h, w, counts };
}

/** A COCO `segmentation` (polygons, uncompressed or compressed RLE) as one RLE, as COCO.annToRLE does. */
export function segmentationToRle(seg: unknown, h: number, w: number): Rle | null {
  if (Array.isArray(seg)) {
    const polys = seg.filter((p): p is number[] => Array.isArray(p) && p.length >= 6);
    if (polys.length === 0) return null;
    return mergeRles(polys.map((p) => polygonToRle(p, h, w)));
  }
  if (seg && typeof seg === 'object') {
    const o = seg as { counts?: unknown; size?: [number, number] };
    const [sh, sw] = o.size ?? [h, w];
    if (Array.isArray(o.counts)) return { h: sh, w: sw, counts: o.counts as number[] };
    if (typeof o.counts === 'string') return rleFromString(o.counts, sh, sw);
  }
  return null;
}
