/**
 * Prometheus metrics (prom-client): requests by format and status, latency,
 * catalog reloads, catalog size, certificate lifetimes, the hosters' domain
 * databases and MX lookups. One registry per application, so several apps
 * in one process (tests) do not collide.
 */
import type { LoginLookupReadiness } from '../directory/logins.js';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Catalog } from '../catalog/catalog.js';
import type { DomainSourcesSummary } from '../sources/domain-sources.js';
import type { MxAnswerKind, MxResolverStats } from '../sources/mx.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new RequestStatistics();
  readonly reloads: Counter;
  readonly reloadFailures: Counter;
  /** Scrapes in progress, and what they read of the hosters' sources (taken by the first series that needs it). */
  private scrapes = 0;
  private scrapedSources: DomainSourcesSummary | undefined;

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
   * The log-in lookups of the providers' directories (directory/logins.ts),
   * read at scrape time: their counts, and whether a directory is down (left
   * alone after a failure, answers going out without looked-up names).
   */
  watchLoginLookups(readiness: () => readonly LoginLookupReadiness[]): void {
    this.registry.registerMetric(readAtScrape(
      'mail_autoconfig_login_lookups_total',
      'Log-in lookups by provider and event: lookups, cache_hits, coalesced, directory_queries, found, not_found, answer_errors, failures, timeouts, skipped_while_down.',
      'counter',
      () => readiness().flatMap(({ provider, state }) =>
        Object.entries(state.counts).map(([event, value]) => ({ labels: { provider, event: event.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, value }))),
    ));
    this.registry.registerMetric(readAtScrape(
      'mail_autoconfig_login_directory_down',
      'Whether the provider\'s log-in directory is left alone after a failure (1) or asked (0).',
      'gauge',
      () => readiness().map(({ provider, state }) => ({ labels: { provider }, value: state.down ? 1 : 0 })),
    ));
  }

  /**
   * The hosters' sources (issue 21): the PostgreSQL domain lists' state,
   * and what the MX lookups did. Read from the sources at scrape time: they
   * count anyway (for /readyz and tests), so there is no copy to keep in step.
   */
  watchHosterSources(domainSources: { summary(): DomainSourcesSummary } | undefined, mx: { stats(): MxResolverStats } | undefined): void {
    const register = (name: string, help: string, type: 'counter' | 'gauge', values: () => MetricValue<string>[]): void =>
      this.registry.registerMetric(readAtScrape(name, help, type, values));
    // A series without labels; none while there is no value (a time never reached).
    const single = (read: () => number | undefined) => (): MetricValue<string>[] => {
      const value = read();
      return value === undefined ? [] : [{ labels: {}, value }];
    };
    if (domainSources) {
      // The series of one scrape read one summary of the sources (text() takes it).
      const summary = (): DomainSourcesSummary => (this.scrapes === 0 ? domainSources.summary() : (this.scrapedSources ??= domainSources.summary()));
      const one = (read: (summary: DomainSourcesSummary) => number | undefined) => single(() => read(summary()));
      const seconds = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso) / 1000);
      // Counts, whatever the number of sources; a series per provider only for the failing ones, which need a person.
      register('mail_autoconfig_domain_sources', 'Providers whose domains come from a database (domainsQuery).', 'gauge', one((s) => s.sources));
      register('mail_autoconfig_domain_sources_down', 'Domain databases whose last read failed (their last good lists are served).', 'gauge', one((s) => s.down.length));
      register('mail_autoconfig_domain_sources_domains', 'Domains of the domain databases\' last good reads, all providers together.', 'gauge', one((s) => s.domains));
      register('mail_autoconfig_domain_sources_oldest_success_timestamp_seconds', 'The oldest of the domain databases\' last successful reads (Unix time).', 'gauge',
        one((s) => seconds(s.oldestSuccessAt)));
      register('mail_autoconfig_domain_source_down', 'A provider whose domain database\'s last read failed (1; only such providers have the series).', 'gauge', () =>
        summary().down.map((source) => ({ labels: { provider: source.provider }, value: 1 })));
      register('mail_autoconfig_domain_source_last_success_timestamp_seconds', 'When a failing provider\'s domain database was last read successfully (Unix time; only failing providers that were ever read).', 'gauge', () =>
        summary().down.flatMap((source) => (source.lastSuccessAt === undefined ? [] : [{ labels: { provider: source.provider }, value: seconds(source.lastSuccessAt)! }])));
    }
    if (mx) {
      const one = (read: (stats: MxResolverStats) => number) => single(() => read(mx.stats()));
      register('mail_autoconfig_mx_lookups_total', 'MX lookups asked for (domains no list names, at a provider with mxPatterns).', 'counter', one((s) => s.lookups));
      register('mail_autoconfig_mx_cache_hits_total', 'MX lookups answered from the cache.', 'counter', one((s) => s.cacheHits));
      register('mail_autoconfig_mx_coalesced_total', 'MX lookups that joined one in flight for the same domain.', 'counter', one((s) => s.coalesced));
      register('mail_autoconfig_mx_busy_total', 'MX lookups refused because too many were in flight (answered 503).', 'counter', one((s) => s.busy));
      register('mail_autoconfig_mx_dns_queries_total', 'DNS packets sent for MX lookups (UDP attempts and TCP retries).', 'counter', one((s) => s.queries));
      register('mail_autoconfig_mx_answers_total', 'MX lookups that went to DNS, by how they ended (servfail, timeout and garbage are answered 503).', 'counter', () =>
        Object.entries(mx.stats().answers).map(([kind, value]) => ({ labels: { answer: ANSWER_LABELS[kind as MxAnswerKind] }, value })));
      register('mail_autoconfig_mx_in_flight', 'MX lookups in flight now.', 'gauge', one((s) => s.inFlight));
      register('mail_autoconfig_mx_cache_entries', 'Domains whose MX answer is cached.', 'gauge', one((s) => s.cached));
    }
  }

  observe(format: string, status: number, seconds: number): void {
    this.requests.observe(format, status, seconds);
  }

  /**
   * The Prometheus text of every metric. What the series of the hosters'
   * sources read is taken once for the scrape, not once per series: a
   * hoster's scrape reads thousands of sources, on the serving thread
   * (docs/performance.md).
   */
  async text(): Promise<string> {
    this.scrapes++;
    try {
      return await this.registry.metrics();
    } finally {
      if (--this.scrapes === 0) this.scrapedSources = undefined;
    }
  }
}

/** Label values in Prometheus' snake case. */
const ANSWER_LABELS: Record<MxAnswerKind, string> = { mx: 'mx', noMx: 'no_mx', nxdomain: 'nxdomain', servfail: 'servfail', timeout: 'timeout', garbage: 'garbage' };

/**
 * A metric for a prom-client registry whose values are read when scraped.
 * The registry needs only name, help, type, get() and reset()
 * (Registry.resetMetrics); `reset` forgets what the values are read from,
 * where that is ours to forget.
 */
function readAtScrape(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => MetricValue<string>[], reset: () => void = () => {}): Metric {
  const metric = { name, help, type, aggregator: 'sum' as const };
  const get = async (): Promise<MetricObjectWithValues<MetricValue<string>>> => ({ ...metric, values: values() }) as unknown as MetricObjectWithValues<MetricValue<string>>;
  return { ...metric, get, reset } as unknown as Metric;
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
    const reset = (): void => this.formats.clear();
    const counter = readAtScrape('mail_autoconfig_requests_total', 'Requests answered, by format and HTTP status.', 'counter', () =>
      [...this.formats].flatMap(([format, record]) => [...record.byStatus].map(([status, value]) => ({ labels: { format, status: String(status) }, value }))), reset);
    const histogram = readAtScrape('mail_autoconfig_request_duration_seconds', 'Time to answer a request, by format.', 'histogram', (): MetricValue<string>[] =>
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
      }), reset);
    return [counter, histogram];
  }
}
