// --save-annotated and --save-crops: called by the pipeline with each successfully inferred
// image's decoded pixels (no second decode). Drawing and encoding run in sharp, on libuv's
// threads. A file that cannot be written is counted and reported at the end; it never fails the
// image (its detections are in the results) nor the run.
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DrawableDetection } from '../draw/geometry.js';
import { LabelTiles } from '../draw/label-tiles.js';
import { annotateImage, cropImage } from '../draw/render.js';
import type { ImageResult, RgbImage } from '../types.js';
import { annotatedPath, classDirName, cropName, imageStem } from './paths.js';

export interface SaverOptions {
  annotateDir: string | null;
  cropsDir: string | null;
  /** Folder the annotated layout mirrors (the input root). */
  root: string;
  quality: number;
  maxSide: number | null;
}

/** A classification record's top-5 (issue 10 record shape). */
type Top5 = { class: number; name: string; confidence: number }[];

/** Ultralytics save_one_box writes crops at quality 95. */
export const CROP_QUALITY = 95;

export class ImageSaver {
  annotated = 0;
  crops = 0;
  failures = 0;
  firstError: string | null = null;
  private readonly made = new Set<string>();
  /** Next suffix number to try per crop folder + stem, so repeats do not retry every name. */
  private readonly nextCrop = new Map<string, number>();

  private readonly pending = new Set<Promise<void>>();
  private readonly tiles = new LabelTiles();

  constructor(
    private readonly opts: SaverOptions,
    /** Images drawn at once; beyond that, `enqueue` waits (back-pressure on the pipeline). */
    private readonly maxPending = 4,
  ) {}

  /**
   * For the pipeline's onWritten hook, which is awaited before the next result is written: starts
   * saving and returns at once while fewer than `maxPending` images are being drawn, so drawing
   * overlaps inference and several images are encoded in parallel; otherwise waits for one to end.
   * Failed images (no pixels, or an error record) get no file.
   */
  async enqueue(result: ImageResult, image: RgbImage | null): Promise<void> {
    if (!image || result.error) return;
    const p: Promise<void> = this.save(result, image)
      .catch(() => undefined)
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    while (this.pending.size >= this.maxPending) await Promise.race(this.pending);
  }

  /** Waits for every image handed to `enqueue`. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  async save(result: ImageResult, image: RgbImage): Promise<void> {
    const dets = result.detections as DrawableDetection[];
    // Crops are cut from the untouched pixels (annotateImage draws into a copy); all encodes run
    // at once on libuv's threads, and the files are named in detection order.
    const crops = this.opts.cropsDir ? Promise.all(dets.map((d) => cropImage(image, d, CROP_QUALITY).catch((err: Error) => err))) : null;
    const top5 = (result as { top5?: Top5 }).top5;
    const annotated = this.opts.annotateDir ? this.guard(() => this.saveAnnotated(result.path, image, dets, Array.isArray(top5) ? top5 : undefined)) : null;
    if (crops) {
      const encoded = await crops;
      for (const [i, bytes] of encoded.entries()) {
        await this.guard(async () => {
          if (bytes instanceof Error) throw bytes;
          await this.writeCrop(result.path, dets[i]!, bytes);
        });
      }
    }
    await annotated;
  }

  /** One line for the end of the run, or null when neither option was given. */
  describe(): string | null {
    const parts = [
      this.opts.annotateDir ? `${this.annotated} annotated images in ${this.opts.annotateDir}` : null,
      this.opts.cropsDir ? `${this.crops} crops in ${this.opts.cropsDir}` : null,
    ].filter((p) => p !== null);
    if (parts.length === 0) return null;
    const failed = this.failures > 0 ? `; ${this.failures} files could not be written (first: ${this.firstError})` : '';
    return `saved: ${parts.join(', ')}${failed}`;
  }

  private async guard(f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.failures++;
      this.firstError ??= (err as Error).message;
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  private async saveAnnotated(imagePath: string, image: RgbImage, dets: DrawableDetection[], top5?: Top5): Promise<void> {
    const { file, format } = annotatedPath(this.opts.annotateDir!, this.opts.root, imagePath);
    const bytes = await annotateImage(image, dets, { maxSide: this.opts.maxSide, quality: this.opts.quality, format, tiles: this.tiles, classes: top5 });
    await this.ensureDir(path.dirname(file));
    // Written beside and renamed over: an interrupted run never leaves half an image.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    this.annotated++;
  }

  private async writeCrop(imagePath: string, d: DrawableDetection, bytes: Buffer): Promise<void> {
    const dir = path.join(this.opts.cropsDir!, classDirName(String(d.name)));
    await this.ensureDir(dir);
    const stem = imageStem(imagePath);
    const key = `${dir}\u0000${stem}`;
    // Exclusive creation: never overwrites, and concurrent images or shards sharing the folder
    // each get their own name.
    for (let n = this.nextCrop.get(key) ?? 1; ; n++) {
      const file = path.join(dir, cropName(stem, n));
      const fh = await open(file, 'wx').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return null;
        throw err;
      });
      if (!fh) continue;
      this.nextCrop.set(key, n + 1);
      try {
        await fh.writeFile(bytes);
      } finally {
        await fh.close();
      }
      this.crops++;
      return;
    }
  }
}
