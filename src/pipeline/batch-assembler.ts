// Forms batches: each image's tensor is written straight into its place in the batch being
// filled (no second copy), a batch is queued when full, and a partial batch is released only
// when the caller says nothing else can join it soon. Batch buffers come back from the workers
// and are reused. Knows nothing of decoding or inference: testable with plain arrays.

export interface Batch<T> {
  /** float32 storage for `capacity` images of `imageElems` values each. */
  buffer: ArrayBuffer;
  /** The images placed so far, in the order they were committed. */
  items: T[];
  /**
   * For each place in `buffer`, the caller's key for the padding it holds (see `commit`), null
   * when unknown. Hand it back with the buffer to `recycle` so the next image can skip re-padding.
   */
  padKeys: (string | null)[];
}

export class BatchAssembler<T> {
  private readonly full: Batch<T>[] = [];
  private forming: Batch<T> | null = null;
  private readonly spare: { buffer: ArrayBuffer; padKeys: (string | null)[] }[] = [];

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
    return this.placeWithPad().view;
  }

  /**
   * `place`, plus the padding key the place holds from its previous image (null if unknown): a
   * caller whose next image has the same key may leave the padding as it is.
   */
  placeWithPad(): { view: Float32Array; previousPad: string | null } {
    if (!this.forming) {
      const reused = this.spare.pop();
      this.forming = { buffer: reused?.buffer ?? new ArrayBuffer(this.capacity * this.imageElems * 4), items: [], padKeys: reused?.padKeys ?? new Array<string | null>(this.capacity).fill(null) };
    }
    const at = this.forming.items.length;
    const previousPad = this.forming.padKeys[at] ?? null;
    // Unknown until committed: a write that fails half-way leaves the place in no known state.
    this.forming.padKeys[at] = null;
    return { view: new Float32Array(this.forming.buffer, at * this.imageElems * 4, this.imageElems), previousPad };
  }

  /**
   * Records the image just written at `place()`; a batch that is now full is queued. `padKey`
   * names the padding now in its place (the same key promises the same padded pixels).
   */
  commit(item: T, padKey: string | null = null): void {
    const b = this.forming;
    if (!b) throw new Error('BatchAssembler.commit without place()');
    b.padKeys[b.items.length] = padKey;
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

  /** A buffer handed back by a worker, kept for a later batch, with the pad keys of the batch it carried. */
  recycle(buffer: ArrayBuffer, padKeys?: readonly (string | null)[]): void {
    if (buffer.byteLength !== this.capacity * this.imageElems * 4) return;
    const keys = padKeys && padKeys.length === this.capacity ? [...padKeys] : new Array<string | null>(this.capacity).fill(null);
    this.spare.push({ buffer, padKeys: keys });
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
