// `yolo-serve diff OLD NEW` as a function: two results files of the same images compared image by
// image. Detections are paired within an image by class and IoU (best IoU first); a pair whose
// IoU is below the "moved" threshold has moved, an unpaired OLD detection was removed and an
// unpaired NEW one added. Both files are walked together in path order from their indexes
// (final-records.ts), so memory is ~200 bytes per image and one image's detections at a time.
import type { Detection } from '../types.js';
import type { StoredResult } from '../outputs/read-results.js';
import { comparePaths } from '../merge/plan.js';
import { indexResults, RecordReader } from './final-records.js';

export const DIFF_SCHEMA = 1;

export interface DiffOptions {
  old: string;
  new: string;
  /** Minimum IoU for two detections of one class to be the same object. */
  iou: number;
  /** A paired detection whose IoU is below this has moved. */
  movedIou: number;
  /** How many of the most-changed images to list. */
  top: number;
}

export interface ImageDelta {
  path: string;
  old: number;
  new: number;
  added: number;
  removed: number;
  moved: number;
  /** The image was read in one run and failed in the other. */
  status: 'ok' | 'failed' | 'newly failed' | 'newly ok';
}

export interface ClassDelta {
  class: number;
  name: string;
  old: number;
  new: number;
  delta: number;
  added: number;
  removed: number;
  moved: number;
}

export interface DiffReport {
  schema: typeof DIFF_SCHEMA;
  old: string;
  new: string;
  iou: number;
  moved_iou: number;
  images: { compared: number; unchanged: number; changed: number; changed_fraction: number; only_old: number; only_new: number; status_changed: number };
  detections: { old: number; new: number; matched: number; moved: number; added: number; removed: number };
  confidence: { mean_abs_delta: number; max_abs_delta: number };
  per_class: ClassDelta[];
  most_changed: ImageDelta[];
  /** Up to `top` paths found in only one file. */
  only_old_examples: string[];
  only_new_examples: string[];
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

export interface Pairing {
  pairs: { o: number; n: number; iou: number }[];
  removed: number[];
  added: number[];
}

/** Pairs detections of the same class with IoU ≥ minIou, best IoU first (ties: earlier detections). */
export function pairDetections(olds: readonly Detection[], news: readonly Detection[], minIou: number): Pairing {
  const cands: { o: number; n: number; iou: number }[] = [];
  for (let o = 0; o < olds.length; o++) {
    for (let n = 0; n < news.length; n++) {
      if (olds[o]!.class !== news[n]!.class) continue;
      const v = iou(olds[o]!.box, news[n]!.box);
      if (v >= minIou) cands.push({ o, n, iou: v });
    }
  }
  cands.sort((a, b) => b.iou - a.iou || a.o - b.o || a.n - b.n);
  const usedO = new Uint8Array(olds.length);
  const usedN = new Uint8Array(news.length);
  const pairs: Pairing['pairs'] = [];
  for (const c of cands) {
    if (usedO[c.o] || usedN[c.n]) continue;
    usedO[c.o] = usedN[c.n] = 1;
    pairs.push(c);
  }
  return { pairs, removed: olds.map((_, i) => i).filter((i) => !usedO[i]), added: news.map((_, i) => i).filter((i) => !usedN[i]) };
}

class Tally {
  readonly classes = new Map<number, ClassDelta>();
  readonly report: Omit<DiffReport, 'schema' | 'old' | 'new' | 'iou' | 'moved_iou' | 'per_class' | 'most_changed'> = {
    images: { compared: 0, unchanged: 0, changed: 0, changed_fraction: 0, only_old: 0, only_new: 0, status_changed: 0 },
    detections: { old: 0, new: 0, matched: 0, moved: 0, added: 0, removed: 0 },
    confidence: { mean_abs_delta: 0, max_abs_delta: 0 },
    only_old_examples: [],
    only_new_examples: [],
  };
  private confSum = 0;
  private top: ImageDelta[] = [];

  constructor(private readonly opts: DiffOptions) {}

  private cls(d: Detection): ClassDelta {
    let c = this.classes.get(d.class);
    if (!c) this.classes.set(d.class, (c = { class: d.class, name: d.name, old: 0, new: 0, delta: 0, added: 0, removed: 0, moved: 0 }));
    return c;
  }

  onlyOne(path: string, side: 'old' | 'new'): void {
    const r = this.report;
    if (side === 'old') {
      r.images.only_old++;
      if (r.only_old_examples.length < this.opts.top) r.only_old_examples.push(path);
    } else {
      r.images.only_new++;
      if (r.only_new_examples.length < this.opts.top) r.only_new_examples.push(path);
    }
  }

  compare(o: StoredResult, n: StoredResult): void {
    const r = this.report;
    r.images.compared++;
    const od = o.error ? [] : o.detections;
    const nd = n.error ? [] : n.detections;
    const { pairs, removed, added } = pairDetections(od, nd, this.opts.iou);
    let moved = 0;
    for (const d of od) this.cls(d).old++;
    for (const d of nd) this.cls(d).new++;
    for (const p of pairs) {
      const dc = Math.abs(od[p.o]!.confidence - nd[p.n]!.confidence);
      this.confSum += dc;
      r.confidence.max_abs_delta = Math.max(r.confidence.max_abs_delta, dc);
      if (p.iou < this.opts.movedIou) {
        moved++;
        this.cls(nd[p.n]!).moved++;
      }
    }
    for (const i of removed) this.cls(od[i]!).removed++;
    for (const i of added) this.cls(nd[i]!).added++;
    const d = r.detections;
    d.old += od.length;
    d.new += nd.length;
    d.matched += pairs.length;
    d.moved += moved;
    d.added += added.length;
    d.removed += removed.length;
    const status: ImageDelta['status'] = o.error && n.error ? 'failed' : o.error ? 'newly ok' : n.error ? 'newly failed' : 'ok';
    if (status === 'newly ok' || status === 'newly failed') r.images.status_changed++;
    const changes = added.length + removed.length + moved;
    if (changes === 0 && (status === 'ok' || status === 'failed')) {
      r.images.unchanged++;
      return;
    }
    r.images.changed++;
    this.keepTop({ path: n.path, old: od.length, new: nd.length, added: added.length, removed: removed.length, moved, status });
  }

  /** Keeps the `top` most-changed images (a status change ranks first), ties in path order. */
  private keepTop(e: ImageDelta): void {
    this.top.push(e);
    if (this.top.length > 2 * this.opts.top + 16) this.trimTop();
  }

  private trimTop(): void {
    const score = (x: ImageDelta) => (x.status === 'newly failed' || x.status === 'newly ok' ? 1e9 : 0) + x.added + x.removed + x.moved;
    this.top.sort((a, b) => score(b) - score(a) || comparePaths(a.path, b.path));
    this.top.length = Math.min(this.top.length, this.opts.top);
  }

  finish(): DiffReport {
    this.trimTop();
    const r = this.report;
    r.images.changed_fraction = r.images.compared ? r.images.changed / r.images.compared : 0;
    r.confidence.mean_abs_delta = r.detections.matched ? this.confSum / r.detections.matched : 0;
    const perClass = [...this.classes.values()].map((c) => ({ ...c, delta: c.new - c.old })).sort((a, b) => a.class - b.class);
    return { schema: DIFF_SCHEMA, old: this.opts.old, new: this.opts.new, iou: this.opts.iou, moved_iou: this.opts.movedIou, ...r, per_class: perClass, most_changed: this.top };
  }
}

export async function diffResults(opts: DiffOptions): Promise<DiffReport> {
  const [oi, ni] = [await indexResults(opts.old), await indexResults(opts.new)];
  const [or, nr] = [new RecordReader(oi), new RecordReader(ni)];
  const tally = new Tally(opts);
  try {
    let i = 0;
    let j = 0;
    while (i < oi.spans.length || j < ni.spans.length) {
      const os = oi.spans[i];
      const ns = ni.spans[j];
      const c = !os ? 1 : !ns ? -1 : comparePaths(os.path, ns.path);
      if (c < 0) {
        tally.onlyOne(os!.path, 'old');
        i++;
      } else if (c > 0) {
        tally.onlyOne(ns!.path, 'new');
        j++;
      } else {
        tally.compare(or.read(os!), nr.read(ns!));
        i++;
        j++;
      }
    }
  } finally {
    or.close();
    nr.close();
  }
  return tally.finish();
}

/** The metrics --fail-if can name. */
export const DIFF_GATE_METRICS = ['changed-images', 'changed-images-count', 'added', 'removed', 'moved', 'changed-detections', 'detections-delta', 'only-old', 'only-new', 'status-changed'] as const;

export function diffGateValues(r: DiffReport): Record<string, number> {
  const d = r.detections;
  return {
    'changed-images': r.images.changed_fraction,
    'changed-images-count': r.images.changed,
    added: d.added,
    removed: d.removed,
    moved: d.moved,
    'changed-detections': (d.added + d.removed + d.moved) / Math.max(1, d.old),
    'detections-delta': (d.new - d.old) / Math.max(1, d.old),
    'only-old': r.images.only_old,
    'only-new': r.images.only_new,
    'status-changed': r.images.status_changed,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const signed = (v: number) => (v > 0 ? `+${v}` : String(v));

export function formatDiffReport(r: DiffReport): string {
  const im = r.images;
  const d = r.detections;
  const lines = [
    `diff: ${r.old} → ${r.new} (same class and IoU ≥ ${r.iou} pair up; IoU < ${r.moved_iou} is moved)`,
    `  images: ${im.compared} compared, ${im.unchanged} unchanged, ${im.changed} changed (${pct(im.changed_fraction)})${im.status_changed ? `, ${im.status_changed} of them failed in one run only` : ''}; ${im.only_old} only in OLD, ${im.only_new} only in NEW`,
    `  detections: ${d.old} → ${d.new} (${signed(d.new - d.old)}): ${d.matched} paired (${d.moved} moved), ${d.added} added, ${d.removed} removed; confidence change of paired detections: mean ${r.confidence.mean_abs_delta.toFixed(5)}, max ${r.confidence.max_abs_delta.toFixed(5)}`,
  ];
  const changedClasses = r.per_class.filter((c) => c.added || c.removed || c.moved);
  if (changedClasses.length) {
    const w = Math.max(...changedClasses.map((c) => c.name.length));
    lines.push(`per class (OLD → NEW: added, removed, moved):`);
    for (const c of [...changedClasses].sort((a, b) => b.added + b.removed + b.moved - (a.added + a.removed + a.moved) || a.class - b.class)) {
      lines.push(`  ${c.name.padEnd(w)} ${String(c.old).padStart(6)} → ${String(c.new).padEnd(6)} (${signed(c.delta)}): +${c.added} −${c.removed} ~${c.moved}`);
    }
  }
  if (r.most_changed.length) {
    lines.push(`most changed images:`);
    for (const e of r.most_changed) lines.push(`  ${e.path}: ${e.old} → ${e.new}, +${e.added} −${e.removed} ~${e.moved}${e.status === 'newly failed' || e.status === 'newly ok' ? ` (${e.status})` : ''}`);
  }
  for (const [side, list] of [['OLD', r.only_old_examples], ['NEW', r.only_new_examples]] as const) {
    if (list.length) lines.push(`only in ${side}: ${list.join(', ')}${(side === 'OLD' ? im.only_old : im.only_new) > list.length ? ', …' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
