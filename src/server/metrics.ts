/**
 * Prometheus metrics (prom-client): requests by format and status, latency,
 * catalog reloads, catalog size, certificate lifetimes. One registry per
 * application, so several apps in one process (tests) do not collide.
 */
import type { LoginLookupReadiness } from '../directory/logins.js';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Catalog } from '../catalog/catalog.js';


export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new RequestStatistics();
  readonly reloads: Counter;
  readonly reloadFailures: Counter;

  constructor(catalog: () => Catalog, certificates: () => { name: string; notAfter: Date | undefined }[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mail_autoconfig_' });
    for (const metric of this.requests.metrics()) this.registry.registerMetric(metric);
    this.reloads = new Counter({ name: 'mail_autoconfig_catalog_reloads_total', help: 'Catalog reloads attempted.', registers });
    this.reloadFailures = new Counter({ name: 'mail_autoconfig_catalog_reload_failures_total', help: 'Catalog reloads that failed or left a file at its last good version.', registers });
    new Gauge({ name: 'mail_autoconfig_providers', help: 'Providers in service.', registers, collect() { this.set(catalog().providers.length); } });
    new Gauge({ name: 'mail_autoconfig_domains', help: 'Mail domains in service.', registers, collect() { this.set(catalog().domainCount); } });
    new Gauge({ name: 'mail_autoconfig_provider_files_skipped', help: 'Provider files not served because of errors.', registers, collect() { this.set(catalog().rejectedFiles.length); } });
    new Gauge({
      name: 'mail_autoconfig_certificate_expiry_seconds',
      help: 'Seconds until a certificate expires (signing: Apple profiles; tls: HTTPS).',
      labelNames: ['certificate'],
      registers,
      collect() {
        this.reset();
        for (const { name, notAfter } of certificates()) {
          if (notAfter) this.set({ certificate: name }, Math.round((notAfter.getTime() - Date.now()) / 1000));
        }
      },
    });
  }

  /**
   * The longest event-loop delay since the previous scrape (a reload must
   * never stop the answers; bench/load-faults.mjs reads it around a reload
   * of a million domains).
   */
  watchEventLoop(): void {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    new Gauge({
      name: 'mail_autoconfig_event_loop_delay_max_seconds',
      help: 'Longest event-loop delay since the previous scrape.',
      registers: [this.registry],
      collect() {
        this.set(delay.max / 1e9);
        delay.reset();
      },
    });
  }

  /** Count the log lines dropped while standard output was not read (log-output.ts). */
  countDroppedLogLines(dropped: () => number): void {
    let counted = 0;
    new Counter({
      name: 'mail_autoconfig_log_lines_dropped_total',
      help: 'Log lines dropped because standard output was not read fast enough.',
      registers: [this.registry],
      collect() {
        const now = dropped();
        this.inc(now - counted);
        counted = now;
      },
    });
  }

  /**
   * The log-in lookups of the providers' directories (directory/logins.ts):
   * their counts as they are when scraped, and whether a directory is down
   * (left alone after a failure, answers going out without looked-up names).
   */
  watchLoginLookups(readiness: () => readonly LoginLookupReadiness[]): void {
    new Counter({
      name: 'mail_autoconfig_login_lookups_total',
      help: 'Log-in lookups by provider and event: lookups, cache_hits, coalesced, directory_queries, found, not_found, answer_errors, failures, timeouts, skipped_while_down.',
      labelNames: ['provider', 'event'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, state } of readiness()) {
          for (const [event, count] of Object.entries(state.counts)) this.inc({ provider, event: event.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, count);
        }
      },
    });
    new Gauge({
      name: 'mail_autoconfig_login_directory_down',
      help: 'Whether the provider\'s log-in directory is left alone after a failure (1) or asked (0).',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, state } of readiness()) this.set({ provider }, state.down ? 1 : 0);
      },
    });
  }

  observe(format: string, status: number, seconds: number): void {
    this.requests.observe(format, status, seconds);
  }
}

/** Upper bounds of the latency histogram's buckets, in seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface FormatRecord {
  readonly byStatus: Map<number, number>;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * Requests by format and status, and their latency by format, kept as plain
 * numbers and turned into Prometheus series only when scraped.
 *
 * Why not prom-client's Counter and Histogram: they hash the label set and
 * turn the bucket bound into a property name on every observation, even for
 * label-bound children, a noticeable share of a whole request's CPU time
 * (docs/performance.md). The series read exactly as prom-client's
 * would (mail_autoconfig_requests_total{format,status},
 * mail_autoconfig_request_duration_seconds_bucket{le,format}, _sum, _count);
 * the registry formats them.
 */
class RequestStatistics {
  private readonly formats = new Map<string, FormatRecord>();

  observe(format: string, status: number, seconds: number): void {
    let record = this.formats.get(format);
    if (record === undefined) {
      record = { byStatus: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.formats.set(format, record);
    }
    record.byStatus.set(status, (record.byStatus.get(status) ?? 0) + 1);
    // A bucket counts the observations up to and including its bound (Prometheus' le).
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    record.buckets[bucket]!++;
    record.sum += seconds;
    record.count++;
  }

  /** The two series as metrics for a prom-client registry, read at scrape time. */
  metrics(): Metric[] {
    const counter = {
      name: 'mail_autoconfig_requests_total',
      help: 'Requests answered, by format and HTTP status.',
      type: 'counter',
      aggregator: 'sum',
      values: (): MetricValue<string>[] =>
        [...this.formats].flatMap(([format, record]) => [...record.byStatus].map(([status, value]) => ({ labels: { format, status: String(status) }, value }))),
    };
    const histogram = {
      name: 'mail_autoconfig_request_duration_seconds',
      help: 'Time to answer a request, by format.',
      type: 'histogram',
      aggregator: 'sum',
      values: (): MetricValue<string>[] =>
        [...this.formats].flatMap(([format, record]) => {
          let cumulative = 0;
          const bucketName = 'mail_autoconfig_request_duration_seconds_bucket';
          const values: (MetricValue<string> & { metricName: string })[] = DURATION_BUCKETS.map((le, i) => {
            cumulative += record.buckets[i]!;
            return { metricName: bucketName, labels: { le, format }, value: cumulative };
          });
          values.push(
            { metricName: bucketName, labels: { le: '+Inf', format }, value: record.count },
            { metricName: 'mail_autoconfig_request_duration_seconds_sum', labels: { format }, value: record.sum },
            { metricName: 'mail_autoconfig_request_duration_seconds_count', labels: { format }, value: record.count },
          );
          return values;
        }),
    };
    return [counter, histogram].map(({ values, ...metric }) => {
      const get = async (): Promise<MetricObjectWithValues<MetricValue<string>>> => ({ ...metric, values: values() }) as unknown as MetricObjectWithValues<MetricValue<string>>;
      // The registry needs only name, help, type, get() and reset() (Registry.resetMetrics).
      return { ...metric, get, reset: () => this.formats.clear() } as unknown as Metric;
    });
  }
}
