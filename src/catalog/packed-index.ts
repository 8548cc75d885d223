/**
 * The domain index of a large catalog as four typed arrays: the domains'
 * bytes, where each starts, which provider owns it, and an open-addressing
 * hash table. Built in the reload worker and handed over without a copy
 * (transferred ArrayBuffers), it costs the event loop nothing to take in
 * and the garbage collector nothing to scan: a Map of a million domains
 * built on the main thread paused it for 35-85 ms at a time (measured, even
 * in slices), most of it marking and compacting a million small strings.
 */
import type { Provider } from './model.js';

export interface PackedDomains {
  /** Every domain, ASCII, one after another. */
  readonly bytes: Uint8Array;
  /** Domain i is bytes[starts[i], starts[i + 1]). */
  readonly starts: Uint32Array;
  /** The index (in the catalog's provider list) of domain i's provider. */
  readonly owners: Uint32Array;
  /** Slots of i + 1, 0 for empty; its length is a power of two. */
  readonly table: Uint32Array;
}

/** FNV-1a over the characters (the domains are ASCII). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Pack the domains of providers whose domains do not overlap (assembleCatalog's result). */
export function packDomains(providers: readonly Provider[]): PackedDomains {
  let count = 0;
  let length = 0;
  for (const provider of providers) {
    count += provider.domains.length;
    for (const domain of provider.domains) length += domain.length;
  }
  const bytes = new Uint8Array(length);
  const starts = new Uint32Array(count + 1);
  const owners = new Uint32Array(count);
  let size = 1;
  while (size < count * 2) size *= 2;
  const table = new Uint32Array(size);
  const mask = size - 1;
  let i = 0;
  let at = 0;
  providers.forEach((provider, owner) => {
    for (const domain of provider.domains) {
      starts[i] = at;
      at += writeAscii(bytes, at, domain);
      owners[i] = owner;
      let slot = hash(domain) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = i + 1;
      i++;
    }
  });
  starts[count] = at;
  return { bytes, starts, owners, table };
}

function writeAscii(bytes: Uint8Array, at: number, text: string): number {
  for (let j = 0; j < text.length; j++) bytes[at + j] = text.charCodeAt(j);
  return text.length;
}

/** The owner index of `domain`, or -1. */
export function lookupPacked(index: PackedDomains, domain: string): number {
  const { bytes, starts, owners, table } = index;
  const mask = table.length - 1;
  let slot = hash(domain) & mask;
  for (;;) {
    const entry = table[slot]!;
    if (entry === 0) return -1;
    const start = starts[entry - 1]!;
    const end = starts[entry]!;
    if (end - start === domain.length) {
      let same = true;
      for (let j = 0; j < domain.length; j++) {
        if (bytes[start + j] !== domain.charCodeAt(j)) {
          same = false;
          break;
        }
      }
      if (same) return owners[entry - 1]!;
    }
    slot = (slot + 1) & mask;
  }
}

/** The domains of provider `owner`, in order (they are packed provider by provider). */
export function domainsOf(index: PackedDomains, owner: number): string[] {
  const domains: string[] = [];
  const decoder = new TextDecoder('latin1');
  for (let i = 0; i < index.owners.length; i++) {
    if (index.owners[i] === owner) domains.push(decoder.decode(index.bytes.subarray(index.starts[i]!, index.starts[i + 1]!)));
  }
  return domains;
}

