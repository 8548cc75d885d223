/**
 * A hoster's set-up end to end, with real servers the test starts on
 * loopback: the service (`serve`, as operators run it) with a provider whose
 * customer domains come from a domain file, from PostgreSQL and by MX
 * pattern (answered by dnsmasq), and whose own service host answers any
 * address. Two instances share one database: a domain added there shows up
 * on both without a restart; the database stopped and started again keeps
 * and then refreshes the list.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { dnsmasqMissing, startDnsmasq, startFakeDnsServer, blackHole, type Dnsmasq } from './helpers/dns-server.js';
import { postgresMissing, startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { spawnServe } from './helpers/process.js';
import { request } from './helpers/server.js';

const ROLE_PASSWORD = 'Hoster-db-pw-0815';

function hosterYaml(db: PostgresCluster): string {
  return `id: hoster
name: Hoster Webmail
serviceHosts: [autoconfig.hoster.example, autodiscover.hoster.example]
mxPatterns: ["*.mx.hoster.example"]
domainsFile: customers.txt
domainsQuery:
  connection: postgresql://autoconfig@127.0.0.1:${db.port}/postgres
  passwordFile: db-password
  query: SELECT domain FROM mail_domains
  listen: mail_domains_changed
  refreshSeconds: 10
  timeoutSeconds: 2
incoming:
  - { type: imap, host: sslmailpool.hoster.example }
outgoing:
  - { host: smtprelaypool.hoster.example }
`;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const missing = postgresMissing() ?? dnsmasqMissing();
if (missing !== undefined) {
  t.plan(0, missing);
} else {
  let db: PostgresCluster;
  let dns: Dnsmasq;
  let folder: string;

  t.before(async () => {
    db = await startPostgres(t);
    await db.sql(`
      CREATE TABLE mail_domains (domain text);
      CREATE FUNCTION mail_domains_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('mail_domains_changed', ''); RETURN NULL; END $$;
      CREATE TRIGGER mail_domains_changed AFTER INSERT OR UPDATE OR DELETE ON mail_domains
        FOR EACH STATEMENT EXECUTE FUNCTION mail_domains_notify();
      CREATE ROLE autoconfig LOGIN PASSWORD '${ROLE_PASSWORD}';
      GRANT SELECT ON mail_domains TO autoconfig;
      INSERT INTO mail_domains VALUES ('db-kunde.example');
    `);
    dns = await startDnsmasq(t, {
      zone: 'test.example',
      ttl: 300,
      mx: [
        { domain: 'mx-kunde.test.example', host: 'mx01.mx.hoster.example', preference: 10 },
        { domain: 'elsewhere.test.example', host: 'mail.other-isp.example', preference: 10 },
        { domain: 'crowd.test.example', host: 'mx02.mx.hoster.example', preference: 10 },
      ],
    });
    folder = mkdtempSync(join(tmpdir(), 'hoster-'));
    writeFileSync(join(folder, 'db-password'), `${ROLE_PASSWORD}\n`);
    writeFileSync(join(folder, 'customers.txt'), '# customer domains, one a line\nfile-kunde.example\n  FILE-Kunde2.Example.  # trailing dot and case\n');
    writeFileSync(join(folder, 'hoster.yaml'), hosterYaml(db));
  });

  const METRICS_TOKEN = 'hoster-metrics-token-0815';
  const serve = async (t: Test, dnsServer: string) => {
    const server = await spawnServe(t, ['--providers', folder, '--port', '0', '--rate-limit', '0', '--dns-servers', dnsServer, '--mx-timeout', '1.5', '--metrics-token', METRICS_TOKEN]);
    return server.urls[0]!;
  };
  const thunderbird = (url: string, address: string, host = 'autoconfig.example.net') =>
    request(`${url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`, { host });

  t.test('listed (file, database), service host, MX: each finds the provider; others get a clean 404', async (t) => {
    const url = await serve(t, dns.server);
    for (const address of ['a@file-kunde.example', 'b@file-kunde2.example', 'c@db-kunde.example', 'd@mx-kunde.test.example']) {
      const response = await thunderbird(url, address);
      t.equal(response.status, 200, `${address}: served`);
      const domain = address.split('@')[1]!;
      t.match(response.text, `<emailProvider id="${domain}">`, `${address}: the customer's own domain in the document`);
      t.match(response.text, '<hostname>sslmailpool.hoster.example</hostname>');
    }
    // The service host answers for any address (the draft: no oracle of which domains exist).
    const viaServiceHost = await thunderbird(url, 'x@never-heard-of.example', 'autoconfig.hoster.example');
    t.equal(viaServiceHost.status, 200, 'a service host answers for any address');
    t.match(viaServiceHost.text, '<domain>never-heard-of.example</domain>');
    // Thunderbird for Android's MX step sends no address: the hoster's document, its servers being the same for every customer.
    const withoutAddress = await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.hoster.example' });
    t.equal(withoutAddress.status, 200, 'a service host answers without an address too');
    t.match(withoutAddress.text, '<hostname>sslmailpool.hoster.example</hostname>');
    t.match(withoutAddress.text, '<username>%EMAILADDRESS%</username>', 'the template, for the client to fill');
    t.equal((await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.nxdomain.test.example' })).status, 404, 'another host without an address: as before, 404');
    for (const [address, why] of [['e@elsewhere.test.example', /belongs to no provider|no mail provider/], ['f@nxdomain.test.example', /no mail provider/]] as const) {
      const response = await thunderbird(url, address);
      t.equal(response.status, 404, `${address}: 404`);
      t.match(response.text, why);
    }
    const ask = (name: string) => request(`${url}/caddy/ask?domain=${name}`);
    t.equal((await ask('autoconfig.mx-kunde.test.example')).status, 200, "Caddy's ask follows the same rule: MX-matched");
    t.equal((await ask('autoconfig.db-kunde.example')).status, 200, 'from the database');
    t.equal((await ask('autoconfig.hoster.example')).status, 200, 'the service host itself');
    t.equal((await ask('autoconfig.elsewhere.test.example')).status, 404, 'not ours');

    // What the sources did, in /metrics: the database read, the MX lookups made for the requests above.
    const metrics = (await request(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text;
    t.match(metrics, /^mail_autoconfig_domain_sources 1$/m);
    t.match(metrics, /^mail_autoconfig_domain_sources_down 0$/m);
    t.match(metrics, /^mail_autoconfig_domain_sources_domains 1$/m, 'the one row of the database');
    t.match(metrics, /^mail_autoconfig_domain_sources_oldest_success_timestamp_seconds \d+(\.\d+)?$/m);
    t.notMatch(metrics, /mail_autoconfig_domain_source_down\{/, 'no series by provider while every source is up');
    t.match(metrics, /^mail_autoconfig_mx_answers_total\{answer="mx"\} [1-9]/m, 'MX-matched and not-ours domains were looked up');
    t.match(metrics, /^mail_autoconfig_mx_answers_total\{answer="nxdomain"\} [1-9]/m);
    t.ok(Number(/^mail_autoconfig_mx_lookups_total (\d+)$/m.exec(metrics)?.[1]) >= 3, 'lookups counted');
  });

  t.test('MX answers are cached, and lookups for one new domain are coalesced', async (t) => {
    const url = await serve(t, dns.server);
    const before = await dns.queries('crowd.test.example');
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => thunderbird(url, `u${i}@crowd.test.example`)));
    t.ok(answers.every((a) => a.status === 200), '100 parallel requests for a new domain: all served');
    await sleep(100);
    t.equal((await dns.queries('crowd.test.example')) - before, 1, 'one query at the DNS server');
    await thunderbird(url, 'later@crowd.test.example');
    await sleep(100);
    t.equal((await dns.queries('crowd.test.example')) - before, 1, 'a later request makes none (cached)');
  });

  t.test('a DNS server that never answers: 503 with Retry-After within the timeout, never a hang', async (t) => {
    const silent = await startFakeDnsServer(t, blackHole);
    const url = await serve(t, silent.server);
    const started = Date.now();
    const response = await thunderbird(url, 'a@mx-kunde.test.example');
    const took = Date.now() - started;
    t.equal(response.status, 503);
    t.ok(response.headers['retry-after'], 'Retry-After');
    t.match(response.text, /cannot be looked up now/);
    t.ok(took < 1500 + 1000, `answered in ${took} ms (timeout 1.5 s)`);
    t.equal((await thunderbird(url, 'a@file-kunde.example')).status, 200, 'listed domains need no DNS');
  });

  t.test('a domain added in the database reaches two running instances; the database down and back', async (t) => {
    const [one, two] = [await serve(t, dns.server), await serve(t, dns.server)];
    for (const url of [one, two]) t.equal((await thunderbird(url, 'a@neu-kunde.test.example')).status, 404, 'not yet there');
    await db.sql(`INSERT INTO mail_domains VALUES ('neu-kunde.test.example')`);
    for (const url of [one, two]) {
      await waitFor('the new domain', async () => (await thunderbird(url, 'a@neu-kunde.test.example')).status === 200);
      t.pass('served without a restart');
    }
    await db.stop();
    await waitFor('readiness to say so', async () => JSON.parse((await request(`${one}/readyz`)).text).status === 'degraded', 15_000);
    const ready = JSON.parse((await request(`${one}/readyz`)).text);
    t.match(ready.warnings.join(' '), /domain database of provider hoster cannot be read; its last good list/);
    t.notMatch(JSON.stringify(ready), ROLE_PASSWORD, 'never the password');
    t.match(ready.domainSources, { sources: 1, domains: 2, down: [{ provider: 'hoster', ok: false, domains: 2, lastError: 'the last query failed' }] }, 'the failing source by name, its reason only with the token');
    const metrics = (await request(`${one}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text;
    t.match(metrics, /^mail_autoconfig_domain_sources_down 1$/m);
    t.match(metrics, /^mail_autoconfig_domain_source_down\{provider="hoster"\} 1$/m, 'the failing provider has a series');
    t.match(metrics, /^mail_autoconfig_domain_source_last_success_timestamp_seconds\{provider="hoster"\} \d+(\.\d+)?$/m);
    t.equal((await thunderbird(one, 'a@neu-kunde.test.example')).status, 200, 'the last good list stays in service');
    await db.start();
    await db.sql(`INSERT INTO mail_domains VALUES ('nach-ausfall.test.example')`);
    await waitFor('recovery', async () => (await thunderbird(one, 'a@nach-ausfall.test.example')).status === 200, 20_000);
    t.pass('recovered by itself');
  });
}
