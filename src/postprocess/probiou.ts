// Probabilistic IoU between rotated boxes, as Ultralytics' utils/metrics.py computes it
// (_get_covariance_matrix + batch_probiou, after https://arxiv.org/pdf/2106.06072v1.pdf): each box
// is a 2-D Gaussian with covariance R·diag(w²/12, h²/12)·Rᵀ, the Bhattacharyya distance between
// the two Gaussians is clamped to [eps, 100], and IoU = 1 − sqrt(1 − exp(−bd) + eps).
//
// Ultralytics runs this on float32 tensors, so every step here is rounded to float32 in the same
// order as the torch expression. sqrt is correctly rounded in both; cos, sin, log and exp may
// differ from torch's vectorised float32 versions in the last bit, which only matters for IoUs
// within a float32 ulp of the threshold.

const f = Math.fround;
const EPS = f(1e-7);

/** A rotated box: centre, width, height (pixels), rotation (radians). */
export interface Rbox {
  cx: number;
  cy: number;
  w: number;
  h: number;
  r: number;
}

/** The three distinct entries of a box's covariance [[a, c], [c, b]], in float32. */
export interface Covariance {
  a: number;
  b: number;
  c: number;
}

/** _get_covariance_matrix for one box. */
export function covariance(w: number, h: number, r: number): Covariance {
  const a = f(f(w * w) / 12);
  const b = f(f(h * h) / 12);
  const cos = f(Math.cos(r));
  const sin = f(Math.sin(r));
  const cos2 = f(cos * cos);
  const sin2 = f(sin * sin);
  return {
    a: f(f(a * cos2) + f(b * sin2)),
    b: f(f(a * sin2) + f(b * cos2)),
    c: f(f(f(a - b) * cos) * sin),
  };
}

/**
 * ProbIoU of two boxes given their centres and covariances (batch_probiou for one pair; the
 * covariances are passed in so NMS computes each box's once). Symmetric in its two boxes.
 */
export function probiouFrom(x1: number, y1: number, k1: Covariance, x2: number, y2: number, k2: Covariance): number {
  const sa = f(k1.a + k2.a);
  const sb = f(k1.b + k2.b);
  const sc = f(k1.c + k2.c);
  const dy = f(y1 - y2);
  const dx = f(x1 - x2);
  const detSum = f(f(sa * sb) - f(sc * sc));
  const den = f(detSum + EPS);
  const t1 = f(f(f(f(sa * f(dy * dy)) + f(sb * f(dx * dx))) / den) * 0.25);
  const t2 = f(f(f(f(sc * f(x2 - x1)) * dy) / den) * 0.5);
  const det1 = clampLow(f(f(k1.a * k1.b) - f(k1.c * k1.c)));
  const det2 = clampLow(f(f(k2.a * k2.b) - f(k2.c * k2.c)));
  const t3 = f(f(Math.log(f(f(detSum / f(f(4 * f(Math.sqrt(f(det1 * det2)))) + EPS)) + EPS))) * 0.5);
  const bd = clamp(f(f(t1 + t2) + t3), EPS, 100);
  const hd = f(Math.sqrt(f(f(1 - f(Math.exp(-bd))) + EPS)));
  return f(1 - hd);
}

/** ProbIoU of two rotated boxes. */
export function probiou(p: Rbox, q: Rbox): number {
  return probiouFrom(p.cx, p.cy, covariance(p.w, p.h, p.r), q.cx, q.cy, covariance(q.w, q.h, q.r));
}

/** torch clamp_(0): NaN stays NaN. */
function clampLow(v: number): number {
  return v < 0 ? 0 : v;
}

/** torch clamp(lo, hi): NaN stays NaN. */
function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * The largest Bhattacharyya distance at which ProbIoU still reaches `iou` (ProbIoU falls as the
 * distance grows): iou >= t  ⇔  bd <= −ln(1 + eps − (1 − t)²). Infinity when every distance does.
 */
export function maxDistanceFor(iou: number): number {
  const rest = 1 + 1e-7 - (1 - iou) * (1 - iou);
  return rest <= 0 ? Infinity : -Math.log(rest);
}
