/**
 * Request counts and latencies are kept as plain numbers and read by the
 * Prometheus registry at scrape time; the series must read as a counter and
 * a histogram would. So are the hosters' sources: MX lookups (a real
 * resolver against a DNS server on loopback) and the domain databases.
 */
import t from 'tap';
import type { Catalog } from '../src/catalog/catalog.js';
import { Metrics } from '../src/server/metrics.js';
import type { DomainSourcesSummary } from '../src/sources/domain-sources.js';
import { MxResolver } from '../src/sources/mx.js';
import { blackHole, mxAnswer, rcodeAnswer, startFakeDnsServer } from './helpers/dns-server.js';

function metrics() {
  const catalog = { providers: [], domainCount: 0, rejectedFiles: [] } as unknown as Catalog;
  return new Metrics(() => catalog, () => []);
}

const series = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(name));

t.test('requests by format and status', async (t) => {
  const m = metrics();
  m.observe('thunderbird', 200, 0.001);
  m.observe('thunderbird', 200, 0.002);
  m.observe('thunderbird', 404, 0.001);
  m.observe('apple', 200, 0.03);
  const text = await m.registry.metrics();
  t.match(text, /# TYPE mail_autoconfig_requests_total counter/);
  t.same(series(text, 'mail_autoconfig_requests_total{').sort(), [
    'mail_autoconfig_requests_total{format="apple",status="200"} 1',
    'mail_autoconfig_requests_total{format="thunderbird",status="200"} 2',
    'mail_autoconfig_requests_total{format="thunderbird",status="404"} 1',
  ]);
});

t.test('latency buckets are cumulative, bounds inclusive, with sum and count', async (t) => {
  const m = metrics();
  for (const seconds of [0.0004, 0.0005, 0.0007, 0.004, 0.3, 2]) m.observe('outlook', 200, seconds);
  const text = await m.registry.metrics();
  t.match(text, /# TYPE mail_autoconfig_request_duration_seconds histogram/);
  t.same(series(text, 'mail_autoconfig_request_duration_seconds'), [
    'mail_autoconfig_request_duration_seconds_bucket{le="0.0005",format="outlook"} 2',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.001",format="outlook"} 3',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.0025",format="outlook"} 3',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.005",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.01",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.025",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.05",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.1",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="0.25",format="outlook"} 4',
    'mail_autoconfig_request_duration_seconds_bucket{le="1",format="outlook"} 5',
    'mail_autoconfig_request_duration_seconds_bucket{le="+Inf",format="outlook"} 6',
    `mail_autoconfig_request_duration_seconds_sum{format="outlook"} ${0.0004 + 0.0005 + 0.0007 + 0.004 + 0.3 + 2}`,
    'mail_autoconfig_request_duration_seconds_count{format="outlook"} 6',
  ]);
});

t.test('the series are in the JSON export and reset with the registry', async (t) => {
  const m = metrics();
  m.observe('thunderbird', 200, 0.001);
  const json = await m.registry.getMetricsAsJSON();
  const counter = json.find((metric) => metric.name === 'mail_autoconfig_requests_total');
  t.same(counter?.values, [{ labels: { format: 'thunderbird', status: '200' }, value: 1 }]);
  m.registry.resetMetrics();
  t.same(series(await m.registry.metrics(), 'mail_autoconfig_request'), []);
});

t.test('MX lookups: asked, from the cache, coalesced, refused as busy, DNS packets, and how each lookup ended', async (t) => {
  // A real resolver against a DNS server on loopback that answers a., fails b. and never answers slow.
  const server = await startFakeDnsServer(t, (query, raw) => {
    const name = query.questions?.[0]?.name;
    if (name === 'a.example') return mxAnswer([{ host: 'mx1.mx.hoster.example', preference: 10 }], 300)(query, raw);
    if (name === 'b.example') return rcodeAnswer('SERVFAIL')(query, raw);
    return blackHole(query, raw);
  });
  const mx = new MxResolver({ servers: [server.server], timeoutMs: 300, maxInFlight: 2 });
  const m = metrics();
  m.watchHosterSources(undefined, mx);
  await mx.resolve('a.example');
  await mx.resolve('a.example');
  // b. and slow. fill the two places; the second b. joins the first; c. finds no place.
  await Promise.all([mx.resolve('b.example'), mx.resolve('b.example'), mx.resolve('slow.example'), mx.resolve('c.example')]);
  const text = await m.registry.metrics();
  t.match(text, /# TYPE mail_autoconfig_mx_lookups_total counter/);
  t.same(series(text, 'mail_autoconfig_mx_'), [
    'mail_autoconfig_mx_lookups_total 6',
    'mail_autoconfig_mx_cache_hits_total 1',
    'mail_autoconfig_mx_coalesced_total 1',
    'mail_autoconfig_mx_busy_total 1',
    // a. once, b. once (SERVFAIL: no other server to ask), slow. twice (sent again after half the timeout).
    'mail_autoconfig_mx_dns_queries_total 4',
    'mail_autoconfig_mx_answers_total{answer="mx"} 1',
    'mail_autoconfig_mx_answers_total{answer="no_mx"} 0',
    'mail_autoconfig_mx_answers_total{answer="nxdomain"} 0',
    'mail_autoconfig_mx_answers_total{answer="servfail"} 1',
    'mail_autoconfig_mx_answers_total{answer="timeout"} 1',
    'mail_autoconfig_mx_answers_total{answer="garbage"} 0',
    'mail_autoconfig_mx_in_flight 0',
    // a. for its TTL, b. and slow. for the few seconds failures are kept.
    'mail_autoconfig_mx_cache_entries 3',
  ]);
});

t.test('domain databases: counts for all of them, a series by provider only for the failing ones', async (t) => {
  const m = metrics();
  let summary: DomainSourcesSummary = {
    sources: 3,
    domains: 120_010,
    oldestSuccessAt: '2025-03-01T12:00:00.000Z',
    down: [
      { provider: 'was-read', ok: false, domains: 10, lastError: 'connection refused', lastSuccessAt: '2025-03-01T12:00:00.000Z' },
      { provider: 'never-read', ok: false, domains: 0, lastError: 'connection refused', lastSuccessAt: undefined },
    ],
  };
  m.watchHosterSources({ summary: () => summary }, undefined);
  const seconds = Date.parse('2025-03-01T12:00:00Z') / 1000;
  t.same(series(await m.registry.metrics(), 'mail_autoconfig_domain_source'), [
    'mail_autoconfig_domain_sources 3',
    'mail_autoconfig_domain_sources_down 2',
    'mail_autoconfig_domain_sources_domains 120010',
    `mail_autoconfig_domain_sources_oldest_success_timestamp_seconds ${seconds}`,
    'mail_autoconfig_domain_source_down{provider="was-read"} 1',
    'mail_autoconfig_domain_source_down{provider="never-read"} 1',
    `mail_autoconfig_domain_source_last_success_timestamp_seconds{provider="was-read"} ${seconds}`,
  ], 'no timestamp for a source never read');
  summary = { sources: 2_000, domains: 1_000_000, oldestSuccessAt: undefined, down: [] };
  const text = await m.registry.metrics();
  t.same(series(text, 'mail_autoconfig_domain_source'), [
    'mail_autoconfig_domain_sources 2000',
    'mail_autoconfig_domain_sources_down 0',
    'mail_autoconfig_domain_sources_domains 1000000',
  ], 'every source up: four samples or fewer, whatever their number');
  t.same(series(text, 'mail_autoconfig_mx_'), [], 'no MX series without a resolver');
});

t.test("a scrape reads the domain databases' state once for all series, and the next scrape reads it again", async (t) => {
  const m = metrics();
  let reads = 0;
  let domains = 10;
  m.watchHosterSources({ summary: () => (reads++, { sources: 1, domains, oldestSuccessAt: undefined, down: [] }) }, undefined);
  t.match(await m.text(), /^mail_autoconfig_domain_sources_domains 10$/m);
  t.equal(reads, 1, 'one read for every series of the sources');
  domains = 11;
  const [first, second] = await Promise.all([m.text(), m.text()]);
  t.match(first, /^mail_autoconfig_domain_sources_domains 11$/m, 'not the last scrape\'s snapshot');
  t.match(second, /^mail_autoconfig_domain_sources_domains 11$/m);
  t.equal(reads, 2, 'two scrapes at once share one read');
  domains = 12;
  t.match(await m.registry.metrics(), /^mail_autoconfig_domain_sources_domains 12$/m, 'outside text(), no snapshot is kept');
});
