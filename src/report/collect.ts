// One pass over a results file's records, keeping only what the report shows: counts, per-class
// confidence histograms, the detections-per-image histogram, failures by code (a few messages
// each), and a bounded set of gallery candidates. Memory does not grow with the number of records.
import type { StoredResult } from '../outputs/read-results.js';
import type { DrawableDetection } from '../draw/geometry.js';

export const CONFIDENCE_BINS = 20;

export interface ClassStats {
  class: number;
  name: string;
  count: number;
  /** Images with at least one detection of this class. */
  images: number;
  confidenceSum: number;
  /** CONFIDENCE_BINS equal bins over [0, 1]. */
  confidenceBins: number[];
}

export interface FailureGroup {
  code: string;
  count: number;
  /** The first few failures of this code, in file order. */
  samples: { path: string; message: string }[];
}

/** A record kept for the gallery. */
export interface GalleryItem {
  path: string;
  width: number | null;
  height: number | null;
  detections: DrawableDetection[];
  /** Lowest detection confidence (1 when there are none). */
  minConfidence: number;
  /** Position in the results (0-based): ties keep file order. */
  seq: number;
}

export interface CollectOptions {
  /** Images per gallery section. */
  gallerySize: number;
  /** Seed of the random gallery section: the same file and seed give the same images. */
  seed: number;
  /** Messages kept per error code. */
  failureSamples: number;
}

export const COLLECT_DEFAULTS: CollectOptions = { gallerySize: 12, seed: 1, failureSamples: 20 };

export interface ReportData {
  records: number;
  ok: number;
  failed: number;
  detections: number;
  classes: ClassStats[];
  /** detsPerImage[n]: successful images with n detections. */
  detsPerImage: number[];
  failures: FailureGroup[];
  gallery: { most: GalleryItem[]; lowest: GalleryItem[]; random: GalleryItem[] };
  /** Images whose detections carry masks (polygon or RLE), keypoints or rotated boxes, or that carry top-5 classes. */
  shapes: { segments: number; keypoints: number; obb: number; classify: number };
}

/** mulberry32: a small, well-mixed 32-bit PRNG, so "random" samples are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keeps the `size` best items by `better` (a strict order; earlier items win ties). */
class TopK<T> {
  readonly items: T[] = [];
  constructor(
    private readonly size: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {}
  offer(item: T): void {
    if (this.size <= 0) return;
    if (this.items.length === this.size && !this.better(item, this.items[this.items.length - 1]!)) return;
    let i = this.items.length;
    while (i > 0 && this.better(item, this.items[i - 1]!)) i--;
    this.items.splice(i, 0, item);
    if (this.items.length > this.size) this.items.pop();
  }
}

interface Top5Entry {
  class: number;
  name: string;
  confidence: number;
}

export class ReportCollector {
  private records = 0;
  private ok = 0;
  private failed = 0;
  private detections = 0;
  private readonly classes = new Map<string, ClassStats>();
  private readonly detsPerImage: number[] = [];
  private readonly failures = new Map<string, FailureGroup>();
  private readonly most: TopK<GalleryItem>;
  private readonly lowest: TopK<GalleryItem>;
  private readonly random: GalleryItem[] = [];
  private readonly rand: () => number;
  private eligible = 0;
  private readonly shapes = { segments: 0, keypoints: 0, obb: 0, classify: 0 };

  constructor(private readonly opts: CollectOptions = COLLECT_DEFAULTS) {
    this.most = new TopK(opts.gallerySize, (a, b) => a.detections.length > b.detections.length);
    this.lowest = new TopK(opts.gallerySize, (a, b) => a.minConfidence < b.minConfidence);
    this.rand = seededRandom(opts.seed);
  }

  add(r: StoredResult): void {
    const seq = this.records++;
    if (r.error) {
      this.failed++;
      const code = String(r.error.code ?? 'UNKNOWN');
      let g = this.failures.get(code);
      if (!g) this.failures.set(code, (g = { code, count: 0, samples: [] }));
      g.count++;
      if (g.samples.length < this.opts.failureSamples) g.samples.push({ path: r.path, message: String(r.error.message ?? '') });
      return;
    }
    this.ok++;
    const dets = r.detections as DrawableDetection[];
    const top5 = (r as { top5?: Top5Entry[] }).top5;
    const counted: { class: number; name: string; confidence: number }[] = dets.length > 0 ? dets : Array.isArray(top5) && top5[0] ? [top5[0]] : [];
    if (dets.length === 0 && counted.length > 0) this.shapes.classify++;
    this.detections += dets.length;
    this.detsPerImage[dets.length] = (this.detsPerImage[dets.length] ?? 0) + 1;
    const seen = new Set<ClassStats>();
    let minConfidence = 1;
    for (const d of counted) {
      const key = `${d.class}\u0000${d.name}`;
      let c = this.classes.get(key);
      if (!c) this.classes.set(key, (c = { class: d.class, name: String(d.name), count: 0, images: 0, confidenceSum: 0, confidenceBins: new Array<number>(CONFIDENCE_BINS).fill(0) }));
      const conf = Number.isFinite(d.confidence) ? Math.min(1, Math.max(0, d.confidence)) : 0;
      c.count++;
      c.confidenceSum += conf;
      c.confidenceBins[Math.min(CONFIDENCE_BINS - 1, Math.floor(conf * CONFIDENCE_BINS))]!++;
      if (!seen.has(c)) {
        seen.add(c);
        c.images++;
      }
      minConfidence = Math.min(minConfidence, conf);
    }
    if (dets.some((d) => d.segments || d.rle)) this.shapes.segments++;
    if (dets.some((d) => d.keypoints)) this.shapes.keypoints++;
    if (dets.some((d) => d.obb)) this.shapes.obb++;

    const item: GalleryItem = { path: r.path, width: r.width, height: r.height, detections: dets, minConfidence, seq };
    this.most.offer(item);
    if (counted.length > 0) this.lowest.offer(item);
    // Reservoir sampling (Algorithm R) over the successful images.
    const i = this.eligible++;
    if (i < this.opts.gallerySize) this.random.push(item);
    else {
      const j = Math.floor(this.rand() * (i + 1));
      if (j < this.opts.gallerySize) this.random[j] = item;
    }
  }

  result(): ReportData {
    const classes = [...this.classes.values()].sort((a, b) => b.count - a.count || a.class - b.class || a.name.localeCompare(b.name));
    const detsPerImage = Array.from(this.detsPerImage, (n) => n ?? 0);
    return {
      records: this.records,
      ok: this.ok,
      failed: this.failed,
      detections: this.detections,
      classes,
      detsPerImage,
      failures: [...this.failures.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      gallery: { most: this.most.items, lowest: this.lowest.items, random: [...this.random].sort((a, b) => a.seq - b.seq) },
      shapes: { ...this.shapes },
    };
  }
}
