// Growable typed arrays: per-detection state kept as packed columns rather than one object per
// detection, so that what the evaluators hold stays a few tens of bytes per detection.
/** A growable typed array (a column of the packed per-category store). */
export class Column<A extends Float64Array | Int32Array | Uint16Array> {
  data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A) {
    this.data = make(16);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
}

export const f64 = (n: number) => new Float64Array(n);
export const i32 = (n: number) => new Int32Array(n);
export const u16 = (n: number) => new Uint16Array(n);
