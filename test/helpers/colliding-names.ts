/**
 * Domain names of one length that share a 32-bit FNV-1a hash (the hash of
 * the domain indexes), so that a test reaches the comparison of the names
 * themselves: a birthday search, about 2^16 names a pair.
 */
import { domainHash } from '../../src/catalog/packed-index.js';

/** `pairs` pairs of different names of `length` octets, the two of a pair with one hash. */
export function collidingPairs(length: number, pairs = 1): [string, string][] {
  const seen = new Map<number, string>();
  const found: [string, string][] = [];
  for (let k = 0; found.length < pairs; k++) {
    const name = `${k}.example`.padStart(length, 'x');
    const h = domainHash(name);
    const other = seen.get(h);
    if (other === undefined) seen.set(h, name);
    else found.push([other, name]);
  }
  return found;
}
