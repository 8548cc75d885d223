/**
 * Requests per minute per client address, counted in fixed one-minute
 * windows. A Map and a counter rather than @fastify/rate-limit: the limit
 * must hold for the raw front (front.ts) as well as for Fastify's routes,
 * so it is taken once, before either sees the request.
 */
export class RateLimiter {
  private counts = new Map<string, number>();
  private windowEnds = 0;

  constructor(
    readonly perMinute: number,
    /** More distinct clients than this in one minute are not tracked (memory stays bounded). */
    private readonly maxClients = 100_000,
  ) {}

  /** 0 when the request may go ahead, else the seconds until the client may ask again. */
  take(client: string, now = Date.now()): number {
    if (now >= this.windowEnds) {
      this.counts.clear();
      this.windowEnds = now + 60_000;
    }
    const count = (this.counts.get(client) ?? 0) + 1;
    if (count > this.perMinute) return Math.max(1, Math.ceil((this.windowEnds - now) / 1000));
    if (count > 1 || this.counts.size < this.maxClients) this.counts.set(client, count);
    return 0;
  }
}
