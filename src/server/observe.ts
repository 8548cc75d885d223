/**
 * What every answered request leaves behind, the same from the front and
 * from Fastify: one log line (format, domain, status, duration, the reason
 * of a refusal; never the address, the query or a header) and the metrics.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Served } from './context.js';
import type { Metrics } from './metrics.js';

const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

export function logRequest(log: FastifyBaseLogger, metrics: Metrics | undefined, method: string, url: string, served: Served | null, status: number, ms: number): void {
  metrics?.observe(served?.format ?? 'other', status, ms / 1000);
  if (ABOVE_INFO.has(log.level)) return;
  const queryAt = url.indexOf('?');
  const path = (queryAt < 0 ? url : url.slice(0, queryAt)).slice(0, 200);
  log.info(
    {
      method,
      // Never an address: /autodiscover/autodiscover.json/v1.0/<address> carries one in the path.
      path: path.includes('@') || path.includes('%') ? path.replace(/[^/]*(?:@|%40)[^/]*/gi, '<address>') : path,
      format: served?.format ?? null,
      domain: served?.domain ?? null,
      ...(served?.reason !== undefined ? { reason: served.reason } : {}),
      status,
      ms: Math.round(ms * 100) / 100,
    },
    'request',
  );
}

/**
 * HSTS, but never on autoconfig.<domain> or autodiscover.<domain>: Thunderbird falls back to
 * plain HTTP there (mailcow#2193: includeSubDomains broke its fetch).
 */
export function wantsHsts(hostname: string): boolean {
  return !/^auto(?:config|discover)\./i.test(hostname);
}
