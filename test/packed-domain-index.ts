/**
 * The packed domain index every catalog serves from (packed-index.ts): each
 * listed domain finds its provider, nothing else finds one, and each
 * provider's list reads back in order, at a hoster's sizes.
 */
import t from 'tap';
import type { Provider } from '../src/catalog/model.js';
import { domainHash, domainsOf, lookupPacked, packDomains } from '../src/catalog/packed-index.js';
import { collidingPairs } from './helpers/colliding-names.js';
import { figure } from './helpers/figures.js';

/** Providers with only the field the index reads. */
const providers = (lists: readonly (readonly string[])[]): Provider[] => lists.map((domains) => ({ domains }) as unknown as Provider);

t.test('each domain finds its provider; near misses find none', async (t) => {
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.example`.slice(0, 253);
  const lists = [['example.com', 'example.net'], [], ['a.b', long], ['xn--bcher-kva.example']];
  const index = packDomains(providers(lists));
  t.equal(index.count, 5);
  lists.forEach((domains, owner) => {
    for (const domain of domains) t.equal(lookupPacked(index, domain), owner, `${domain.slice(0, 30)} → provider ${owner}`);
  });
  for (const absent of ['example.org', 'example.co', 'example.comm', 'xample.com', 'Example.com', 'b.a', '', `${long.slice(0, -1)}x`, 'bücher.example']) {
    t.equal(lookupPacked(index, absent), -1, `${JSON.stringify(absent.slice(0, 30))} finds no provider`);
  }
});

t.test('an empty catalog finds nothing', async (t) => {
  const index = packDomains(providers([[], []]));
  t.equal(index.count, 0);
  t.equal(lookupPacked(index, 'example.com'), -1);
  t.same(domainsOf(index, 0), []);
});

t.test('a hoster\'s size: 200,000 domains over 70,000 providers (indices past 16 bits)', async (t) => {
  const count = 200_000;
  const lists: string[][] = Array.from({ length: 70_000 }, () => []);
  for (let k = 0; k < count; k++) lists[(k * 7) % lists.length]!.push(`kunde${k}.example`);
  const index = packDomains(providers(lists));
  t.equal(index.count, count);
  let wrong = 0;
  for (let k = 0; k < count; k++) if (lookupPacked(index, `kunde${k}.example`) !== (k * 7) % lists.length) wrong++;
  t.equal(wrong, 0, 'every domain finds its provider');
  let found = 0;
  for (let k = count; k < 2 * count; k++) if (lookupPacked(index, `kunde${k}.example`) !== -1) found++;
  t.equal(found, 0, 'no unlisted domain finds one');
  t.same(domainsOf(index, 69_999), lists[69_999], 'the last provider\'s list, in order');
  t.same(domainsOf(index, 3), lists[3], 'another provider\'s list, in order');
  t.ok(index.count <= 0.6 * index.slots, 'at most 60 % of the slots in use');
  t.equal(index.table.length, 8 * index.slots, 'eight words a slot');
  const perDomain = (index.records.byteLength + index.table.byteLength) / count;
  // 32-byte slots at most 60 % full, and a record of 5 + ~16 octets.
  t.ok(perDomain < 80, `${perDomain.toFixed(0)} bytes per domain`);
  figure(`packed domain index: ${count.toLocaleString('en')} domains in ${perDomain.toFixed(0)} bytes each (table ${(index.table.byteLength / count).toFixed(0)}, records ${(index.records.byteLength / count).toFixed(0)}), outside the heap`);
});

t.test('a name longer than any domain name is refused, not cut', async (t) => {
  t.throws(() => packDomains(providers([['x'.repeat(256)]])), /longer than a domain name can be/);
});

t.test('a name is compared whole, in its slot (up to 24 octets) or in its record (longer)', async (t) => {
  for (const length of [11, 24, 25, 60]) {
    const [first, second] = collidingPairs(length)[0]!;
    t.equal(domainHash(first), domainHash(second), `${first} and ${second} share a hash`);
    const one = packDomains(providers([[first]]));
    t.equal(lookupPacked(one, first), 0, `${length} octets: the listed name is found`);
    t.equal(lookupPacked(one, second), -1, `${length} octets: the other name with its hash is not`);
    const both = packDomains(providers([[first], [second]]));
    t.equal(lookupPacked(both, first), 0);
    t.equal(lookupPacked(both, second), 1, `${length} octets: each of two names with one hash finds its own provider`);
    t.same(domainsOf(both, 1), [second]);
  }
});
