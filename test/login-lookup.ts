/**
 * The log-in lookup in front of a directory (issue 22): it never rejects and
 * never outlasts the timeout, caches found and not found, coalesces
 * concurrent lookups, leaves a failed directory alone for a period, and lets
 * an answer take as long found as not found. First against a spy directory
 * (exact counts), then against a real slapd (searches counted by the server),
 * with the timing of found against not found printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { lookup as lookupCommand } from '../src/cli/lookup.js';
import { UsageError } from '../src/cli/options.js';
import { DirectoryAnswerError, type LoginDirectory, type LoginName } from '../src/directory/directory.js';
import { createLoginLookup, LoginLookup, type LoginLookupOptions } from '../src/directory/lookup.js';
import { figure } from './helpers/figures.js';
import { PEOPLE, person, slapdSuite } from './helpers/slapd.js';

/** A directory whose every answer the test decides, counting the questions. */
class SpyDirectory implements LoginDirectory {
  readonly description = 'spy';
  readonly asked: string[] = [];
  behaviour: (address: string) => Promise<LoginName | undefined> = async (address) => (address.startsWith('known') ? { login: `login-of-${address}` } : undefined);
  find(address: string): Promise<LoginName | undefined> {
    this.asked.push(address);
    return this.behaviour(address);
  }
  async close(): Promise<void> {}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lookupOver(directory: LoginDirectory, overrides: Partial<LoginLookupOptions> = {}): LoginLookup {
  return new LoginLookup({ name: 'lookup of test.yaml', directory, timeoutMs: 200, ttlMs: 60_000, negativeTtlMs: 60_000, maxEntries: 100, ...overrides });
}

t.test('a second lookup of an address is answered from the cache, found and not found alike', async (t) => {
  const spy = new SpyDirectory();
  const lookup = lookupOver(spy);
  t.same(await lookup.find('known@example.com'), { login: 'login-of-known@example.com' });
  t.same(await lookup.find('known@example.com'), { login: 'login-of-known@example.com' });
  t.equal(await lookup.find('nobody@example.com'), undefined);
  t.equal(await lookup.find('nobody@example.com'), undefined);
  t.same(spy.asked, ['known@example.com', 'nobody@example.com'], 'two questions for four lookups');
  t.match(lookup.state().counts, { lookups: 4, cacheHits: 2, directoryQueries: 2, found: 1, notFound: 1 });
});

t.test('entries expire: found after ttl, not found after the negative ttl', async (t) => {
  const spy = new SpyDirectory();
  const lookup = lookupOver(spy, { ttlMs: 150, negativeTtlMs: 50 });
  await lookup.find('known@example.com');
  await lookup.find('nobody@example.com');
  await sleep(80);
  await lookup.find('known@example.com');
  await lookup.find('nobody@example.com');
  t.same(spy.asked, ['known@example.com', 'nobody@example.com', 'nobody@example.com'], 'only "not found" was asked again');
  await sleep(100);
  await lookup.find('known@example.com');
  t.equal(spy.asked.length, 4, 'and then "found" too');
});

t.test('the cache is bounded: the least recently used address goes first', async (t) => {
  const spy = new SpyDirectory();
  const lookup = lookupOver(spy, { maxEntries: 2 });
  await lookup.find('known-a@example.com');
  await lookup.find('known-b@example.com');
  await lookup.find('known-a@example.com'); // a is now the most recently used
  await lookup.find('known-c@example.com'); // b goes
  t.equal(lookup.state().cacheEntries, 2);
  await lookup.find('known-a@example.com');
  t.equal(spy.asked.filter((a) => a === 'known-a@example.com').length, 1, 'a stayed');
  await lookup.find('known-b@example.com');
  t.equal(spy.asked.filter((a) => a === 'known-b@example.com').length, 2, 'b was asked again');
});

t.test('concurrent lookups of one address share one question', async (t) => {
  const spy = new SpyDirectory();
  spy.behaviour = async (address) => {
    await sleep(30);
    return { login: address };
  };
  const lookup = lookupOver(spy);
  const answers = await Promise.all(Array.from({ length: 10 }, () => lookup.find('known@example.com')));
  t.same(new Set(answers.map((a) => a?.login)), new Set(['known@example.com']));
  t.equal(spy.asked.length, 1);
  t.equal(lookup.state().counts.coalesced, 9);
});

t.test('never rejects, never outlasts the timeout', async (t) => {
  const spy = new SpyDirectory();
  spy.behaviour = () => new Promise(() => {}); // never answers
  const lookup = lookupOver(spy, { timeoutMs: 150 });
  const started = performance.now();
  t.equal(await lookup.find('known@example.com'), undefined);
  const ms = performance.now() - started;
  t.ok(ms >= 140 && ms < 150 + 100, `answered undefined after ${ms.toFixed(0)} ms (timeout 150)`);
  t.match(lookup.state(), { ok: false, down: true, lastError: 'no answer within 150 ms', counts: { timeouts: 1 } });

  const throwing = new SpyDirectory();
  throwing.behaviour = () => {
    throw new Error('thrown, not rejected');
  };
  t.equal(await lookupOver(throwing).find('known@example.com'), undefined, 'a directory that throws');
});

t.test('a failed directory is left alone for the negative ttl, then asked once, then used again', async (t) => {
  const spy = new SpyDirectory();
  let up = false;
  spy.behaviour = async (address) => {
    if (!up) throw new Error('connect ECONNREFUSED 127.0.0.1:389');
    return { login: address };
  };
  const warnings: string[] = [];
  const infos: string[] = [];
  const lookup = lookupOver(spy, { negativeTtlMs: 200, log: { warn: (m) => warnings.push(m), info: (m) => infos.push(m) } });
  t.equal(await lookup.find('known-1@example.com'), undefined);
  for (let i = 0; i < 50; i++) t.equal(await lookup.find(`known-x${i}@example.com`), undefined);
  t.equal(spy.asked.length, 1, 'one question for 51 lookups while down');
  t.match(lookup.state(), { ok: false, down: true, lastError: /ECONNREFUSED/, counts: { failures: 1, skippedWhileDown: 50 } });
  await sleep(220);
  // Still down: the first lookup after the period asks, the ones meanwhile do not.
  const probe = lookup.find('known-2@example.com');
  t.equal(await lookup.find('known-3@example.com'), undefined, 'answered at once during the probe');
  t.equal(await probe, undefined);
  t.equal(spy.asked.length, 2, 'one probe per period');
  up = true;
  await sleep(220);
  t.same(await lookup.find('known-4@example.com'), { login: 'known-4@example.com' }, 'back: found');
  t.same(await lookup.find('known-5@example.com'), { login: 'known-5@example.com' });
  t.match(lookup.state(), { ok: true, down: false });
  t.equal(warnings.length, 1, 'one warning for the outage, not one per failure');
  t.equal(infos.length, 1, 'one line when it is back');
  t.notMatch([...warnings, ...infos].join('\n'), /known-/, 'no address in the log');
});

t.test('an answer error is not an outage, and the address is not in the state', async (t) => {
  const spy = new SpyDirectory();
  spy.behaviour = async (address) => {
    throw new DirectoryAnswerError(`the column "login" holds NULL for "${address}"`);
  };
  const lookup = lookupOver(spy);
  t.equal(await lookup.find('secret.person@example.com'), undefined);
  t.equal(await lookup.find('other.person@example.com'), undefined);
  t.equal(spy.asked.length, 2, 'the next address is still asked');
  const state = lookup.state();
  t.match(state, { ok: true, down: false, counts: { answerErrors: 2 } });
  t.equal(state.lastError, 'the column "login" holds NULL for "<address>"');
  t.notMatch(JSON.stringify(state), /person/);
});

t.test('settle: every answer waits for the floor, the 90th percentile of round trips', async (t) => {
  const spy = new SpyDirectory();
  spy.behaviour = async (address) => {
    await sleep(address.startsWith('known') ? 40 : 10);
    return address.startsWith('known') ? { login: address } : undefined;
  };
  const lookup = lookupOver(spy);
  for (let i = 0; i < 10; i++) await lookup.find(`known-${i}@example.com`);
  t.ok(lookup.state().floorMs >= 38, `floor ${lookup.state().floorMs.toFixed(1)} ms from 40 ms round trips`);
  const time = async (address: string): Promise<number> => {
    const started = performance.now();
    await lookup.findSettled(address);
    return performance.now() - started;
  };
  const notFound = await time('nobody@example.com');
  const cached = await time('known-1@example.com');
  t.ok(notFound >= 38, `a 10 ms "not found" answers after ${notFound.toFixed(1)} ms`);
  t.ok(cached >= 38, `a cached "found" answers after ${cached.toFixed(1)} ms`);
});

const PROVIDER = `id: hoster
name: Hoster
domains: [example.com]
lookup:
  sql: { connection: "sqlite:logins.sqlite", query: "SELECT login, name FROM logins WHERE address = ?" }
incoming: [{ type: imap, host: imap.example.com }]
outgoing: [{ host: smtp.example.com }]
`;

const sqlite = await import('better-sqlite3').then((m) => m.default, () => undefined);
t.test('createLoginLookup from a provider file (SQLite), passwords and addresses kept out of the state', { skip: sqlite === undefined ? 'better-sqlite3 (optional dependency) is not installed or not built; skipping SQLite' : false }, async (t) => {
  const Sqlite = sqlite!;
  const dir = mkdtempSync(join(tmpdir(), 'login-lookup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = new Sqlite(join(dir, 'logins.sqlite'));
  db.exec("CREATE TABLE logins (address text PRIMARY KEY, login text, name text); INSERT INTO logins VALUES ('kunde@example.com', 'K-123456', 'Jörg Müller')");
  db.close();
  const { provider, problems } = loadProvider(join(dir, 'hoster.yaml'), PROVIDER);
  t.same(problems, []);
  const lookup = createLoginLookup(provider!.lookup!, { name: 'lookup of hoster.yaml', env: {} });
  t.teardown(() => lookup.close());
  t.same(await lookup.find('kunde@example.com'), { login: 'K-123456', displayName: 'Jörg Müller' });
  t.equal(await lookup.find('fremd@example.com'), undefined);
  t.match(lookup.state(), { ok: true, directory: `sqlite ${join(dir, 'logins.sqlite')}`, counts: { found: 1, notFound: 1 } });

  t.test('mail-autoconfig lookup prints the answer and its time; exit 0 found, 1 not found or failed, usage errors thrown', async (t) => {
    writeFileSync(join(dir, 'hoster.yaml'), PROVIDER);
    const run = async (address: string, json = false): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const code = await lookupCommand(address, [dir], {}, json, { out: (text) => void (out += String(text)), err: (text) => void (err += text) });
      return { code, out, err };
    };
    t.match(await run('kunde@example.com'), { code: 0, out: /^kunde@example\.com: log-in name K-123456, display name Jörg Müller \(\d+\.\d ms, sqlite .*logins\.sqlite\)\n$/ });
    t.match(await run('fremd@example.com'), { code: 1, out: /not found, so answers carry the username template/ });
    t.match(JSON.parse((await run('kunde@example.com', true)).out), { result: 'found', login: 'K-123456', displayName: 'Jörg Müller', provider: 'hoster' });
    t.match(await run('someone@elsewhere.example'), { code: 1, err: /no provider serves elsewhere\.example/ });
    const usage = await run('not an address').catch((e: unknown) => e);
    t.ok(usage instanceof UsageError, 'a malformed address is a usage error (exit 2)');
    writeFileSync(join(dir, 'logins.sqlite'), 'not a database, but long enough to be read as one: '.repeat(100));
    t.match(await run('kunde@example.com'), { code: 1, out: /the lookup failed, so answers carry the username template instead: .*SQLITE_NOTADB/ });
  });
});

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}
const describe = (ms: readonly number[]): string => `median ${quantile(ms, 0.5).toFixed(2)} ms, p90 ${quantile(ms, 0.9).toFixed(2)} ms (n=${ms.length})`;

slapdSuite(t, 'against slapd', async (t, slapd) => {
  const PEOPLE_COUNT = 200;
  await slapd.add(Array.from({ length: PEOPLE_COUNT }, (_, i) => person(`u${1000 + i}`, [`user${i}@example.com`], `User ${i}`)).join('\n'));
  const make = (overrides: { timeoutSeconds?: number; negativeTtlSeconds?: number; ttlSeconds?: number } = {}) => {
    const passwordEnv = 'TEST_LDAP_PASSWORD';
    const lookup = createLoginLookup({
      directory: { kind: 'ldap', url: slapd.url, startTls: false, bindDn: slapd.bindDn, password: { env: passwordEnv }, baseDn: PEOPLE, filter: '(mail=%EMAILADDRESS%)', loginAttribute: 'uid', displayNameAttribute: 'displayName' },
      cache: { ttlSeconds: overrides.ttlSeconds ?? 300, negativeTtlSeconds: overrides.negativeTtlSeconds ?? 60, maxEntries: 10_000 },
      timeoutSeconds: overrides.timeoutSeconds ?? 2,
    }, { name: 'lookup of test.yaml', env: { [passwordEnv]: slapd.bindPassword } });
    t.teardown(() => lookup.close());
    return lookup;
  };

  t.test('a second lookup makes no search at the server', async (t) => {
    const lookup = make();
    const before = slapd.searches().length;
    t.same(await lookup.find('user1@example.com'), { login: 'u1001', displayName: 'User 1' });
    t.equal(await lookup.find('nobody@example.com'), undefined);
    await sleep(50); // the stats log line is written after the answer
    const afterFirst = slapd.searches().length;
    t.equal(afterFirst - before, 2, 'two searches for two new addresses');
    t.same(await lookup.find('user1@example.com'), { login: 'u1001', displayName: 'User 1' });
    t.equal(await lookup.find('nobody@example.com'), undefined);
    const results = await Promise.all(Array.from({ length: 10 }, () => lookup.find('user2@example.com')));
    t.equal(results.filter((r) => r?.login === 'u1002').length, 10);
    await sleep(50);
    t.equal(slapd.searches().length - afterFirst, 1, 'cached twice, and ten concurrent lookups of a new address made one search');
    t.equal(JSON.stringify(lookup.state()).includes(slapd.bindPassword), false, 'the password is not in the state');
  });

  t.test('the directory down: undefined within the timeout, one attempt per period; back: found again', async (t) => {
    const lookup = make({ timeoutSeconds: 0.3, negativeTtlSeconds: 1 });
    t.equal((await lookup.find('user3@example.com'))?.login, 'u1003');
    await slapd.pause(); // frozen: connections and searches hang, the worst case
    try {
      let started = performance.now();
      t.equal(await lookup.find('user4@example.com'), undefined);
      const first = performance.now() - started;
      t.ok(first < 300 + 150, `the first lookup gave up after ${first.toFixed(0)} ms (timeout 300 ms)`);
      started = performance.now();
      for (let i = 5; i < 25; i++) t.equal(await lookup.find(`user${i}@example.com`), undefined);
      const rest = performance.now() - started;
      t.ok(rest < 50, `20 more lookups while down took ${rest.toFixed(1)} ms together`);
      t.match(lookup.state(), { ok: false, down: true, counts: { timeouts: 1, skippedWhileDown: 20 } });
    } finally {
      slapd.resume();
    }
    await slapd.stop(); // and now refused
    await sleep(1050);
    t.equal(await lookup.find('user30@example.com'), undefined, 'still down after the period: one probe');
    t.match(lookup.state().counts, { directoryQueries: 3 });
    await slapd.start();
    t.equal(await lookup.find('user31@example.com'), undefined, 'within the down period it is not asked yet');
    await sleep(1050);
    t.same(await lookup.find('user31@example.com'), { login: 'u1031', displayName: 'User 31' }, 'after it: found again');
    t.match(lookup.state(), { ok: true, down: false });
  });

  t.test('timing: found against not found, cold, warm and settled', async (t) => {
    const lookup = make();
    const cold = { found: [] as number[], notFound: [] as number[] };
    const settled = { found: [] as number[], notFound: [] as number[] };
    const warm: number[] = [];
    let belowFloor = 0;
    const time = async (address: string, settle: boolean): Promise<number> => {
      const started = performance.now();
      if (settle) await lookup.findSettled(address);
      else await lookup.find(address);
      const ms = performance.now() - started;
      // The floor settle() waited for: no sample has come in since.
      if (settle && ms < lookup.state().floorMs - 0.05) belowFloor++;
      return ms;
    };
    await lookup.find('user199@example.com'); // the bind, outside the figures
    // Interleaved, so a slow moment of the machine hits both alike.
    for (let i = 0; i < 80; i++) {
      cold.found.push(await time(`user${i}@example.com`, false));
      cold.notFound.push(await time(`nobody${i}@example.com`, false));
    }
    for (let i = 0; i < 80; i++) warm.push(await time(`user${i}@example.com`, false));
    for (let i = 80; i < 160; i++) {
      settled.found.push(await time(`user${i}@example.com`, true));
      settled.notFound.push(await time(`nobody${i}@example.com`, true));
      settled.found.push(await time(`user${i - 80}@example.com`, true)); // cached
      settled.notFound.push(await time(`nobody${i - 80}@example.com`, true)); // cached
    }
    const lines = [
      `LDAP log-in lookup (slapd on loopback), floor ${lookup.state().floorMs.toFixed(2)} ms:`,
      `  cold found       ${describe(cold.found)}`,
      `  cold not found   ${describe(cold.notFound)}`,
      `  warm (cached)    ${describe(warm)}`,
      `  settled found    ${describe(settled.found)}  (half new, half cached)`,
      `  settled not found ${describe(settled.notFound)}  (half new, half cached)`,
    ];
    for (const line of lines) t.comment(line);
    figure(lines.join('\n'));
    t.ok(quantile(warm, 0.5) < quantile(cold.found, 0.5), 'the cache is faster than the directory');
    t.equal(belowFloor, 0, 'every settled answer, cached ones too, waited for the floor');
    const floor = lookup.state().floorMs;
    const gap = Math.abs(quantile(settled.found, 0.5) - quantile(settled.notFound, 0.5));
    t.ok(gap < Math.max(1, floor * 0.3), `settled medians differ by ${gap.toFixed(2)} ms`);
  });
});
