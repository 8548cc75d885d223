/**
 * /readyz with a hoster's thousands of domain databases: counts for all of
 * them, and the failing ones by provider. A shared database that is down
 * fails every source at once; the warnings then name ten and count the
 * rest, and the reasons stay behind the metrics token.
 */
import t, { type Test } from 'tap';
import { CatalogStore } from '../src/catalog/store.js';
import { buildApp } from '../src/server/app.js';
import type { DomainSources, DomainSourcesSummary } from '../src/sources/domain-sources.js';
import { providerFolder, providerYaml } from './helpers/providers.js';
import { IDENTIFIER_PREFIX, request } from './helpers/server.js';

const TOKEN = 'a-metrics-token-of-some-length';

async function readiness(t: Test, summary: DomainSourcesSummary) {
  const store = await CatalogStore.open([providerFolder({ 'good.yaml': providerYaml('good', 'good.example') })]);
  t.teardown(() => store.close());
  const domainSources = { summary: () => summary, byDomain: () => undefined } as unknown as DomainSources;
  const app = await buildApp({ catalog: () => store.current(), store, domainSources, identifierPrefix: IDENTIFIER_PREFIX }, { metricsToken: TOKEN });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/readyz`;
  return {
    open: JSON.parse((await request(url)).text),
    full: JSON.parse((await request(url, { headers: { authorization: `Bearer ${TOKEN}` } })).text),
  };
}

t.test('every source up: ready, counts only', async (t) => {
  const summary = { sources: 2_000, domains: 1_000_000, oldestSuccessAt: '2026-12-01T12:00:00.000Z', down: [] };
  const { open } = await readiness(t, summary);
  t.equal(open.status, 'ready');
  t.same(open.domainSources, summary);
  t.same(open.warnings, []);
});

t.test('a shared database down fails 2,000 sources: degraded, ten named in the warnings, the rest counted', async (t) => {
  const down = Array.from({ length: 2_000 }, (_, i) => ({ provider: `brand${i}`, ok: false, domains: 500, lastError: 'connect ECONNREFUSED 10.0.0.5:5432', lastSuccessAt: '2026-12-01T12:00:00.000Z' }));
  const { open, full } = await readiness(t, { sources: 2_000, domains: 1_000_000, oldestSuccessAt: '2026-12-01T12:00:00.000Z', down });
  t.equal(open.status, 'degraded', 'still served from the last good lists');
  const named = open.warnings.filter((w: string) => /^the domain database of provider brand\d+ cannot be read/.test(w));
  t.equal(named.length, 10);
  t.ok(open.warnings.includes("1990 more providers' domain databases cannot be read; their last good lists are served (domainSources.down names them)"), 'one line for the rest');
  t.equal(open.domainSources.down.length, 2_000, 'domainSources.down names every failing provider');
  t.notMatch(JSON.stringify(open), /10\.0\.0\.5/, 'the reason, with the database host, only with the token');
  t.equal(full.domainSources.down[0].lastError, 'connect ECONNREFUSED 10.0.0.5:5432');
});
