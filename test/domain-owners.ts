/**
 * The index of the hosters' database lists (one per provider): one probe
 * finds the list naming a domain, with the answer a scan of the lists in
 * registration order would give, also after lists change and go.
 */
import fc from 'fast-check';
import t from 'tap';
import { DomainOwners } from '../src/sources/domain-owners.js';
import { PackedList } from '../src/sources/packed-list.js';
import { collidingPairs } from './helpers/colliding-names.js';
import { figure } from './helpers/figures.js';
import { collectGarbage } from './helpers/gc.js';

t.test('a domain belongs to the earliest registered list naming it; the next takes over when it drops it', async (t) => {
  const owners = new DomainOwners<string>();
  owners.set('a', ['x.example', 'a.example']);
  owners.set('b', ['x.example', 'b.example']);
  t.equal(owners.get('x.example'), 'a');
  t.equal(owners.get('b.example'), 'b');
  t.equal(owners.get('nowhere.example'), undefined);

  owners.set('a', ['a.example']);
  t.equal(owners.get('x.example'), 'b', 'a dropped it: b has it');
  owners.set('a', ['a.example', 'x.example']);
  t.equal(owners.get('x.example'), 'a', 'a lists it again: back to a, registered first');

  owners.delete('a');
  t.equal(owners.get('x.example'), 'b');
  t.equal(owners.get('a.example'), undefined);
  owners.set('a', ['x.example']);
  t.equal(owners.get('x.example'), 'b', 'registered again, a comes last');

  owners.set('b', []);
  t.equal(owners.get('x.example'), 'a');
  owners.set('c', ['c.example', 'c.example']);
  t.equal(owners.get('c.example'), 'c', 'a name twice in one list is one name');
  owners.set('c', []);
  t.equal(owners.get('c.example'), undefined);
  owners.clear();
  t.equal(owners.get('x.example'), undefined);
});

/**
 * Three pairs of names of one length and one 32-bit hash: the index must
 * tell them apart by the names, kept in the slot (up to 19 octets) or read
 * from the record (longer), also when one of a pair is shared by several lists.
 */
const COLLIDING = [...collidingPairs(15, 2), ...collidingPairs(24)].flat();
for (const { name, names, maxLength, runs } of [
  { name: '12 names, lists of up to 8', names: Array.from({ length: 12 }, (_, i) => `d${i}.example`), maxLength: 8, runs: 2000 },
  { name: '200 names and three pairs of the same hash, lists of up to 120 (the table grows, shrinks and rehashes)', names: [...COLLIDING, ...Array.from({ length: 194 }, (_, i) => `d${i}.example`)], maxLength: 120, runs: 300 },
]) {
  t.test(`the same answers as a scan of the lists in order, through any sequence of changes: ${name}`, async (t) => {
    const domain = fc.constantFrom(...names);
    const owner = fc.constantFrom('p0', 'p1', 'p2', 'p3');
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), owner, domains: fc.array(domain, { maxLength }), packed: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), owner }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const owners = new DomainOwners<string>();
        // The model: the lists in registration order.
        let lists: { owner: string; domains: Set<string> }[] = [];
        for (const op of operations) {
          if (op.kind === 'delete') {
            owners.delete(op.owner);
            lists = lists.filter((l) => l.owner !== op.owner);
          } else {
            owners.set(op.owner, op.packed ? PackedList.of(op.domains) : op.domains);
            const list = lists.find((l) => l.owner === op.owner);
            if (list) list.domains = new Set(op.domains);
            else lists.push({ owner: op.owner, domains: new Set(op.domains) });
          }
          for (const name of names) if (owners.get(name) !== lists.find((l) => l.domains.has(name))?.owner) return false;
          if (owners.size !== new Set(lists.flatMap((l) => [...l.domains])).size) return false;
        }
        return true;
      }),
      { numRuns: runs },
    );
    t.pass(`${runs} random sequences agree with the scan`);
  });
}

t.test('2,000 lists of 500 domains: every domain found, by its own list; memory per domain measured', async (t) => {
  collectGarbage();
  const before = process.memoryUsage().arrayBuffers;
  const owners = new DomainOwners<number>();
  for (let p = 0; p < 2000; p++) owners.set(p, Array.from({ length: 500 }, (_, j) => `kunde${j * 2000 + p}.example`));
  // The lists and the table are buffers outside the heap; the tables the growth left behind go with a collection.
  collectGarbage();
  const perDomain = (process.memoryUsage().arrayBuffers - before) / owners.size;
  let wrong = 0;
  for (let k = 0; k < 1_000_000; k += 7) if (owners.get(`kunde${k}.example`) !== k % 2000) wrong++;
  t.equal(wrong, 0);
  t.equal(owners.get('kunde1000000.example'), undefined);
  // A record of 1 + ~18 octets, and 32-byte slots 40-60 % full.
  t.ok(perDomain < 120, `${perDomain.toFixed(0)} bytes per domain`);
  figure(`database domains' index: 2,000 lists of 500 domains in ${perDomain.toFixed(0)} bytes a domain (lists and table), outside the heap`);
});
