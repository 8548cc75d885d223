/**
 * The domains of many providers from one database (a hoster's 2,000 brands,
 * each with a domainsQuery): every list is read and found in one probe,
 * through a few shared connections rather than one per provider, and a
 * provider that leaves the catalog takes its list and nothing else.
 */
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { buildCatalog } from '../src/catalog/catalog.js';
import { DomainSources, SHARED_POOL_SIZE } from '../src/sources/domain-sources.js';
import { postgresMissing, startPostgres, type PostgresCluster } from './helpers/postgres.js';

const ROLE_PASSWORD = 'Brands-db-pw-4711';
const PROVIDERS = 60;

const missing = postgresMissing();
if (missing !== undefined) {
  t.plan(0, missing);
} else {
  let db: PostgresCluster;
  const connections = async () =>
    Number((await db.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mail-autoconfig'")).rows[0].count);

  const providerYaml = (i: number, listen?: string) => `id: brand${i}
name: Brand ${i}
domainsQuery:
  connection: postgresql://autoconfig@127.0.0.1:${db.port}/postgres
  passwordEnv: BRANDS_DB_PASSWORD
  query: SELECT domain FROM brand_domains WHERE brand = ${i}
${listen ? `  listen: ${listen}\n  refreshSeconds: 3600\n` : ''}incoming:
  - { type: imap, host: imap.brand${i}.example }
outgoing:
  - { host: smtp.brand${i}.example }
`;
  const catalogOf = (ids: number[], listen?: (i: number) => string) =>
    buildCatalog(ids.map((i) => ({ file: `/providers/brand${i}.yaml`, text: providerYaml(i, listen?.(i)) })));

  t.before(async () => {
    db = await startPostgres(t);
    await db.sql(`
      CREATE TABLE brand_domains (brand int, domain text);
      INSERT INTO brand_domains SELECT k % ${PROVIDERS}, 'kunde' || k || '.example' FROM generate_series(0, ${PROVIDERS * 10 - 1}) k;
      CREATE ROLE autoconfig LOGIN PASSWORD '${ROLE_PASSWORD}';
      GRANT SELECT ON brand_domains TO autoconfig;
    `);
  });

  t.test(`${PROVIDERS} providers of one database: every list read through at most ${SHARED_POOL_SIZE} connections`, async (t) => {
    const all = Array.from({ length: PROVIDERS }, (_, i) => i);
    const catalog = catalogOf(all);
    t.equal(catalog.problems.length, 0, catalog.problems.map((p) => p.message).join('; '));
    const sources = new DomainSources({ BRANDS_DB_PASSWORD: ROLE_PASSWORD });
    t.teardown(() => sources.close());

    await sources.sync(catalog);
    const summary = sources.summary();
    t.same({ sources: summary.sources, down: summary.down.length, domains: summary.domains }, { sources: PROVIDERS, down: 0, domains: PROVIDERS * 10 }, 'every source read its 10 domains');
    t.ok(summary.oldestSuccessAt !== undefined && Date.now() - Date.parse(summary.oldestSuccessAt) < 60_000, 'read just now');
    const open = await connections();
    t.ok(open >= 1 && open <= SHARED_POOL_SIZE, `${open} connection(s) open for ${PROVIDERS} providers`);
    let wrong = 0;
    for (let k = 0; k < PROVIDERS * 10; k++) if (sources.byDomain(`kunde${k}.example`, catalog)?.id !== `brand${k % PROVIDERS}`) wrong++;
    t.equal(wrong, 0, 'each domain found, at its own provider');

    // One provider leaves: its list goes, the others stay and keep reading through the pool.
    const fewer = catalogOf(all.slice(1));
    await sources.sync(fewer);
    t.equal(sources.byDomain('kunde0.example', fewer), undefined, 'the list of the provider that left is gone');
    t.equal(sources.byDomain('kunde1.example', fewer)?.id, 'brand1');
    t.equal(sources.byDomain('kunde1.example', fewer), fewer.byId('brand1'), "the provider object of the catalog synced, not the last one's");
    const again = catalogOf([0, ...all.slice(1)]);
    t.equal(sources.byDomain('kunde1.example', again), again.byId('brand1'), 'a catalog in service before its sync: its own provider object');
    await sources.sync(again);
    t.equal(sources.byDomain('kunde0.example', again)?.id, 'brand0', 'the provider back: read again through the shared pool');

    await sources.close();
    // The server notices a client's goodbye a moment later.
    for (let i = 0; i < 50 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(await connections(), 0, 'closed: no connection left');
  });

  t.test(`${PROVIDERS} providers of a database that does not answer: the start waits about one timeout, not one per provider`, async (t) => {
    // Accepts connections and says nothing: each first read waits out its timeout.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      for (const socket of held) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const catalog = buildCatalog(Array.from({ length: PROVIDERS }, (_, i) => ({
      file: `/providers/brand${i}.yaml`,
      text: providerYaml(i).replace(`127.0.0.1:${db.port}`, `127.0.0.1:${port}`).replace('  query:', '  timeoutSeconds: 1\n  query:'),
    })));
    t.equal(catalog.problems.length, 0, catalog.problems.map((p) => p.message).join('; '));
    const sources = new DomainSources({ BRANDS_DB_PASSWORD: ROLE_PASSWORD });
    t.teardown(() => sources.close());
    const started = performance.now();
    await sources.sync(catalog);
    const seconds = (performance.now() - started) / 1000;
    // Read SHARED_POOL_SIZE at a time, one after another, it would take PROVIDERS / SHARED_POOL_SIZE timeouts (15 s; measured).
    t.ok(seconds < 6, `every first read settled after ${seconds.toFixed(1)} s`);
    const { down } = sources.summary();
    t.equal(down.length, PROVIDERS, 'every source is reported down');
    t.same(new Set(down.map((s) => s.provider)).size, PROVIDERS, 'each by its provider');
    t.equal(sources.summary().oldestSuccessAt, undefined, 'none ever read');
  });

  t.test(`${PROVIDERS} providers LISTENing on one database: one LISTEN connection for all their channels`, async (t) => {
    const all = Array.from({ length: PROVIDERS }, (_, i) => i);
    // Two channels, each shared by half the providers.
    const catalog = catalogOf(all, (i) => (i % 2 ? 'brands_odd' : 'brands_even'));
    t.equal(catalog.problems.length, 0, catalog.problems.map((p) => p.message).join('; '));
    const sources = new DomainSources({ BRANDS_DB_PASSWORD: ROLE_PASSWORD });
    t.teardown(() => sources.close());
    await sources.sync(catalog);
    const listeners = async () =>
      Number((await db.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mail-autoconfig' AND query LIKE 'LISTEN%'")).rows[0].count);
    for (let i = 0; i < 100 && (await listeners()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(await listeners(), 1, 'one connection LISTENs');
    t.ok((await connections()) <= SHARED_POOL_SIZE + 1, `${await connections()} connection(s) in all for ${PROVIDERS} providers`);

    await db.sql("INSERT INTO brand_domains VALUES (3, 'neu-odd.example'), (4, 'neu-even.example')");
    await db.sql("NOTIFY brands_odd");
    for (let i = 0; i < 100 && sources.byDomain('neu-odd.example', catalog) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(sources.byDomain('neu-odd.example', catalog)?.id, 'brand3', "a NOTIFY on one channel reaches its providers");
    t.equal(sources.byDomain('neu-even.example', catalog), undefined, 'and not those of the other channel');
    await db.sql("NOTIFY brands_even");
    for (let i = 0; i < 100 && sources.byDomain('neu-even.example', catalog) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(sources.byDomain('neu-even.example', catalog)?.id, 'brand4', 'the other channel too, on the same connection');
    await db.sql("DELETE FROM brand_domains WHERE domain LIKE 'neu-%'");
  });
}
