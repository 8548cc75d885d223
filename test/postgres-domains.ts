import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { passwordFrom, PostgresDomainSource, redactConnection, type PostgresDomainSourceOptions } from '../src/sources/postgres-domains.js';
import { figure } from './helpers/figures.js';
import { postgresMissing, startPostgres, type PostgresCluster } from './helpers/postgres.js';

const ROLE_PASSWORD = 'S3cret-autoconfig-pw';

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
  return performance.now() - started;
}

const missing = postgresMissing();
if (missing !== undefined) {
  t.plan(0, missing);
} else {
  let db: PostgresCluster;
  let passwordFile: string;
  const logged: string[] = [];
  const log = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m) };

  /** A source as the server would make it from a domainsQuery, closed by the test's teardown. */
  const source = (t: Test, options: Partial<PostgresDomainSourceOptions> = {}): PostgresDomainSource => {
    const created = new PostgresDomainSource({
      name: 'domainsQuery of hoster.yaml',
      connection: `postgresql://autoconfig@127.0.0.1:${db.port}/postgres`,
      password: passwordFrom({ file: passwordFile }, {}),
      query: 'SELECT * FROM customer_domains',
      refreshMs: 60_000,
      timeoutMs: 2000,
      backoffMs: { first: 100, max: 1000 },
      log,
      ...options,
    });
    t.teardown(() => created.close());
    return created;
  };

  t.before(async () => {
    db = await startPostgres(t);
    passwordFile = join(db.dir, 'autoconfig-password');
    writeFileSync(passwordFile, `${ROLE_PASSWORD}\n`);
    await db.sql(`
      CREATE TABLE mail_domains (id serial PRIMARY KEY, domain text, active boolean NOT NULL DEFAULT true);
      CREATE VIEW customer_domains AS SELECT domain FROM mail_domains WHERE active ORDER BY id;
      -- The trigger an admin sets up: one NOTIFY per changing statement.
      CREATE FUNCTION mail_domains_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('mail_domains_changed', ''); RETURN NULL; END $$;
      CREATE TRIGGER mail_domains_changed AFTER INSERT OR UPDATE OR DELETE ON mail_domains
        FOR EACH STATEMENT EXECUTE FUNCTION mail_domains_notify();
      CREATE ROLE autoconfig LOGIN PASSWORD '${ROLE_PASSWORD}';
      GRANT SELECT ON mail_domains, customer_domains TO autoconfig;
      INSERT INTO mail_domains (domain) VALUES
        ('kunde1.example'), ('KUNDE2.Example.'), ('bücher.example'), ('not a domain'), (NULL), ('kunde1.example');
    `);
  });

  t.test('the first read: domains normalised, invalid rows reported by row number', async (t) => {
    const domains = source(t);
    const changes: (readonly string[])[] = [];
    domains.onChange((list) => changes.push(list.toArray()));
    await domains.start();
    t.same(domains.domains, ['kunde1.example', 'kunde2.example', 'xn--bcher-kva.example']);
    t.same(changes, [['kunde1.example', 'kunde2.example', 'xn--bcher-kva.example']], 'onChange told once');
    const state = domains.state();
    t.match(state, { ok: true, rowCount: 6, domainCount: 3, listening: false, connection: `postgresql://autoconfig@127.0.0.1:${db.port}/postgres` });
    t.ok(state.lastSuccessAt instanceof Date);
    t.same(state.problems, [
      'domainsQuery of hoster.yaml, row 4: "not a domain" is not a valid domain name',
      'domainsQuery of hoster.yaml, row 5: NULL is not a domain name',
      'domainsQuery of hoster.yaml, row 6: domain "kunde1.example" is listed twice (as kunde1.example, first on row 1)',
    ]);
    const badRowLines = (): number => logged.filter((line) => line.includes('row(s) not kept')).length;
    t.equal(badRowLines(), 1, 'the bad rows are logged');
    await domains.refresh();
    t.equal(changes.length, 1, 'the same list again is no change');
    t.equal(badRowLines(), 1, 'the same bad rows again are not logged again');
  });

  t.test('a domain added with INSERT reaches two running instances by NOTIFY', async (t) => {
    const first = source(t, { listen: 'mail_domains_changed' });
    const second = source(t, { listen: 'mail_domains_changed' });
    await Promise.all([first.start(), second.start()]);
    await waitFor('both to LISTEN', () => first.state().listening && second.state().listening, 5000);
    const inserted = performance.now();
    await db.sql("INSERT INTO mail_domains (domain) VALUES ('neu.example')");
    await waitFor('neu.example on both', () => first.domains.includes('neu.example') && second.domains.includes('neu.example'), 5000);
    const ms = performance.now() - inserted;
    t.ok(ms < 2000, `both have it ${ms.toFixed(0)} ms after the INSERT (the refresh interval is 60 s)`);
    await db.sql("UPDATE mail_domains SET active = false WHERE domain = 'neu.example'");
    await waitFor('neu.example gone on both', () => !first.domains.includes('neu.example') && !second.domains.includes('neu.example'), 5000);
    t.pass('a domain switched off leaves both as well');
    figure(`PostgreSQL domains: an INSERT reached two LISTENing instances in ${ms.toFixed(0)} ms`);
  });

  t.test('without NOTIFY, the refresh interval brings changes', async (t) => {
    const polling = source(t, { refreshMs: 500 });
    await polling.start();
    t.notOk(polling.domains.includes('gepollt.example'));
    await db.sql("INSERT INTO mail_domains (domain) VALUES ('gepollt.example')");
    const ms = await waitFor('gepollt.example', () => polling.domains.includes('gepollt.example'), 3000);
    t.ok(ms < 1500, `there after ${ms.toFixed(0)} ms with a 500 ms interval`);
  });

  t.test('a query that fails, returns the wrong columns or times out keeps the last good list', async (t) => {
    const domains = source(t, { timeoutMs: 1000 });
    await domains.start();
    const good = domains.domains;
    const goodAt = domains.state().lastSuccessAt;
    t.ok(good.length >= 3);
    const expectKept = async (what: string, sql: string, reason: RegExp): Promise<void> => {
      await db.sql(sql);
      await domains.refresh();
      const state = domains.state();
      t.match(state, { ok: false, lastError: reason }, what);
      t.same(domains.domains, good, `${what}: the last good list stays`);
      t.same(state.lastSuccessAt, goodAt, `${what}: the last success is kept`);
      t.ok(state.lastErrorAt instanceof Date);
    };
    await expectKept('the view is gone', 'DROP VIEW customer_domains', /relation "customer_domains" does not exist \(42P01\)/);
    await expectKept('two columns', 'CREATE VIEW customer_domains AS SELECT domain, id FROM mail_domains; GRANT SELECT ON customer_domains TO autoconfig',
      /the query returns 2 columns \(domain, id\); it must return one column of domain names/);
    await expectKept('numbers', 'DROP VIEW customer_domains; CREATE VIEW customer_domains AS SELECT id FROM mail_domains; GRANT SELECT ON customer_domains TO autoconfig',
      /the column "id" holds number values \(row 1\), not domain names as text/);
    const slowStart = performance.now();
    await expectKept('too slow', 'DROP VIEW customer_domains; CREATE VIEW customer_domains AS SELECT domain FROM mail_domains, pg_sleep(5); GRANT SELECT ON customer_domains TO autoconfig',
      /the query took longer than allowed \(canceling statement due to statement timeout\)/);
    t.ok(performance.now() - slowStart < 2500, 'the timeout of 1 s stopped it');
    t.match(logged.join('\n'), /domainsQuery of hoster.yaml: the query returns 2 columns .*; keeping the last good list of \d+ domain\(s\)/, 'the reason is logged');

    await db.sql('DROP VIEW customer_domains; CREATE VIEW customer_domains AS SELECT domain FROM mail_domains WHERE active ORDER BY id; GRANT SELECT ON customer_domains TO autoconfig');
    await domains.refresh();
    t.match(domains.state(), { ok: true, lastError: undefined });
  });

  t.test('a query of two statements is refused with its reason', async (t) => {
    const two = source(t, { query: "SELECT domain FROM customer_domains; SELECT 'x.example'" });
    await two.start();
    t.match(two.state(), { ok: false, lastError: 'the query is 2 statements; it must be one' });
    t.same(two.domains, []);
  });

  t.test('a database that stops answering mid-read: the read gives up by itself, the last good list stays', async (t) => {
    const domains = source(t, { timeoutMs: 1000 });
    await domains.start();
    const good = domains.domains;
    t.ok(good.length >= 3);
    // The whole server frozen (SIGSTOP to the postmaster and every backend): the connection stays open, nothing answers,
    // and the server's own statement_timeout cannot fire.
    const postmaster = Number(readFileSync(join(db.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const frozen = [postmaster, ...children];
    const thaw = (): void => frozen.forEach((pid) => { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } });
    t.teardown(thaw);
    frozen.forEach((pid) => process.kill(pid, 'SIGSTOP'));
    const started = performance.now();
    await domains.refresh();
    const ms = performance.now() - started;
    thaw();
    t.match(domains.state(), { ok: false, lastError: /^the query took longer than allowed \(no answer within 2000 ms\)$/ });
    t.same(domains.domains, good, 'the last good list stays');
    t.ok(ms >= 1900 && ms < 4000, `gave up after ${ms.toFixed(0)} ms (timeout 1 s, and 1 s for the server to say so)`);
    // The frozen connection was closed, not handed to the next read.
    await domains.refresh();
    t.match(domains.state(), { ok: true, lastError: undefined }, 'the next read, on a new connection, succeeds');
  });

  t.test('a wrong password: the reason, never the password', async (t) => {
    const wrong = source(t, { password: async () => 'not-the-password' });
    await wrong.start();
    t.match(wrong.state(), { ok: false, lastError: /password authentication failed for user "autoconfig" \(28P01\)/ });
    t.same(wrong.domains, []);
    const env = passwordFrom({ env: 'AUTOCONFIG_DB_PASSWORD' }, {});
    await t.rejects(env!(), /the environment variable AUTOCONFIG_DB_PASSWORD \(passwordEnv\) is not set/);
    t.equal(await passwordFrom({ env: 'PW' }, { PW: 'x' })!(), 'x');
    t.equal(redactConnection('postgresql://u:hunter2@h/db?password=hunter2'), 'postgresql://u:redacted@h/db?password=redacted');
  });

  t.test('the database stopped and started again: last good list meanwhile, then back by itself', async (t) => {
    const listening = source(t, { listen: 'mail_domains_changed' });
    const polling = source(t);
    await Promise.all([listening.start(), polling.start()]);
    await waitFor('LISTEN', () => listening.state().listening, 5000);
    const before = listening.domains;

    await db.stop();
    await waitFor('the LISTEN connection to notice', () => !listening.state().listening, 5000);
    await Promise.all([listening.refresh(), polling.refresh()]);
    t.match(listening.state(), { ok: false, lastError: /ECONNREFUSED|terminat|connect/i }, 'says the database is away');
    t.match(polling.state(), { ok: false });
    t.same(listening.domains, before, 'and keeps answering from the last good list');

    await sleep(500);
    await db.start();
    const restarted = performance.now();
    await db.sql("INSERT INTO mail_domains (domain) VALUES ('nach-ausfall.example')");
    await waitFor('the listening source to recover', () => listening.state().ok && listening.state().listening && listening.domains.includes('nach-ausfall.example'), 10_000);
    await waitFor('the polling source to recover (retry with backoff, not the 60 s interval)', () => polling.state().ok && polling.domains.includes('nach-ausfall.example'), 10_000);
    const ms = performance.now() - restarted;
    t.pass(`both recovered ${ms.toFixed(0)} ms after the restart`);
    figure(`PostgreSQL domains: after the database came back, both sources (LISTEN, and polling with backoff) had the new list within ${ms.toFixed(0)} ms`);
  });

  t.test('no password in any message or state', async (t) => {
    t.ok(logged.length > 3, `${logged.length} lines logged`);
    for (const line of logged) t.notOk(line.includes(ROLE_PASSWORD) || line.includes(db.password), `no password in: ${line.slice(0, 80)}`);
  });
}

if (missing === undefined) {
  t.test('1,500,000 domains from PostgreSQL read in a process whose heap is capped at 96 MiB', async (t) => {
    // Read whole, the rows of a million took 174 MiB of heap for the moment of the read, and 1,500,000 ran npm start's
    // 192 MiB out of memory (the process aborted). Read through a cursor in batches into a packed list, they fit.
    const db = await startPostgres(t);
    await db.sql(`CREATE TABLE big (domain text); INSERT INTO big SELECT 'kunde-' || i || '.example' FROM generate_series(1, 1500000) AS i`);
    const source = pathToFileURL(join(import.meta.dirname, '..', 'src', 'sources', 'postgres-domains.ts')).href;
    const script = join(db.dir, 'read.mjs');
    writeFileSync(script, `
      const { PostgresDomainSource } = await import(${JSON.stringify(source)});
      const big = new PostgresDomainSource({ name: 'big', connection: ${JSON.stringify(db.url)}, password: async () => ${JSON.stringify(db.password)},
        query: 'SELECT domain FROM big', refreshMs: 600000, timeoutMs: 60000 });
      // The last domain of the list handed on (big.domains would make strings of all 1,500,000 at once).
      let last;
      big.onChange((list) => list.forEach((domain) => { last = domain; }));
      const started = performance.now();
      await big.start();
      const ms = performance.now() - started;
      console.log(JSON.stringify({ state: big.state(), last, ms, heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576) }));
      await big.close();
    `);
    const child = spawnSync(process.execPath, [...process.execArgv, '--max-semi-space-size=2', '--max-old-space-size=96', script], { encoding: 'utf8', timeout: 120_000 });
    t.equal(child.status, 0, `the reading process ended by itself (${child.signal ?? 'no signal'}): ${child.stderr.slice(-300)}`);
    const seen = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { state: unknown; last: string; ms: number };
    t.match(seen.state, { ok: true, rowCount: 1_500_000, domainCount: 1_500_000 });
    t.equal(seen.last, 'kunde-1500000.example');
    t.ok(seen.ms < 30_000, `read in ${seen.ms.toFixed(0)} ms`);
    figure(`PostgreSQL domains: 1,500,000 rows read, normalised and checked in ${seen.ms.toFixed(0)} ms, in a process with 96 MiB of heap`);
  });
}
