// Turn one image's raw detection output into thresholded candidates (network-input pixels).
//
// Arithmetic follows torch on float32 tensors: the confidence threshold is compared as float32
// (torch casts the Python scalar to the tensor's dtype), xywh->xyxy and obj*cls are float32
// operations, and argmax keeps the first maximum. The class filter is applied after choosing the
// best class over all classes, as Ultralytics and YOLOv5 do.
// NaN scores never win the argmax here (torch would propagate them and then drop the anchor).

import type { Candidate, OutputLayout, PostprocessOptions } from '../types.js';

type CandidateOptions = Pick<PostprocessOptions, 'conf' | 'classes'> & {
  /** Class rows of a [4+nc+extra, N] output (segment/pose heads carry extra rows after the classes); default rows - 4. */
  numClasses?: number;
};

/** Allowed-class lookup, or null when every class is allowed. */
function classMask(classes: readonly number[] | null, nc: number): Uint8Array | null {
  if (classes === null) return null;
  const size = Math.max(nc, ...classes.map((c) => (Number.isInteger(c) && c >= 0 ? c + 1 : 0)), 0);
  const mask = new Uint8Array(size);
  for (const c of classes) if (Number.isInteger(c) && c >= 0) mask[c] = 1;
  return mask;
}

function checkShape(data: Float32Array, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`${what}: invalid output shape [${rows}, ${cols}]`);
  }
  if (data.length < rows * cols) {
    throw new RangeError(`${what}: output has ${data.length} values, shape [${rows}, ${cols}] needs ${rows * cols}`);
  }
}

/**
 * Candidates for ONE image. `data` holds that image's 2-D output of shape [rows, cols]:
 * - 'xywh-classes':     [4+nc, N], channels first (column j is anchor j)
 * - 'xywh-obj-classes': [N, 5+nc]
 * - 'xyxy-score-class': [K, 6] (extra columns ignored), kept in model order
 */
export function extractCandidates(
  layout: OutputLayout,
  data: Float32Array,
  rows: number,
  cols: number,
  opts: CandidateOptions,
): Candidate[] {
  switch (layout) {
    case 'xywh-classes':
      return channelsFirst(data, rows, cols, opts);
    case 'xywh-obj-classes':
      return objectness(data, rows, cols, opts);
    case 'xyxy-score-class':
      return endToEnd(data, rows, cols, opts);
    default: {
      const never: never = layout;
      throw new RangeError(`extractCandidates: unknown layout ${String(never)}`);
    }
  }
}

/** YOLOv8/11 head: rows cx,cy,w,h then nc class scores; best class per anchor. */
function channelsFirst(data: Float32Array, rows: number, n: number, opts: CandidateOptions): Candidate[] {
  checkShape(data, rows, n, 'xywh-classes');
  const nc = opts.numClasses ?? rows - 4;
  if (nc < 1 || nc > rows - 4) throw new RangeError(`xywh-classes: ${nc} classes do not fit ${rows} rows`);
  const conf = Math.fround(opts.conf);
  const allowed = classMask(opts.classes, nc);

  // Pass 1 (the hot loop, run in every inference worker for every image): mark the anchors with
  // any class score above the threshold; only those can become candidates, and they are few.
  // Class rows outer, anchors inner, so every read is sequential; no stores in the common case.
  // This halves the cost of a full running argmax over all nc × N scores.
  const hot = new Uint8Array(n);
  for (let c = 0; c < nc; c++) {
    const base = (4 + c) * n;
    for (let j = 0; j < n; j++) {
      if (data[base + j]! > conf) hot[j] = 1;
    }
  }

  const out: Candidate[] = [];
  for (let j = 0; j < n; j++) {
    if (hot[j] === 0) continue;
    // Pass 2: the argmax over all classes, exactly as before (first maximum wins; a NaN in
    // class 0 keeps the anchor out, as a running max seeded with it would).
    let score = data[4 * n + j]!;
    let cls = 0;
    for (let c = 1; c < nc; c++) {
      const v = data[(4 + c) * n + j]!;
      if (v > score) {
        score = v;
        cls = c;
      }
    }
    if (!(score > conf)) continue;
    if (allowed !== null && allowed[cls] !== 1) continue;
    out.push(fromXywh(data[j]!, data[n + j]!, data[2 * n + j]!, data[3 * n + j]!, score, cls, j));
  }
  return out;
}

/** xywh2xyxy in float32, as torch computes it on the model's float32 output. */
function fromXywh(cx: number, cy: number, w: number, h: number, score: number, cls: number, row: number): Candidate {
  const hw = w / 2;
  const hh = h / 2;
  return { x1: Math.fround(cx - hw), y1: Math.fround(cy - hh), x2: Math.fround(cx + hw), y2: Math.fround(cy + hh), score, cls, row };
}

/** YOLOv5 head: cx,cy,w,h,obj,cls...; score = obj × cls (YOLOv5 non_max_suppression). */
function objectness(data: Float32Array, n: number, cols: number, opts: CandidateOptions): Candidate[] {
  checkShape(data, n, cols, 'xywh-obj-classes');
  const nc = cols - 5;
  if (nc < 1) throw new RangeError(`xywh-obj-classes: need at least 6 columns, got ${cols}`);
  const conf = Math.fround(opts.conf);
  const allowed = classMask(opts.classes, nc);
  const out: Candidate[] = [];
  for (let i = 0, row = 0; i < n; i++, row += cols) {
    const obj = data[row + 4]!;
    if (!(obj > conf)) continue;
    let score = Math.fround(data[row + 5]! * obj);
    let cls = 0;
    for (let c = 1; c < nc; c++) {
      const v = Math.fround(data[row + 5 + c]! * obj);
      if (v > score) {
        score = v;
        cls = c;
      }
    }
    if (!(score > conf)) continue;
    if (allowed !== null && allowed[cls] !== 1) continue;
    out.push(fromXywh(data[row]!, data[row + 1]!, data[row + 2]!, data[row + 3]!, score, cls, i));
  }
  return out;
}

/** End-to-end head: x1,y1,x2,y2,score,class per row; only thresholding, model order kept. */
function endToEnd(data: Float32Array, k: number, cols: number, opts: CandidateOptions): Candidate[] {
  checkShape(data, k, cols, 'xyxy-score-class');
  if (cols < 6) throw new RangeError(`xyxy-score-class: need at least 6 columns, got ${cols}`);
  const conf = Math.fround(opts.conf);
  const allowed = classMask(opts.classes, 0);
  const out: Candidate[] = [];
  for (let i = 0, row = 0; i < k; i++, row += cols) {
    const score = data[row + 4]!;
    if (!(score > conf)) continue;
    const clsValue = data[row + 5]!;
    if (!Number.isFinite(clsValue)) continue;
    // Ultralytics compares the float class column with the requested ids, then int()s it.
    if (allowed !== null && !(Number.isInteger(clsValue) && allowed[clsValue] === 1)) continue;
    out.push({ x1: data[row]!, y1: data[row + 1]!, x2: data[row + 2]!, y2: data[row + 3]!, score, cls: Math.trunc(clsValue), row: i });
  }
  return out;
}
