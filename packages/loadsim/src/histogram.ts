/**
 * A fixed-size latency histogram with log-spaced buckets (~2% relative error from 10 µs to 10 min):
 * recording is one Math.log and one array increment, so tens of thousands of requests per second
 * cost nothing measurable, and histograms from intervals, workers or runs merge by adding counts.
 */

const MIN_MS = 0.01;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets up to 600 000 ms (10 min): above osquery's 16 s timeout with room to spare. */
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / LOG_GROWTH) + 2;

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

/** Upper bound of a bucket in ms (what a percentile reports: never better than measured). */
function bucketUpper(i: number): number {
  return i === 0 ? MIN_MS : MIN_MS * GROWTH ** i;
}

/** A histogram's counts as sparse `[bucket, count]` pairs, for JSON and IPC. */
export interface HistogramData {
  count: number;
  sumMs: number;
  maxMs: number;
  buckets: Array<[number, number]>;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    const i = bucketOf(ms);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Latency at quantile q (0…1) in ms; NaN when empty. */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(bucketUpper(i), this.maxMs);
    }
    return this.maxMs;
  }

  get meanMs(): number {
    return this.count === 0 ? NaN : this.sumMs / this.count;
  }

  merge(other: Histogram | HistogramData): this {
    if (other instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    } else {
      for (const [i, n] of other.buckets) if (i >= 0 && i < BUCKETS) this.counts[i] = (this.counts[i] ?? 0) + n;
    }
    this.count += other.count;
    this.sumMs += other.sumMs;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
    return this;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }

  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) {
      const n = this.counts[i] ?? 0;
      if (n > 0) buckets.push([i, n]);
    }
    return { count: this.count, sumMs: this.sumMs, maxMs: this.maxMs, buckets };
  }

  static from(data: HistogramData): Histogram {
    return new Histogram().merge(data);
  }
}
