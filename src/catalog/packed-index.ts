/**
 * The domain index of a catalog as two typed arrays: the domains' records
 * one after another, and an open-addressing hash table (linear probing) of
 * their hashes, providers and names. Built once per load (in the reload worker for reloads, handed over
 * without a copy as transferred ArrayBuffers), it costs the event loop
 * nothing to take in and the garbage collector nothing to scan: a Map of a
 * million domains built on the main thread paused it for 35-85 ms at a time
 * (measured, even in slices), most of it marking and compacting a million
 * small strings, and kept 70 MiB more on the heap (docs/performance.md).
 *
 * Laid out for the fewest page-table walks per lookup, since with a
 * hoster's million domains each read is a cache miss, and on this kind of
 * machine (nested paging under a hypervisor) a miss inside a request costs
 * about 1 µs, not the 0.2 µs of a loop (docs/performance.md, "the index's
 * second memory read"). A 32-byte slot (two per cache line) holds the
 * domain's hash, its provider, its length and, for a name of up to 24
 * octets (most domains), the name itself: a lookup that finds such a name,
 * and one that misses, reads the table alone. A longer name's slot holds
 * its record's place instead. The records (length, provider, octets; in
 * provider order) are kept for those and for each provider's list.
 */
import type { Provider } from './model.js';

export interface PackedDomains {
  /** Per domain, in provider order: its length (1 byte), its provider's index (4 bytes, little-endian), its ASCII bytes. */
  readonly records: Uint8Array;
  /**
   * Eight words (32 bytes) per slot: the domain's hash; its length << 24 | its
   * provider's index (0: an empty slot, as no domain is empty); then its
   * octets when it has at most INLINE, else its record's offset.
   */
  readonly table: Uint32Array;
  /** The table's octets (the same buffer), for the names kept in it. */
  readonly tableOctets: Uint8Array;
  readonly slots: number;
  readonly count: number;
}

const HEADER = 5;
const SLOT_WORDS = 8;
const SLOT_OCTETS = 32;
/** Octets of a name kept in its slot: the slot's last 24. */
const INLINE = 24;
const NAME_AT = 8;
/** Provider indices in a slot's 24 bits. */
const MAX_PROVIDERS = 1 << 24;
/** At most this share of the slots in use: a hit then reads about 1.8 slots and a miss 3.6, mostly in one cache line. */
const MAX_LOAD = 0.6;

/**
 * A hash's home slot among `slots` (any number, so the table grows with the
 * domains, not in doublings): the hash's share of 2^32 scaled to the slots,
 * from FNV-1a's better-mixed high bits. The product stays below 2^53 up to
 * 2^21 slots, and beyond that rounds the same way in every process.
 */
export function homeSlot(h: number, slots: number): number {
  return Math.floor((h * slots) / 4294967296);
}

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
  if (providers.length > MAX_PROVIDERS) throw new Error(`domain index: ${providers.length} providers, more than the ${MAX_PROVIDERS} a slot can name`);
  const records = new Uint8Array(length);
  const slots = Math.max(2, Math.ceil(count / MAX_LOAD));
  const table = new Uint32Array(slots * SLOT_WORDS);
  const tableOctets = new Uint8Array(table.buffer);
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
      let slot = homeSlot(h, slots);
      while (table[slot * SLOT_WORDS + 1] !== 0) if (++slot === slots) slot = 0;
      const word = slot * SLOT_WORDS;
      table[word] = h;
      table[word + 1] = ((domain.length << 24) | owner) >>> 0;
      if (domain.length <= INLINE) {
        const name = slot * SLOT_OCTETS + NAME_AT;
        for (let j = 0; j < domain.length; j++) tableOctets[name + j] = domain.charCodeAt(j);
      } else {
        table[word + 2] = at;
      }
      at += HEADER + domain.length;
    }
  });
  return { records, table, tableOctets, slots, count };
}

/** The provider index of `domain`, or -1. */
export function lookupPacked(index: PackedDomains, domain: string): number {
  const { table, tableOctets, slots } = index;
  const h = domainHash(domain);
  const length = domain.length;
  for (let slot = homeSlot(h, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
    const word = slot * SLOT_WORDS;
    const held = table[word + 1]!;
    if (held === 0) return -1;
    if (table[word] !== h || held >>> 24 !== length) continue;
    const same = length <= INLINE
      ? sameOctets(tableOctets, slot * SLOT_OCTETS + NAME_AT, domain)
      : sameOctets(index.records, table[word + 2]! + HEADER, domain);
    if (same) return held & (MAX_PROVIDERS - 1);
  }
}

/** Whether the octets at `at` spell `domain` (its length is checked already): the name comparison of every domain index. */
export function sameOctets(octets: Uint8Array, at: number, domain: string): boolean {
  for (let j = 0; j < domain.length; j++) if (octets[at + j] !== domain.charCodeAt(j)) return false;
  return true;
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
