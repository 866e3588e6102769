// The run's observers: everything that watches the records go by without deciding the run's
// course — the run report (tally, progress), the --save-txt label writer, the annotated-image
// saver. One list, called in its order at two moments, replaces a hook per consumer. (The error
// budget decides the course, so it lives in the run guard, which sees the same records first.)
import type { ImageSaver } from '../annotate/saver.js';
import type { LabelWriter } from '../exports/yolo-txt.js';
import type { RunReport } from '../metrics/report.js';
import type { ImageResult, RgbImage } from '../types.js';

export interface RunObserver {
  /**
   * Each record once handed to the output, in input order, with its decoded image when some
   * observer `keepsImages` (else null). Awaited before the next record: back-pressure.
   */
  onWritten?(r: ImageResult, image: RgbImage | null): void | Promise<void>;
  /** Each record once its bytes reached the output: what is counted (metrics/counts.ts's rule). */
  onCommitted?(r: ImageResult): void;
  /** The pipeline must keep each decoded image for onWritten (costs memory per image in flight). */
  readonly keepsImages?: boolean;
  /** After the last record: wait for work still under way (images being drawn). */
  flush?(): Promise<void>;
}

/** The observers of one run, called in list order. */
export class Observers {
  constructor(private readonly list: readonly RunObserver[]) {}

  get keepImages(): boolean {
    return this.list.some((o) => o.keepsImages);
  }

  /** Some observer wants onWritten (else the pipeline skips the per-record call). */
  get watchesWrites(): boolean {
    return this.list.some((o) => o.onWritten);
  }

  async written(r: ImageResult, image: RgbImage | null): Promise<void> {
    for (const o of this.list) await o.onWritten?.(r, image);
  }

  committed(r: ImageResult): void {
    for (const o of this.list) o.onCommitted?.(r);
  }

  async flush(): Promise<void> {
    for (const o of this.list) await o.flush?.();
  }
}

/** The run report counts what reached the output and moves the progress display. */
export function reportObserver(report: RunReport): RunObserver {
  return { onCommitted: (r) => report.onResult(r) };
}

/** --save-txt: one label file per image, written as its record is. */
export function labelsObserver(labels: LabelWriter): RunObserver {
  return { onWritten: (r) => labels.write(r) };
}

/** --save-annotated / --save-crops: draws each image once its record is written. */
export function saverObserver(saver: ImageSaver): RunObserver {
  return { onWritten: (r, image) => saver.enqueue(r, image), keepsImages: true, flush: () => saver.flush() };
}
