/** The provider key `lookup` (issue 22): its model, defaults and problems at file:line:column. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { formatProblem } from '../src/catalog/problems.js';
import { expectLoadError } from './helpers/problems.js';

const dir = mkdtempSync(join(tmpdir(), 'lookup-keys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ldap-password'), 'secret\n');
writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
writeFileSync(join(dir, 'logins.sqlite'), '');
const file = join(dir, 'company.yaml');

const SERVERS = `incoming:
  - { type: imap, host: imap.company.example }
outgoing:
  - { host: smtp.company.example }
`;
const LDAP = `id: company
name: Company Mail
domains: [company.example]
lookup:
  ldap:
    url: ldaps://ldap.company.example
    bindDn: cn=autoconfig,ou=services,dc=company,dc=example
    passwordFile: ldap-password
    baseDn: ou=people,dc=company,dc=example
    filter: (|(mail=%EMAILADDRESS%)(mailAlternateAddress=%EMAILADDRESS%))
    loginAttribute: uid
    displayNameAttribute: displayName
    caFile: ca.pem
${SERVERS}`;
const POSTGRES = `id: company
name: Company Mail
domains: [company.example]
lookup:
  sql:
    connection: postgresql://autoconfig@127.0.0.1:5432/mail
    passwordEnv: MAIL_DB_PASSWORD
    query: SELECT login, full_name FROM mailboxes WHERE address = $1
    timeoutSeconds: 0.5
  cache: { ttlSeconds: 120, maxEntries: 500 }
${SERVERS}`;
const SQLITE = `id: company
name: Company Mail
domains: [company.example]
lookup:
  sql:
    connection: sqlite:logins.sqlite
    query: SELECT login FROM mailboxes WHERE address = ?
${SERVERS}`;

const expectError = (t: Test, text: string, line: number, column: number, pattern: RegExp): void => expectLoadError(t, file, text, line, column, pattern);

t.test('an LDAP lookup loads with absolute paths and the default cache and timeout', async (t) => {
  const { provider, problems } = loadProvider(file, LDAP);
  t.same(problems.map(formatProblem), []);
  t.same(provider?.lookup, {
    directory: {
      kind: 'ldap',
      url: 'ldaps://ldap.company.example',
      startTls: false,
      bindDn: 'cn=autoconfig,ou=services,dc=company,dc=example',
      password: { file: join(dir, 'ldap-password') },
      baseDn: 'ou=people,dc=company,dc=example',
      filter: '(|(mail=%EMAILADDRESS%)(mailAlternateAddress=%EMAILADDRESS%))',
      loginAttribute: 'uid',
      displayNameAttribute: 'displayName',
      caFile: join(dir, 'ca.pem'),
    },
    cache: { ttlSeconds: 300, negativeTtlSeconds: 60, maxEntries: 10000 },
    timeoutSeconds: 2,
  });
});

t.test('a PostgreSQL lookup keeps the variable name, not its value; cache keys override the defaults one by one', async (t) => {
  const { provider, problems } = loadProvider(file, POSTGRES);
  t.same(problems.map(formatProblem), []);
  t.same(provider?.lookup, {
    directory: { kind: 'postgresql', connection: 'postgresql://autoconfig@127.0.0.1:5432/mail', password: { env: 'MAIL_DB_PASSWORD' }, query: 'SELECT login, full_name FROM mailboxes WHERE address = $1' },
    cache: { ttlSeconds: 120, negativeTtlSeconds: 60, maxEntries: 500 },
    timeoutSeconds: 0.5,
  });
});

t.test('a SQLite lookup names its file relative to the YAML', async (t) => {
  const { provider, problems } = loadProvider(file, SQLITE);
  t.same(problems.map(formatProblem), []);
  t.same(provider?.lookup?.directory, { kind: 'sqlite', file: join(dir, 'logins.sqlite'), query: 'SELECT login FROM mailboxes WHERE address = ?' });
});

t.test('a provider without lookup has none', async (t) => {
  const { provider } = loadProvider(file, LDAP.replace(/lookup:\n(  .*\n)+/, ''));
  t.ok(provider);
  t.equal(provider?.lookup, undefined);
});

t.test('problems of the lookup keys name line and column', async (t) => {
  t.test('missing password file', async (t) =>
    expectError(t, LDAP.replace('passwordFile: ldap-password', 'passwordFile: gone'), 8, 19, /password file .*gone does not exist/));
  t.test('missing CA file', async (t) =>
    expectError(t, LDAP.replace('caFile: ca.pem', 'caFile: nope.pem'), 13, 13, /CA file .*nope\.pem does not exist/));
  t.test('missing SQLite file', async (t) =>
    expectError(t, SQLITE.replace('sqlite:logins.sqlite', 'sqlite:missing.sqlite'), 6, 17, /SQLite database .*missing\.sqlite does not exist/));
  t.test('no password for the bind', async (t) =>
    expectError(t, LDAP.replace('    passwordFile: ldap-password\n', ''), 5, 3, /needs a password: give passwordFile or passwordEnv/));
  t.test('both password sources', async (t) =>
    expectError(t, LDAP.replace('    passwordFile: ldap-password\n', '    passwordFile: ldap-password\n    passwordEnv: LDAP_PASSWORD\n'), 9, 5, /passwordFile or passwordEnv, not both/));
  t.test('neither ldap nor sql', async (t) =>
    expectError(t, LDAP.replace(/  ldap:\n(    .*\n)+/, '  cache: { ttlSeconds: 10 }\n'), 4, 1, /give ldap or sql/));
  t.test('both ldap and sql', async (t) =>
    expectError(t, LDAP.replace('lookup:\n', 'lookup:\n  sql: { connection: "sqlite:logins.sqlite", query: "SELECT 1 WHERE ? = 1" }\n'), 4, 1, /not both/));
  t.test('a URL that is not LDAP', async (t) =>
    expectError(t, LDAP.replace('ldaps://ldap.company.example', 'https://ldap.company.example'), 6, 10, /url must be ldap:\/\/host\[:port\] or ldaps:\/\//));
  t.test('startTls on ldaps', async (t) =>
    expectError(t, LDAP.replace('    bindDn:', '    startTls: true\n    bindDn:'), 7, 15, /startTls upgrades an ldap:\/\/ connection/));
  t.test('a filter without the address', async (t) =>
    expectError(t, LDAP.replace(/filter: .*/, 'filter: (objectClass=person)'), 10, 13, /no placeholder/));
  t.test('an unknown placeholder in the filter', async (t) =>
    expectError(t, LDAP.replace(/filter: .*/, 'filter: (mail=%EMAIL%)'), 10, 13, /unknown placeholder "%EMAIL%"/));
  t.test('an unbalanced filter', async (t) =>
    expectError(t, LDAP.replace(/filter: .*/, 'filter: (|(mail=%EMAILADDRESS%)(uid=%EMAILLOCALPART%)'), 10, 13, /balanced parentheses/));
  t.test('two filters side by side', async (t) =>
    expectError(t, LDAP.replace(/filter: .*/, 'filter: (mail=%EMAILADDRESS%)(uid=x)'), 10, 13, /balanced parentheses/));
  t.test('a login attribute that is no attribute name', async (t) =>
    expectError(t, LDAP.replace('loginAttribute: uid', 'loginAttribute: "uid,cn"'), 11, 21, /loginAttribute must be an LDAP attribute name/));
  t.test('a password in the PostgreSQL URL', async (t) =>
    expectError(t, POSTGRES.replace('autoconfig@', 'autoconfig:hunter2@'), 6, 17, /must not contain the password/));
  t.test('a connection that is neither PostgreSQL nor SQLite', async (t) =>
    expectError(t, POSTGRES.replace('postgresql://', 'mysql://'), 6, 17, /connection must be a postgresql:\/\/ URL .* or sqlite:<path>/));
  t.test('SQLite placeholders in a PostgreSQL query', async (t) =>
    expectError(t, POSTGRES.replace('$1', '?'), 8, 12, /PostgreSQL takes the address as \$1, not \?/));
  t.test('a second parameter', async (t) =>
    expectError(t, POSTGRES.replace('= $1', '= $1 AND domain = $2'), 8, 12, /one parameter only/));
  t.test('PostgreSQL placeholders in a SQLite query', async (t) =>
    expectError(t, SQLITE.replace('= ?', '= $1'), 7, 12, /SQLite takes the address as \?, not \$1/));
  t.test('a password for SQLite', async (t) =>
    expectError(t, SQLITE.replace('    query:', '    passwordEnv: X\n    query:'), 7, 5, /SQLite file has no password/));
  t.test('a timeout out of bounds', async (t) =>
    expectError(t, POSTGRES.replace('timeoutSeconds: 0.5', 'timeoutSeconds: 60'), 9, 21, /60 is outside 0\.05–30/));
  t.test('an unknown cache key', async (t) =>
    expectError(t, POSTGRES.replace('maxEntries: 500', 'maxEntrys: 500'), 10, 29, /unknown key "maxEntrys" .*did you mean "maxEntries"/));
});

t.test('plain ldap:// to another host is a warning: the bind password would travel unencrypted', async (t) => {
  const { provider, problems } = loadProvider(file, LDAP.replace('ldaps://', 'ldap://').replace('    caFile: ca.pem\n', ''));
  t.ok(provider, 'still loads');
  t.match(problems.map(formatProblem), [/:6:10: warning: .*unencrypted to ldap\.company\.example/]);
  const loopback = loadProvider(file, LDAP.replace('ldaps://ldap.company.example', 'ldap://127.0.0.1:3389').replace('    caFile: ca.pem\n', ''));
  t.same(loopback.problems, [], 'not on loopback');
});
