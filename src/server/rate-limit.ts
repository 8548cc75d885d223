/**
 * Requests per minute per client, counted in fixed one-minute windows. A Map
 * and a counter rather than @fastify/rate-limit: the limit must hold for the
 * raw front (front.ts) as well as for Fastify's routes, so it is taken once,
 * before either sees the request.
 *
 * Memory is bounded without failing open: the first `maxClients` clients of
 * a window are counted exactly; clients beyond them share the counters of a
 * count-min sketch (fixed size; a count is never lower than the true one, so
 * a client over the limit is always refused, and under a flood of new
 * addresses a client may be refused somewhat early, never let through).
 *
 * An IPv6 client is its /64: one subscriber or host gets a whole /64
 * (RFC 6177), so counting single addresses would let it rotate freely.
 */
import { isIPv6 } from 'node:net';

const SKETCH_ROWS = 4;
const SKETCH_WIDTH = 1 << 16;

export class RateLimiter {
  private counts = new Map<string, number>();
  /** Counters for the clients beyond maxClients, SKETCH_ROWS rows of SKETCH_WIDTH. */
  private readonly sketch = new Uint32Array(SKETCH_ROWS * SKETCH_WIDTH);
  private sketchUsed = false;
  private windowEnds = 0;

  constructor(
    readonly perMinute: number,
    /** Clients counted exactly per minute; the rest share the sketch's counters. */
    private readonly maxClients = 100_000,
  ) {}

  /** 0 when the request may go ahead, else the seconds until the client may ask again. */
  take(address: string, now = Date.now()): number {
    if (now >= this.windowEnds) {
      this.counts.clear();
      if (this.sketchUsed) this.sketch.fill(0);
      this.sketchUsed = false;
      this.windowEnds = now + 60_000;
    }
    const client = clientKey(address);
    const known = this.counts.get(client);
    const count = known !== undefined || this.counts.size < this.maxClients ? (known ?? 0) + 1 : this.countInSketch(client);
    if (count > this.perMinute) return Math.max(1, Math.ceil((this.windowEnds - now) / 1000));
    if (known !== undefined || this.counts.size < this.maxClients) this.counts.set(client, count);
    return 0;
  }

  /** Clients counted exactly in this window. */
  trackedClients(): number {
    return this.counts.size;
  }

  /** Count one more request of `client` in the sketch; its estimate (the lowest of its counters). */
  private countInSketch(client: string): number {
    this.sketchUsed = true;
    let estimate = Infinity;
    for (let row = 0; row < SKETCH_ROWS; row++) {
      const index = row * SKETCH_WIDTH + (hash(client, row) & (SKETCH_WIDTH - 1));
      const value = Math.min(this.sketch[index]! + 1, 0xffffffff);
      this.sketch[index] = value;
      estimate = Math.min(estimate, value);
    }
    return estimate;
  }
}

/** FNV-1a with a seed per row. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** The key a client is counted under: the IPv4 address, or the /64 of an IPv6 address. */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros. */
function expandIPv6(address: string): string[] {
  const withoutZone = address.split('%')[0]!;
  const [head, tail] = withoutZone.includes('::') ? withoutZone.split('::') : [withoutZone, undefined];
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  // An embedded IPv4 address (::ffff:0:1.2.3.4 and the like) takes two groups.
  const last = right.length ? right : left;
  if (last.length && last[last.length - 1]!.includes('.')) {
    const [a, b, c, d] = last.pop()!.split('.').map(Number);
    last.push(((a! << 8) | b!).toString(16), ((c! << 8) | d!).toString(16));
  }
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => (g.replace(/^0+(?=.)/, '') || '0').toLowerCase());
}
