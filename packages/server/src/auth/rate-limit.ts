/**
 * Fixed-window login throttling per key (IP, account), in memory (Fleet: login 10/min per IP).
 * Bounded: the map is swept when it grows.
 */
export class RateLimiter {
  private readonly hits = new Map<string, { windowStart: number; count: number }>();

  constructor(private readonly limit: number, private readonly windowMs: number) {}

  /** Count a hit; returns seconds to wait when over the limit, else 0. */
  hit(key: string, now: number): number {
    const e = this.hits.get(key);
    if (e === undefined || now - e.windowStart >= this.windowMs) {
      if (this.hits.size > 100_000) this.sweep(now);
      this.hits.set(key, { windowStart: now, count: 1 });
      return 0;
    }
    e.count++;
    return e.count > this.limit ? Math.ceil((e.windowStart + this.windowMs - now) / 1000) : 0;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private sweep(now: number): void {
    for (const [k, e] of this.hits) if (now - e.windowStart >= this.windowMs) this.hits.delete(k);
  }
}
