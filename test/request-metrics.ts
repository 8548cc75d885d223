/**
 * Request counts and latencies are kept as plain numbers and read by the
 * Prometheus registry at scrape time; the series must read as a counter and
 * a histogram would.
 */
import t from 'tap';
import type { Catalog } from '../src/catalog/catalog.js';
import { Metrics } from '../src/server/metrics.js';

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
