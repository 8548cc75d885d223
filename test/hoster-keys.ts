import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildCatalog } from '../src/catalog/catalog.js';
import { loadProvider } from '../src/catalog/load.js';
import { MxPatternIndex } from '../src/catalog/mx-patterns.js';
import { formatProblem } from '../src/catalog/problems.js';
import { expectLoadError } from './helpers/problems.js';

const dir = mkdtempSync(join(tmpdir(), 'hoster-keys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'db-password'), 'secret\n');
writeFileSync(join(dir, 'domains.txt'), 'a.example\n');
const file = join(dir, 'hoster.yaml');

const HOSTER = `id: hoster
name: Hoster Mail
serviceHosts: [autoconfig.HOSTER.example, autodiscover.hoster.example.]
mxPatterns: ["*.mx.hoster.example", mx.hoster.example, "*.MX.Bücher.example"]
domainsFile: domains.txt
domainsQuery:
  connection: postgresql://autoconfig@127.0.0.1:5432/customers
  passwordFile: db-password
  query: SELECT domain FROM mail_domains WHERE active
  listen: mail_domains_changed
incoming:
  - { type: imap, host: imap.hoster.example }
outgoing:
  - { host: smtp.hoster.example }
`;

const expectError = (t: Test, text: string, line: number, column: number, pattern: RegExp): void => expectLoadError(t, file, text, line, column, pattern);

t.test('a hoster without listed domains loads, every key normalised', async (t) => {
  const { provider, problems } = loadProvider(file, HOSTER);
  t.same(problems.map(formatProblem), []);
  t.same(provider?.domains, []);
  t.same(provider?.serviceHosts, ['autoconfig.hoster.example', 'autodiscover.hoster.example']);
  t.same(provider?.mxPatterns, ['*.mx.hoster.example', 'mx.hoster.example', '*.mx.xn--bcher-kva.example']);
  t.equal(provider?.domainsFile, join(dir, 'domains.txt'));
  t.same(provider?.domainsQuery, {
    connection: 'postgresql://autoconfig@127.0.0.1:5432/customers',
    password: { file: join(dir, 'db-password') },
    query: 'SELECT domain FROM mail_domains WHERE active',
    listen: 'mail_domains_changed',
    refreshSeconds: 300,
    timeoutSeconds: 30,
  });
});

t.test('a provider without any source of domains is still an error', async (t) =>
  expectError(t, HOSTER.replace(/^serviceHosts.*\n|^mxPatterns.*\n|^domainsFile.*\n/gm, '').replace(/domainsQuery:\n(  .*\n)+/, ''), 1, 1, /missing required key "domains"/));

t.test('problems of the new keys name line and column', async (t) => {
  t.test('missing password file', async (t) =>
    expectError(t, HOSTER.replace('passwordFile: db-password', 'passwordFile: nope'), 8, 17, /password file .*nope does not exist/));
  t.test('missing domain file', async (t) =>
    expectError(t, HOSTER.replace('domainsFile: domains.txt', 'domainsFile: gone.txt'), 5, 14, /domainsFile .*gone\.txt does not exist/));
  t.test('password in the URL', async (t) =>
    expectError(t, HOSTER.replace('autoconfig@', 'autoconfig:hunter2@'), 7, 15, /must not contain the password/));
  t.test('password as a URL parameter', async (t) =>
    expectError(t, HOSTER.replace('/customers', '/customers?password=x'), 7, 15, /must not contain the password/));
  t.test('not a postgresql URL', async (t) =>
    expectError(t, HOSTER.replace('postgresql://', 'mysql://'), 7, 15, /connection must be a postgresql:\/\/ URL/));
  t.test('both password sources', async (t) =>
    expectError(t, HOSTER.replace('  passwordFile: db-password\n', '  passwordFile: db-password\n  passwordEnv: DB_PASSWORD\n'), 9, 3, /passwordFile or passwordEnv, not both/));
  t.test('refresh interval out of bounds', async (t) =>
    expectError(t, HOSTER.replace('  listen:', '  refreshSeconds: 1\n  listen:'), 10, 19, /1 is outside 10–3600/));
  t.test('channel name that NOTIFY would not take', async (t) =>
    expectError(t, HOSTER.replace('mail_domains_changed', 'Mail Domains'), 10, 11, /listen must be a channel name/));
  t.test('a * inside a pattern', async (t) =>
    expectError(t, HOSTER.replace('mx.hoster.example, "*.MX', 'mx.*.hoster.example, "*.MX'), 4, 37, /\* may only stand for the first label/));
  t.test('a wildcard over a top-level domain', async (t) =>
    expectError(t, HOSTER.replace('"*.mx.hoster.example"', '"*.example"'), 4, 14, /"example" is not a valid host name/));
  t.test('the same pattern twice', async (t) =>
    expectError(t, HOSTER.replace('mx.hoster.example, "*.MX', 'mx.hoster.example, MX.hoster.example., "*.MX'), 4, 56, /listed twice \(as mx\.hoster\.example\)/));
  t.test('an invalid service host', async (t) =>
    expectError(t, HOSTER.replace('autodiscover.hoster.example.', '"auto discover.example"'), 3, 43, /"auto discover.example" is not a valid host name/));
  t.test('an unknown key in domainsQuery', async (t) =>
    expectError(t, HOSTER.replace('  listen:', '  password: x\n  listen:'), 10, 3, /unknown key "password" in domainsQuery/));
});

t.test('MX pattern index: exact names, one or more labels for *, most specific first', async (t) => {
  const index = new MxPatternIndex<string>();
  t.same(index.add('hoster', ['*.mx.hoster.example', 'mx.hoster.example']), []);
  t.match(index.add('eu', ['*.eu.mx.hoster.example']), [{ kind: 'overlap' }], 'kept, and said (below)');
  t.same(index.add('other', ['mx.hoster.example']), [{ pattern: 'mx.hoster.example', owner: 'hoster', other: 'other', held: 'mx.hoster.example', kind: 'same', winner: 'mx.hoster.example' }]);
  t.equal(index.match('mx.hoster.example'), 'hoster', 'the exact name');
  t.equal(index.match('mx01.mx.hoster.example'), 'hoster', 'one label');
  t.equal(index.match('a.b.mx.hoster.example'), 'hoster', 'two labels');
  t.equal(index.match('mx1.eu.mx.hoster.example'), 'eu', 'the longer suffix wins');
  t.equal(index.match('eu.mx.hoster.example'), 'hoster', '*.eu.… needs a label in front');
  t.equal(index.match('hoster.example'), undefined);
  t.equal(index.match('mx.hoster.example.evil.example'), undefined, 'a suffix, not a substring');
  t.equal(index.match('xmx.hoster.example'), undefined, 'labels, not characters');
});

t.test('MX pattern index: patterns of other owners that match some of the same hosts are overlaps', async (t) => {
  const index = new MxPatternIndex<string>();
  t.same(index.add('a', ['*.mx.hoster.example', 'mx.hoster.example', 'relay.hoster.example']), []);
  const overlaps = (owner: string, pattern: string) => index.add(owner, [pattern]).map((c) => `${c.kind} ${c.held} → ${c.winner}`);
  t.same(overlaps('b', 'mx1.mx.hoster.example'), ['overlap *.mx.hoster.example → mx1.mx.hoster.example'], 'an exact name under a wildcard: the exact name wins');
  t.same(overlaps('c', '*.eu.mx.hoster.example'), ['overlap *.mx.hoster.example → *.eu.mx.hoster.example'], 'a wildcard under a wildcard: the longer wins');
  t.same(overlaps('d', '*.hoster.example').sort(), [
    'overlap *.eu.mx.hoster.example → *.eu.mx.hoster.example',
    'overlap *.mx.hoster.example → *.mx.hoster.example',
    'overlap mx.hoster.example → mx.hoster.example',
    'overlap mx1.mx.hoster.example → mx1.mx.hoster.example',
    'overlap relay.hoster.example → relay.hoster.example',
  ], 'a wildcard over what others hold: each of theirs is more specific');
  t.same(overlaps('e', '*.relay.hoster.example'), ['overlap *.hoster.example → *.relay.hoster.example'], '*.s does not match s itself: no overlap with the exact relay.hoster.example');
  t.same(overlaps('a', '*.x.mx.hoster.example'), ['overlap *.hoster.example → *.x.mx.hoster.example'], "an owner's own patterns never conflict, others' still do");
  t.same(overlaps('f', 'mx.other.example'), [], 'elsewhere: nothing');
  t.equal(index.match('mx1.mx.hoster.example'), 'b');
  t.equal(index.match('mx2.mx.hoster.example'), 'a');
  t.equal(index.match('www.hoster.example'), 'd');
});

t.test('a service host or MX pattern another provider claims: an error (a warning for an overlap) at its place; the rest is served', async (t) => {
  const hoster = (id: string, hosts: string, patterns: string) => `id: ${id}
name: ${id} Mail
serviceHosts: ${hosts}
mxPatterns:
  - ${patterns.split(',').join('\n  - ')}
incoming:
  - { type: imap, host: imap.${id}.example }
outgoing:
  - { host: smtp.${id}.example }
`;
  const catalog = buildCatalog([
    { file: 'b.yaml', text: hoster('b', '[autoconfig.b.example, AutoConfig.Hoster.Example.]', '"*.b.example","*.MX.hoster.example",mx1.mx.hoster.example') },
    { file: 'a.yaml', text: hoster('a', '[autoconfig.hoster.example]', '"*.mx.hoster.example"') },
  ]);
  t.same(catalog.providers.map((p) => p.id), ['a', 'b'], 'both are served');
  t.same(catalog.rejectedFiles, []);
  t.same(catalog.problems.map(formatProblem), [
    'b.yaml:3:38: error: service host autoconfig.hoster.example is already claimed by provider a (a.yaml); it stays there, the rest of this file is served',
    'b.yaml:6:5: error: MX pattern *.mx.hoster.example is already claimed by provider a (a.yaml); it stays there, the rest of this file is served',
    'b.yaml:7:5: warning: MX pattern mx1.mx.hoster.example overlaps *.mx.hoster.example of provider a (a.yaml): an MX host both match goes to the more specific, mx1.mx.hoster.example',
  ], 'placed where the name is written, however it is spelt');
  const b = catalog.byId('b')!;
  t.same(b.serviceHosts, ['autoconfig.b.example'], 'the later provider without the name taken');
  t.same(b.mxPatterns, ['*.b.example', 'mx1.mx.hoster.example']);
  t.equal(catalog.byServiceHost('autoconfig.hoster.example')?.id, 'a', 'the first keeps it');
  t.equal(catalog.byServiceHost('autoconfig.b.example')?.id, 'b');
  t.equal(catalog.mxIndex.match('mx7.mx.hoster.example')?.id, 'a');
  t.equal(catalog.mxIndex.match('mx1.mx.hoster.example')?.id, 'b', 'the overlap: the more specific pattern wins');
  t.equal(catalog.mxIndex.match('mx.b.example')?.id, 'b');
});
