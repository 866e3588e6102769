// A latency histogram with constant memory however many values it sees, accurate to 0.1%, that
// serialises to a short string and merges exactly — so shard summaries can be combined later.
// Backed by HdrHistogram (pure-JS 32-bit counts; no WebAssembly to initialise).
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * Values are stored as integer microseconds: exact below ~2 ms (1 µs steps), and within 0.1%
 * above (3 significant digits). Ten minutes is the planned top; longer values still fit, the
 * histogram grows.
 */
export const HISTOGRAM_UNIT = 'us';
export const HISTOGRAM_SIGNIFICANT_DIGITS = 3;
const US_PER_MS = 1000;
const HIGHEST_US = 10 * 60 * 1_000_000;

/** Summary statistics in milliseconds; percentiles and max are null when nothing was recorded. */
export interface LatencyStats {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Exact sum of the recorded values (ms), so means stay exact after merging. */
  sum: number;
}

function emptyHdr(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: HISTOGRAM_SIGNIFICANT_DIGITS,
    useWebAssembly: false,
  });
}

/** Rounds to whole microseconds, which is all the precision a ms value here carries. */
export function roundMs(ms: number): number {
  return Math.round(ms * US_PER_MS) / US_PER_MS;
}

export class LatencyHistogram {
  private readonly hdr: Histogram = emptyHdr();
  private sumMs = 0;
  private maxMs = 0;

  /** Records one duration in ms. Negative or non-finite values (a clock oddity) count as 0. */
  record(ms: number): void {
    const v = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.hdr.recordValue(Math.round(v * US_PER_MS));
    this.sumMs += v;
    if (v > this.maxMs) this.maxMs = v;
  }

  get count(): number {
    return this.hdr.totalCount;
  }

  /**
   * The value at percentile p (0–100), nearest-rank, in ms; null when empty. HdrHistogram reports
   * the top of the value's bucket, which can lie just above the true maximum: clamp to it.
   */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    return Math.min(this.hdr.getValueAtPercentile(p) / US_PER_MS, this.maxMs);
  }

  stats(): LatencyStats {
    const n = this.count;
    const pct = (p: number): number | null => {
      const v = this.percentile(p);
      return v === null ? null : roundMs(v);
    };
    return {
      count: n,
      mean: n === 0 ? null : roundMs(this.sumMs / n),
      p50: pct(50),
      p90: pct(90),
      p95: pct(95),
      p99: pct(99),
      max: n === 0 ? null : roundMs(this.maxMs),
      sum: roundMs(this.sumMs),
    };
  }

  /** HdrHistogram's V2 compressed encoding, base64: readable by any HdrHistogram implementation. */
  encode(): string {
    return encodeIntoCompressedBase64(this.hdr);
  }

  /** Adds another histogram's values to this one. */
  add(other: LatencyHistogram): void {
    this.hdr.add(other.hdr);
    this.sumMs += other.sumMs;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  /**
   * Rebuilds a histogram from `encode()` output plus the exact sum and max kept beside it (the
   * encoding only holds bucketed values). Throws on a string that is not an HdrHistogram.
   */
  static decode(encoded: string, sumMs: number, maxMs: number): LatencyHistogram {
    const h = new LatencyHistogram();
    const decoded = decodeFromCompressedBase64(encoded, 32, false);
    h.hdr.add(decoded);
    h.sumMs = sumMs;
    h.maxMs = maxMs;
    return h;
  }
}
