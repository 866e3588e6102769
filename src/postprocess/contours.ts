// Outer contours of a binary mask, as OpenCV's findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)
// gives them to Ultralytics' masks2segments: Suzuki–Abe border following over 8-connected
// foreground, outermost borders only (components inside another's hole are skipped), each
// starting at its topmost-leftmost pixel and running down its left side first; straight
// horizontal, vertical and diagonal runs keep only their end points.
import type { MaskWindow } from './masks.js';

/** Neighbour offsets [dx, dy], counter-clockwise on screen (y down) starting east. */
const DIRS: readonly [number, number][] = [
  [1, 0],
  [1, -1],
  [0, -1],
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];

/** A contour: alternating x, y pixel coordinates in the window's image. */
export type Contour = number[];

export function outerContours(m: MaskWindow): Contour[] {
  const { w, h } = m;
  if (w === 0 || h === 0) return [];
  // Padded copy: a ring of background around the window, so no neighbour read leaves the array.
  const W = w + 2;
  const H = h + 2;
  const img = new Uint8Array(W * H);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[(y + 1) * W + x + 1] = m.data[y * w + x]!;

  // Background reachable from the outside (4-connected, the dual of 8-connected foreground):
  // a component whose first pixel's left neighbour is not in it lies inside a hole.
  const outside = new Uint8Array(W * H);
  const stack = new Int32Array(W * H);
  let top = 0;
  stack[top++] = 0;
  outside[0] = 1;
  const visit = (q: number): void => {
    if (outside[q] === 0 && img[q] === 0) {
      outside[q] = 1;
      stack[top++] = q;
    }
  };
  while (top > 0) {
    const p = stack[--top]!;
    const x = p % W;
    if (x > 0) visit(p - 1);
    if (x < W - 1) visit(p + 1);
    if (p >= W) visit(p - W);
    if (p < W * (H - 1)) visit(p + W);
  }

  const seen = new Uint8Array(W * H); // foreground pixels of components already traced
  const contours: Contour[] = [];
  for (let y = 1; y <= h; y++) {
    for (let x = 1; x <= w; x++) {
      const p = y * W + x;
      if (img[p] === 0 || seen[p] === 1 || img[p - 1] !== 0) continue;
      // First pixel (raster order) of a component not traced yet.
      markComponent(img, seen, p, W, stack);
      if (outside[p - 1] !== 1) continue;
      contours.push(trace(img, W, x, y).map((v, i) => v - 1 + (i % 2 === 0 ? m.x0 : m.y0)));
    }
  }
  return contours;
}

function markComponent(img: Uint8Array, seen: Uint8Array, start: number, W: number, stack: Int32Array): void {
  const offsets = DIRS.map(([dx, dy]) => dy * W + dx);
  let top = 0;
  stack[top++] = start;
  seen[start] = 1;
  while (top > 0) {
    const p = stack[--top]!;
    for (let k = 0; k < 8; k++) {
      const q = p + offsets[k]!;
      if (img[q] === 1 && seen[q] === 0) {
        seen[q] = 1;
        stack[top++] = q;
      }
    }
  }
}

/** Suzuki–Abe outer border following from (sx, sy), whose west neighbour is background. */
function trace(img: Uint8Array, W: number, sx: number, sy: number): number[] {
  const at = (x: number, y: number): boolean => img[y * W + x] === 1;
  // First neighbour clockwise from west: directions 4, 3, 2, ... (decreasing = clockwise).
  let first = -1;
  for (let k = 0; k < 8; k++) {
    const d = (4 - k + 8) % 8;
    if (at(sx + DIRS[d]![0], sy + DIRS[d]![1])) {
      first = d;
      break;
    }
  }
  if (first < 0) return [sx, sy]; // a lone pixel
  const x1 = sx + DIRS[first]![0];
  const y1 = sy + DIRS[first]![1];
  const points: number[] = [];
  let px = x1; // previous pixel (i2, j2)
  let py = y1;
  let cx = sx; // current pixel (i3, j3)
  let cy = sy;
  let prevDir = -1;
  for (;;) {
    // Counter-clockwise from the direction of the previous pixel, starting just after it.
    const back = dirTo(px - cx, py - cy);
    let d = -1;
    for (let k = 1; k <= 8; k++) {
      const c = (back + k) % 8;
      if (at(cx + DIRS[c]![0], cy + DIRS[c]![1])) {
        d = c;
        break;
      }
    }
    // CHAIN_APPROX_SIMPLE: a point is kept where the direction changes (the start always).
    if (d !== prevDir) points.push(cx, cy);
    prevDir = d;
    const nx = cx + DIRS[d]![0];
    const ny = cy + DIRS[d]![1];
    if (nx === sx && ny === sy && cx === x1 && cy === y1) break;
    px = cx;
    py = cy;
    cx = nx;
    cy = ny;
  }
  // The closing step back to the start may continue the first segment: drop the start then.
  return points;
}

function dirTo(dx: number, dy: number): number {
  for (let d = 0; d < 8; d++) if (DIRS[d]![0] === dx && DIRS[d]![1] === dy) return d;
  throw new Error(`contours: (${dx}, ${dy}) is not a neighbour offset`);
}

/** The contour with the most points (first on ties), as masks2segments(strategy='largest'). */
export function largestContour(contours: readonly Contour[]): Contour | null {
  let best: Contour | null = null;
  for (const c of contours) if (best === null || c.length > best.length) best = c;
  return best;
}
