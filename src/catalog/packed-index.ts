/**
 * The domain index of a catalog as two typed arrays: the domains' records
 * one after another, and an open-addressing hash table of their hashes and
 * places. Built once per load (in the reload worker for reloads, handed over
 * without a copy as transferred ArrayBuffers), it costs the event loop
 * nothing to take in and the garbage collector nothing to scan: a Map of a
 * million domains built on the main thread paused it for 35-85 ms at a time
 * (measured, even in slices), most of it marking and compacting a million
 * small strings, and kept 70 MiB more on the heap (docs/performance.md).
 *
 * Laid out for the fewest memory reads per lookup, since with a hoster's
 * million domains each read is a cache miss: a slot holds the domain's full
 * hash beside its record's place, so a probe past other domains' slots reads
 * only the table, and the record holds the domain's length, provider and
 * bytes together. A lookup that misses reads the table (one cache line,
 * usually); one that finds reads the table and the record.
 */
import type { Provider } from './model.js';

export interface PackedDomains {
  /** Per domain: its length (1 byte), its provider's index (4 bytes, little-endian), its ASCII bytes. */
  readonly records: Uint8Array;
  /** Two words per slot: the domain's hash, and 1 + its record's offset (0: an empty slot). The slot count is a power of two. */
  readonly table: Uint32Array;
  readonly count: number;
}

const HEADER = 5;

/** FNV-1a over the characters (the domains are ASCII): the hash of every domain index. */
export function domainHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Pack the domains of providers whose domains do not overlap (assembleCatalog's result): normalised, so ASCII and at most 253 characters. */
export function packDomains(providers: readonly Provider[]): PackedDomains {
  let count = 0;
  let length = 0;
  for (const provider of providers) {
    count += provider.domains.length;
    for (const domain of provider.domains) {
      if (domain.length > 255) throw new Error(`domain index: ${domain.slice(0, 40)}... is longer than a domain name can be`);
      length += HEADER + domain.length;
    }
  }
  const records = new Uint8Array(length);
  // At most half the slots in use: a miss then reads about two slots, in one cache line.
  let slots = 2;
  while (slots < count * 2) slots *= 2;
  const table = new Uint32Array(slots * 2);
  const mask = slots - 1;
  let at = 0;
  providers.forEach((provider, owner) => {
    for (const domain of provider.domains) {
      records[at] = domain.length;
      records[at + 1] = owner & 0xff;
      records[at + 2] = (owner >>> 8) & 0xff;
      records[at + 3] = (owner >>> 16) & 0xff;
      records[at + 4] = owner >>> 24;
      for (let j = 0; j < domain.length; j++) records[at + HEADER + j] = domain.charCodeAt(j);
      const h = domainHash(domain);
      let slot = h & mask;
      while (table[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
      table[slot * 2] = h;
      table[slot * 2 + 1] = at + 1;
      at += HEADER + domain.length;
    }
  });
  return { records, table, count };
}

/** The provider index of `domain`, or -1. */
export function lookupPacked(index: PackedDomains, domain: string): number {
  const { records, table } = index;
  const mask = (table.length >>> 1) - 1;
  const h = domainHash(domain);
  for (let slot = h & mask; ; slot = (slot + 1) & mask) {
    const place = table[slot * 2 + 1]!;
    if (place === 0) return -1;
    if (table[slot * 2] !== h) continue;
    const at = place - 1;
    if (records[at] !== domain.length) continue;
    let same = true;
    for (let j = 0; j < domain.length; j++) {
      if (records[at + HEADER + j] !== domain.charCodeAt(j)) {
        same = false;
        break;
      }
    }
    if (same) return ownerAt(records, at);
  }
}

function ownerAt(records: Uint8Array, at: number): number {
  return (records[at + 1]! | (records[at + 2]! << 8) | (records[at + 3]! << 16) | (records[at + 4]! << 24)) >>> 0;
}

/** The domains of provider `owner`, in order (they are packed provider by provider). */
export function domainsOf(index: PackedDomains, owner: number): string[] {
  const { records } = index;
  const domains: string[] = [];
  const decoder = new TextDecoder('latin1');
  for (let at = 0; at < records.length; at += HEADER + records[at]!) {
    if (ownerAt(records, at) === owner) domains.push(decoder.decode(records.subarray(at + HEADER, at + HEADER + records[at]!)));
  }
  return domains;
}
