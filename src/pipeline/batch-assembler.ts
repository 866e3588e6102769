// Forms batches: each image's tensor is written straight into its place in the batch being
// filled (no second copy), a batch is queued when full, and a partial batch is released only
// when the caller says nothing else can join it soon. Batch buffers come back from the workers
// and are reused. Knows nothing of decoding or inference: testable with plain arrays.

export interface Batch<T> {
  /** float32 storage for `capacity` images of `imageElems` values each. */
  buffer: ArrayBuffer;
  /** The images placed so far, in the order they were committed. */
  items: T[];
}

export class BatchAssembler<T> {
  private readonly full: Batch<T>[] = [];
  private forming: Batch<T> | null = null;
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    /** Most images per batch. */
    readonly capacity: number,
    /** float32 values per image (3 × h × w). */
    readonly imageElems: number,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`BatchAssembler: capacity must be >= 1, got ${capacity}`);
  }

  /**
   * Where the next image's tensor goes: a view of its place in the batch being formed. Write it,
   * then `commit` the image before placing another (both within one synchronous step).
   */
  place(): Float32Array {
    this.forming ??= { buffer: this.spare.pop() ?? new ArrayBuffer(this.capacity * this.imageElems * 4), items: [] };
    return new Float32Array(this.forming.buffer, this.forming.items.length * this.imageElems * 4, this.imageElems);
  }

  /** Records the image just written at `place()`; a batch that is now full is queued. */
  commit(item: T): void {
    const b = this.forming;
    if (!b) throw new Error('BatchAssembler.commit without place()');
    b.items.push(item);
    if (b.items.length === this.capacity) {
      this.full.push(b);
      this.forming = null;
    }
  }

  /**
   * The next batch to run: a full one first; the partial one only when `releasePartial` (no
   * other image can join it soon). Null when there is nothing to send.
   */
  take(releasePartial: boolean): Batch<T> | null {
    const b = this.full.shift();
    if (b) return b;
    if (releasePartial && this.forming && this.forming.items.length > 0) {
      const partial = this.forming;
      this.forming = null;
      return partial;
    }
    return null;
  }

  /** A buffer handed back by a worker, kept for a later batch. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.capacity * this.imageElems * 4) this.spare.push(buffer);
  }

  /** Removes and returns every image not yet taken (when inference broke and nothing can run). */
  drain(): T[] {
    const stranded = [...this.full.splice(0), ...(this.forming ? [this.forming] : [])].flatMap((b) => b.items);
    this.forming = null;
    return stranded;
  }

  /** Images placed but not yet taken. */
  get pending(): number {
    return this.full.reduce((n, b) => n + b.items.length, 0) + (this.forming?.items.length ?? 0);
  }
}
