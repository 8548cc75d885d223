/**
 * Log-in names from the provider's directory in every answer (issue 22),
 * through the real `serve` over real HTTP, against a real OpenLDAP, a real
 * PostgreSQL and a SQLite file: the looked-up name in Thunderbird's
 * <username>, Outlook's LoginName (and the person's name as DisplayName),
 * Apple's user names (and EmailAccountName) and the setup page; not found,
 * hostile addresses and a directory that is down give exactly the answer of
 * the same provider without a lookup (a second `serve` of the same file
 * without `lookup`), so no endpoint tells which addresses exist.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as plist from 'plist';
import t, { type Test } from 'tap';
import { figure } from './helpers/figures.js';
import { postgresMissing, startPostgres } from './helpers/postgres.js';
import { spawnServe } from './helpers/process.js';
import { request } from './helpers/server.js';
import { PEOPLE, person, slapdMissing, startSlapd } from './helpers/slapd.js';

const sqlite = await import('better-sqlite3').then((m) => m.default, () => undefined);
const missing = slapdMissing() ?? postgresMissing() ?? (sqlite === undefined ? 'better-sqlite3 (optional dependency) is not built; skipping' : undefined);

/** A hoster whose customers cannot derive their log-in name from the address. */
function hosterYaml(domain: string, lookup: string): string {
  return `id: ${domain.replace(/\./g, '-')}
name: { en: Kunde Hosting }
shortName: Kunde
domains: [${domain}]
username: ask
usernameHint: { en: your account number from the customer menu }
incoming:
  - { type: imap, host: imap.hoster.example }
outgoing:
  - { host: smtp.hoster.example, socketType: starttls }
${lookup}`;
}

/** Requests as each client makes them, for one address. */
const ask = {
  thunderbird: (url: string, address: string, language = 'en') =>
    request(`${url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`, { host: 'autoconfig.example', headers: { 'accept-language': language } }),
  outlook: (url: string, address: string) =>
    request(`${url}/autodiscover/autodiscover.xml`, {
      method: 'POST',
      host: 'autodiscover.example',
      headers: { 'content-type': 'text/xml', 'user-agent': 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)' },
      body: `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
    }),
  apple: (url: string, address: string) => request(`${url}/mobileconfig?emailaddress=${encodeURIComponent(address)}`, { host: 'example' }),
  setup: (url: string, address: string) => request(`${url}/setup?emailaddress=${encodeURIComponent(address)}&lang=en`, { host: 'example' }),
};
type Client = keyof typeof ask;
const CLIENTS = Object.keys(ask) as Client[];

/** What must be equal for two answers to be "the same": status, body, and the headers a client reads. */
function comparable(response: { status: number; headers: Record<string, string>; text: string }): string {
  const { date: _date, etag: _etag, ...headers } = response.headers;
  // The Apple profile's signature-free bytes and Outlook's bytes are deterministic; the ETag covers the
  // same bytes, so it is compared through the body.
  return JSON.stringify({ status: response.status, headers, body: response.text });
}

/** The "sets itself up" line of one client's section of the setup page. */
const autoLine = (html: string, client: string): string => new RegExp(`<section id="client-${client}"[\\s\\S]*?<p class="auto">([\\s\\S]*?)</p>`).exec(html)?.[1] ?? '';
const usernames = (xml: string): string[] => [...xml.matchAll(/<username>([^<]*)<\/username>/g)].map((m) => m[1]!);
const loginNames = (xml: string): string[] => [...xml.matchAll(/<LoginName>([^<]*)<\/LoginName>/g)].map((m) => m[1]!);

t.test('log-in names from LDAP, PostgreSQL and SQLite in every answer', { skip: missing ?? false }, async (t) => {
  const slapd = await startSlapd(t);
  await slapd.add([
    person('u100', ['alice@kunde.example', 'a.smith@kunde.example'], 'Alice Smith'),
    // Thunderbird's JXON would read this log-in name as the number 12345.
    person('012345', ['carol@kunde.example'], 'Carol Zero'),
    // Found by an unescaped "*" or "*)(uid=*".
    person('star', ['*@kunde.example']),
  ].join('\n'));
  const postgres = await startPostgres(t);
  await postgres.sql('CREATE TABLE logins (address text PRIMARY KEY, login text NOT NULL, name text)');
  await postgres.sql("INSERT INTO logins VALUES ('dave@sql.example', 'k-204711', 'Dave Example'), ($1, 'obrien', NULL)", ["o'brien@sql.example"]);

  const folder = mkdtempSync(join(tmpdir(), 'login-names-'));
  const plain = mkdtempSync(join(tmpdir(), 'login-names-plain-'));
  const sqliteFile = join(folder, 'logins.sqlite');
  const db = new sqlite!(sqliteFile);
  db.exec("CREATE TABLE logins (address TEXT PRIMARY KEY, login TEXT NOT NULL); INSERT INTO logins VALUES ('erin@lite.example', 'e-77');");
  db.close();
  writeFileSync(join(folder, 'ldap-password'), `${slapd.bindPassword}\n`, { mode: 0o600 });
  writeFileSync(join(folder, 'pg-password'), postgres.password, { mode: 0o600 });
  const lookups: Record<string, string> = {
    'kunde.example': `lookup:
  ldap:
    url: ${slapd.url}
    bindDn: ${slapd.bindDn}
    passwordFile: ldap-password
    baseDn: ${PEOPLE}
    filter: (&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))
    loginAttribute: uid
    displayNameAttribute: displayName
    timeoutSeconds: 1
  cache: { ttlSeconds: 1, negativeTtlSeconds: 2 }
`,
    'sql.example': `lookup:
  sql:
    connection: ${postgres.url}
    passwordFile: pg-password
    query: SELECT login, name AS "displayName" FROM logins WHERE address = $1
    timeoutSeconds: 1
`,
    'lite.example': `lookup:
  sql:
    connection: sqlite:logins.sqlite
    query: SELECT login FROM logins WHERE address = ?
`,
  };
  for (const [domain, lookup] of Object.entries(lookups)) {
    writeFileSync(join(folder, `${domain}.yaml`), hosterYaml(domain, lookup));
    // The same provider without the lookup: what every answer must be when nothing is found.
    writeFileSync(join(plain, `${domain}.yaml`), hosterYaml(domain, ''));
  }
  const args = (dir: string) => ['--providers', dir, '--port', '0', '--rate-limit', '0'];
  const token = 'metrics-token-for-the-test';
  const served = await spawnServe(t, [...args(folder), '--metrics-token', token]);
  const metric = async (line: RegExp) => {
    const text = (await request(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text;
    return Number(line.exec(text)?.[1] ?? NaN);
  };
  const url = served.urls[0]!;
  const plainUrl = (await spawnServe(t, args(plain))).urls[0]!;

  const withoutLookup = async (client: Client, address: string) => comparable(await ask[client](plainUrl, address));
  const sameAsWithout = async (t: Test, address: string) => {
    for (const client of CLIENTS) {
      const answer = await ask[client](url, address);
      t.equal(comparable(answer), await withoutLookup(client, address), `${client}: ${address} gets the answer of the provider without a lookup`);
    }
  };

  await t.test('found in LDAP: the log-in name in every format, the person\'s name where a format has one', async (t) => {
    const tb = await ask.thunderbird(url, 'alice@kunde.example');
    t.equal(tb.status, 200);
    t.same(usernames(tb.text), ['u100', 'u100'], 'Thunderbird: both servers log in as u100');
    t.notOk(tb.headers.vary?.includes('Accept-Language'), 'no hint in words, so no Vary: Accept-Language');
    const outlook = await ask.outlook(url, 'alice@kunde.example');
    t.equal(outlook.status, 200);
    t.same(loginNames(outlook.text), ['u100', 'u100'], 'Outlook: LoginName of both servers');
    t.match(outlook.text, /<User>\s*<DisplayName>Alice Smith<\/DisplayName>\s*<\/User>\s*<Account>/, 'Outlook: User/DisplayName before Account');
    const apple = await ask.apple(url, 'alice@kunde.example');
    t.equal(apple.status, 200);
    const mail = (plist.parse(apple.text) as { PayloadContent: Record<string, unknown>[] }).PayloadContent.find((p) => p.PayloadType === 'com.apple.mail.managed')!;
    t.equal(mail.IncomingMailServerUsername, 'u100');
    t.equal(mail.OutgoingMailServerUsername, 'u100');
    t.equal(mail.EmailAccountName, 'Alice Smith', 'Apple: the person\'s name as the account name');
    const setup = await ask.setup(url, 'alice@kunde.example');
    t.equal(setup.status, 200);
    t.match(setup.text, /u100/, 'the setup page shows the log-in name');
    t.notMatch(setup.text, /your account number from the customer menu/, 'and no longer asks for the account number');
    t.notMatch(autoLine(setup.text, 'tb'), /Edit configuration/, 'Thunderbird gets the name: nothing to edit');
    t.match(autoLine(setup.text, 'android'), /replace the Username “Enter your user name” with u100/, 'Thunderbird for Android sends no address, so it gets the hint: type u100');
    const aliased = await ask.thunderbird(url, 'a.smith@kunde.example');
    t.same(usernames(aliased.text), ['u100', 'u100'], 'an alias finds the same log-in name');
    t.not(aliased.headers.etag, tb.headers.etag, 'the two addresses have their own validators');
  });

  await t.test('a log-in name Thunderbird would alter is told in words to Thunderbird, sent as it is to the others', async (t) => {
    const tb = await ask.thunderbird(url, 'carol@kunde.example', 'de');
    t.same(usernames(tb.text), ['Benutzernamen eintragen', 'Benutzernamen eintragen'], 'Thunderbird: the hint, in its language');
    t.notMatch(tb.text, /012345|12345/);
    t.same(loginNames((await ask.outlook(url, 'carol@kunde.example')).text), ['012345', '012345'], 'Outlook reads text as text');
    t.match((await ask.apple(url, 'carol@kunde.example')).text, /<key>IncomingMailServerUsername<\/key>\s*<string>012345<\/string>/);
    t.match(autoLine((await ask.setup(url, 'carol@kunde.example')).text, 'tb'), /replace the Username “Enter your user name” with 012345/, 'the setup page tells Thunderbird users to type it');
  });

  await t.test('found in PostgreSQL and in SQLite; quotes are data', async (t) => {
    t.same(usernames((await ask.thunderbird(url, 'dave@sql.example')).text), ['k-204711', 'k-204711']);
    t.match((await ask.outlook(url, 'dave@sql.example')).text, /<DisplayName>Dave Example<\/DisplayName>/);
    t.same(usernames((await ask.thunderbird(url, "o'brien@sql.example")).text), ['obrien', 'obrien'], 'an apostrophe in the address is a parameter, not SQL');
    t.notMatch((await ask.outlook(url, "o'brien@sql.example")).text, /<User>/, 'no name in the directory: no User element');
    t.same(usernames((await ask.thunderbird(url, 'erin@lite.example')).text), ['e-77', 'e-77'], 'SQLite');
  });

  await t.test('not found and hostile addresses: exactly the answer without a lookup', async (t) => {
    for (const address of [
      'nobody@kunde.example',
      // RFC 4515 specials: escaped, they match no entry (an unescaped "*" would find alice or star).
      'al*@kunde.example',
      '"*)(uid=*"@kunde.example',
      '"*)(|(mail=*"@kunde.example',
      // SQL: a parameter, never text of the query.
      `"x'; DROP TABLE logins; --"@sql.example`,
      "\"' OR '1'='1\"@sql.example",
      'nobody@lite.example',
    ]) {
      await sameAsWithout(t, address);
    }
    t.equal((await postgres.sql('SELECT count(*)::int AS n FROM logins')).rows[0].n, 2, 'the table is still there, with its rows');
    t.ok(slapd.searches().some((filter) => filter.includes('\\2a\\29\\28uid=\\2a') || filter.includes('\\2A\\29\\28uid=\\2A')), 'the server got the escaped value');
  });

  await t.test('the directory down: the answer without the name within the timeout, once per period; then back', async (t) => {
    await sleep(1100); // past the found entries' ttl
    await slapd.pause();
    const started = performance.now();
    await sameAsWithout(t, 'alice@kunde.example');
    const ms = performance.now() - started;
    // Four answers: the first waits for the 1 s timeout, the others find the directory down and do not wait.
    t.ok(ms < 1000 + 3 * 250 + 1000, `the four answers took ${ms.toFixed(0)} ms (timeout 1 s, once)`);
    const ready = JSON.parse((await request(`${url}/readyz`)).text) as { status: string; loginLookups: { provider: string; down: boolean; directory?: string }[] };
    t.equal(ready.status, 'degraded', '/readyz says so');
    t.same(ready.loginLookups.find((l) => l.provider === 'kunde-example')?.down, true);
    t.notOk(JSON.stringify(ready).includes(slapd.bindPassword), 'no password in /readyz');
    t.notOk(ready.loginLookups.some((l) => l.directory !== undefined), 'where the directory is: only with the metrics token');
    const full = JSON.parse((await request(`${url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).text) as typeof ready & { loginLookups: { lastError: string | null }[] };
    t.match(full.loginLookups.find((l) => l.provider === 'kunde-example'), { directory: /^ldap ldap:\/\/127\.0\.0\.1/, lastError: /1000 ms/ }, 'with the token: where, and why');
    t.equal(await metric(/^mail_autoconfig_login_directory_down\{provider="kunde-example"\} (\d+)$/m), 1, 'metrics: the directory is down');
    t.ok(await metric(/^mail_autoconfig_login_lookups_total\{provider="kunde-example",event="timeouts"\} (\d+)$/m) >= 1, 'metrics: the timeout counted');
    t.ok(await metric(/^mail_autoconfig_login_lookups_total\{provider="kunde-example",event="skipped_while_down"\} (\d+)$/m) >= 3, 'metrics: the other answers did not ask');
    slapd.resume();
    await sleep(2100); // the down period (negativeTtlSeconds: 2)
    t.same(usernames((await ask.thunderbird(url, 'alice@kunde.example')).text), ['u100', 'u100'], 'the name is back once the directory answers again');
    t.equal(await metric(/^mail_autoconfig_login_directory_down\{provider="kunde-example"\} (\d+)$/m), 0, 'metrics: the directory is up again');
    t.notOk(served.lines.some((line) => line.includes(slapd.bindPassword)), 'no password in the log');
    t.notOk(served.lines.some((line) => line.includes('alice@kunde.example')), 'no address in the log');
    t.ok(served.lines.some((line) => line.includes('the directory answers again')), 'the recovery is logged');
  });

  await t.test('found and not found take about as long (the distributions, printed)', async (t) => {
    // Interleaved, so both see the same floor and the same machine (its speed drifts between minutes).
    const found: number[] = [];
    const notFound: number[] = [];
    const time = async (address: string, into: number[]) => {
      const started = performance.now();
      await ask.thunderbird(url, address);
      into.push(performance.now() - started);
    };
    for (let i = 0; i < 20; i++) await time(`warm${i}@kunde.example`, []);
    for (let i = 0; i < 80; i++) {
      await time(i % 4 < 2 ? 'alice@kunde.example' : 'a.smith@kunde.example', found);
      await time(`nobody${i}@kunde.example`, notFound);
    }
    found.sort((a, b) => a - b);
    notFound.sort((a, b) => a - b);
    const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2);
    const line = (name: string, ms: number[]) => `  ${name.padEnd(28)} p10 ${at(ms, 0.1)}  p50 ${at(ms, 0.5)}  p90 ${at(ms, 0.9)}  max ${at(ms, 1)} ms`;
    figure(['Log-in lookup over HTTP, Thunderbird answer, LDAP on loopback (test/login-names.ts):', line('found (mostly cached)', found), line('not found (new addresses)', notFound)].join('\n'));
    t.equal(found.length, notFound.length, 'both distributions measured');
  });
});
