import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
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
  t.same(index.add('eu', ['*.eu.mx.hoster.example']), []);
  t.same(index.add('other', ['mx.hoster.example']), [{ pattern: 'mx.hoster.example', owner: 'hoster', other: 'other' }]);
  t.equal(index.match('mx.hoster.example'), 'hoster', 'the exact name');
  t.equal(index.match('mx01.mx.hoster.example'), 'hoster', 'one label');
  t.equal(index.match('a.b.mx.hoster.example'), 'hoster', 'two labels');
  t.equal(index.match('mx1.eu.mx.hoster.example'), 'eu', 'the longer suffix wins');
  t.equal(index.match('eu.mx.hoster.example'), 'hoster', '*.eu.… needs a label in front');
  t.equal(index.match('hoster.example'), undefined);
  t.equal(index.match('mx.hoster.example.evil.example'), undefined, 'a suffix, not a substring');
  t.equal(index.match('xmx.hoster.example'), undefined, 'labels, not characters');
});
