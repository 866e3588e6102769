// The pure half of merge: output order, and what to do when one image has several records.

/**
 * Orders paths by their UTF-8 bytes (= by code point). JavaScript's `<` compares UTF-16 code
 * units, which puts characters above U+FFFF (surrogate pairs, 0xD800–0xDFFF) before U+E000–U+FFFF;
 * shifting the two ranges past each other restores code point order without encoding anything.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Entry numbers 0..n-1 sorted by path, ties by entry number (entries are numbered in part order,
 * then in file order, so a path's records stay in the order they were written).
 */
export function pathOrder(paths: readonly string[]): Uint32Array {
  const order = new Uint32Array(paths.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((i, j) => comparePaths(paths[i]!, paths[j]!) || i - j);
}

/** Runs of equal paths in `order`, as [from, to) index ranges into `order`. */
export function* pathGroups(paths: readonly string[], order: Uint32Array): Generator<[number, number]> {
  let from = 0;
  for (let i = 1; i <= order.length; i++) {
    if (i === order.length || paths[order[i]!] !== paths[order[from]!]) {
      yield [from, i];
      from = i;
    }
  }
}

export interface GroupResolution {
  /** The entry that is written. */
  keep: number;
  /** Earlier records in the same part identical to that part's last one (dropped, warned). */
  repeats: number;
  /** Earlier records in the same part that differ from its last one (resume's rule: the last wins). */
  superseded: number;
  /** Other parts whose record is identical to the kept one (dropped, warned). */
  crossRepeats: number;
  /** Other parts whose record differs from the kept one: a conflict. */
  conflictParts: number[];
}

/**
 * Settles one image's records. `entries` are ascending (part order, then file order).
 * Within a part the LAST record wins — resume with --retry-failed appends a newer record for an
 * image that failed. Across parts there is no "newer": identical records are harmless overlap,
 * different ones are a conflict, and the first part's record is kept so the output is still
 * deterministic.
 */
export function resolveGroup(
  entries: readonly number[],
  partOf: (entry: number) => number,
  same: (a: number, b: number) => boolean,
): GroupResolution {
  const lastInPart = new Map<number, number>();
  for (const e of entries) lastInPart.set(partOf(e), e);
  const res: GroupResolution = { keep: -1, repeats: 0, superseded: 0, crossRepeats: 0, conflictParts: [] };
  if (entries.length === 1) return { ...res, keep: entries[0]! };

  for (const e of entries) {
    const winner = lastInPart.get(partOf(e))!;
    if (e === winner) continue;
    if (same(e, winner)) res.repeats++;
    else res.superseded++;
  }
  const parts = [...lastInPart.keys()].sort((a, b) => a - b);
  res.keep = lastInPart.get(parts[0]!)!;
  for (const p of parts.slice(1)) {
    if (same(lastInPart.get(p)!, res.keep)) res.crossRepeats++;
    else res.conflictParts.push(p);
  }
  return res;
}
