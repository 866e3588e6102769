// YOLO txt labels as Ultralytics' Results.save_txt writes them: one line per detection,
// "class x_center y_center width height" normalised by the image size, each value printed with
// Python's "%g"; segmentation writes the normalised polygon instead of the box, pose appends the
// keypoints (x y [visibility]), OBB writes the four normalised corners, classification writes
// the top-5 as "confidence name". save_conf (--with-conf / --save-conf) appends the confidence.
// An image without detections gets no file, as with Ultralytics.
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StoredResult } from '../outputs/read-results.js';

/**
 * Fields of tasks not yet in src/types.ts (issue 10's OBB record shape); segments, rle and
 * keypoints are Detection's own.
 */
export interface ObbFields {
  obb?: { x1: number; y1: number; x2: number; y2: number; x3: number; y3: number; x4: number; y4: number };
}

/** A classification record's top-5 (issue 10). */
interface Top5Entry {
  class: number;
  name: string;
  confidence: number;
}

/** `x.toFixed(f)`, but an exact tie rounds to even as Python's formatting does (JS rounds it up). */
function toFixedEven(x: number, f: number): string {
  const up = x.toFixed(f);
  const exact = Math.abs(x).toFixed(Math.min(100, f + 60));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + f);
  if (!/^50*$/.test(tail)) return up;
  const kept = exact.slice(0, dot + 1 + f).replace(/\.$/, '');
  const lastDigit = Number(kept[kept.length - 1]);
  return lastDigit % 2 === 0 ? (x < 0 ? '-' : '') + kept : up;
}

/** Python's `"%g" % x`: 6 significant digits, trailing zeros dropped, exponent form outside 1e-4 … 1e6. */
export function formatG(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const exp = Number(x.toExponential(5).split('e')[1]);
  if (exp < -4 || exp >= 6) {
    const [mant, e] = x.toExponential(5).split('e') as [string, string];
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = toFixedEven(x, 5 - exp);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** The label lines of one record (empty for a failed image or one without detections). */
export function yoloLines(r: StoredResult, { withConf = false } = {}): string[] {
  if (r.error || r.width === null || r.height === null) return [];
  const W = r.width;
  const H = r.height;
  const top5 = (r as StoredResult & { top5?: Top5Entry[] }).top5;
  if (Array.isArray(top5)) return top5.map((t) => `${t.confidence.toFixed(2)} ${t.name}`);
  return r.detections.map((d) => {
    const t = d as typeof d & ObbFields;
    let values: number[];
    if (t.obb) {
      const o = t.obb;
      values = [o.x1 / W, o.y1 / H, o.x2 / W, o.y2 / H, o.x3 / W, o.y3 / H, o.x4 / W, o.y4 / H];
    } else if (t.segments && t.segments.x.length > 0) {
      values = t.segments.x.flatMap((x, i) => [x / W, t.segments!.y[i]! / H]);
    } else {
      const { x1, y1, x2, y2 } = d.box;
      values = [(x1 + x2) / 2 / W, (y1 + y2) / 2 / H, (x2 - x1) / W, (y2 - y1) / H];
    }
    if (t.keypoints) {
      const k = t.keypoints;
      values.push(...k.x.flatMap((x, i) => (k.visible ? [x / W, k.y[i]! / H, k.visible[i]!] : [x / W, k.y[i]! / H])));
    }
    if (withConf) values.push(d.confidence);
    return [d.class, ...values].map(formatG).join(' ');
  });
}

/** `<dir>/<image stem>.txt`, as Ultralytics names label files. */
export function labelFileFor(dir: string, imagePath: string, ext = '.txt'): string {
  return path.join(dir, path.basename(imagePath).replace(/\.[^.]*$/, '') + ext);
}

/**
 * Writes label files while a batch runs (`batch --save-txt DIR`): one small asynchronous write per
 * image, holding only the lines being written. A file of an image that now has no detections is
 * removed, so a rerun into the same folder leaves no stale labels. close() reports the first error.
 */
export class LabelWriter {
  private pending = new Set<Promise<void>>();
  private error: Error | null = null;
  private readonly stems = new Map<string, string>();
  duplicates = 0;
  written = 0;

  constructor(
    private readonly dir: string,
    private readonly withConf: boolean,
  ) {}

  static async open(dir: string, withConf: boolean): Promise<LabelWriter> {
    await mkdir(dir, { recursive: true });
    return new LabelWriter(dir, withConf);
  }

  write(r: StoredResult): void {
    if (this.error || r.error) return;
    const file = labelFileFor(this.dir, r.path);
    const earlier = this.stems.get(file);
    if (earlier !== undefined && earlier !== r.path) this.duplicates++;
    this.stems.set(file, r.path);
    const lines = yoloLines(r, { withConf: this.withConf });
    const job = (lines.length > 0 ? writeFile(file, `${lines.join('\n')}\n`).then(() => void this.written++) : unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    }))
      .catch((e: Error) => {
        this.error ??= new Error(`--save-txt: cannot write ${file}: ${e.message}`);
      })
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Waits for every write; the first failure, or null. */
  async close(): Promise<Error | null> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    return this.error;
  }
}
