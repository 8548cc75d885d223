/**
 * Prometheus metrics (prom-client): requests by format and status, latency,
 * catalog reloads, catalog size, certificate lifetimes. One registry per
 * application, so several apps in one process (tests) do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Catalog } from '../catalog/catalog.js';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'format' | 'status'>;
  private readonly duration: Histogram<'format'>;
  readonly reloads: Counter;
  readonly reloadFailures: Counter;

  constructor(catalog: () => Catalog, certificates: () => { name: string; notAfter: Date | undefined }[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mail_autoconfig_' });
    this.requests = new Counter({ name: 'mail_autoconfig_requests_total', help: 'Requests answered, by format and HTTP status.', labelNames: ['format', 'status'], registers });
    this.duration = new Histogram({
      name: 'mail_autoconfig_request_duration_seconds',
      help: 'Time to answer a request, by format.',
      labelNames: ['format'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
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

  /** Label-bound children, looked up once per (format, status) rather than hashed per request. */
  private readonly children = new Map<string, { count: () => void; time: (seconds: number) => void }>();

  observe(format: string, status: number, seconds: number): void {
    const key = `${format} ${status}`;
    let child = this.children.get(key);
    if (!child) {
      const counter = this.requests.labels(format, String(status));
      const histogram = this.duration.labels(format);
      child = { count: () => counter.inc(), time: (s) => histogram.observe(s) };
      this.children.set(key, child);
    }
    child.count();
    child.time(seconds);
  }
}
