/**
 * What every answered request leaves behind, the same from the front and
 * from Fastify: one log line (format, domain, status, duration, the reason
 * of a refusal, the host the client asked on; never the address, the query
 * or any other header) and the metrics.
 */
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { hostWithoutPort, type Served } from '../answers/exchange.js';
import type { RequestMetrics } from '../answers/context.js';

const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);
const { streamSym, chindingsSym, timeSym, messageKeySym, mixinSym, formattersSym, hooksSym, nestedKeySym, stringifiersSym, needsMetadataGsym } = pino.symbols;

// A prefix for every message (pino 8.11+); missing from pino's type declarations.
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol>).msgPrefixSym!;

interface LineStream {
  write(line: string): unknown;
}

/**
 * The stream of a pino logger that writes pino's default line (level as a
 * number, epoch time, bindings, "msg"), and so can take a request line
 * written by hand; undefined for any other logger (custom formatters,
 * message key, time, mixin, hooks, redaction, or a stream that wants
 * pino's metadata), which then gets log.info.
 */
const plainStreams = new WeakMap<object, LineStream | null>();
function plainStream(log: FastifyBaseLogger): LineStream | undefined {
  let stream = plainStreams.get(log);
  if (stream === undefined) {
    const l = log as unknown as Record<symbol, unknown> & { levels?: { values?: Record<string, number> } };
    const formatters = l[formattersSym] as { log?: unknown; level?: (label: string, value: number) => unknown } | undefined;
    const hooks = l[hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
    const candidate = l[streamSym] as (LineStream & Record<symbol, unknown>) | undefined;
    const plain =
      typeof candidate?.write === 'function' &&
      !candidate[needsMetadataGsym] &&
      typeof l[chindingsSym] === 'string' &&
      l[timeSym] === pino.stdTimeFunctions.epochTime &&
      l[messageKeySym] === 'msg' &&
      !l[mixinSym] &&
      !l[msgPrefixSym] &&
      !l[nestedKeySym] &&
      Object.keys((l[stringifiersSym] as object | undefined) ?? {}).length === 0 &&
      formatters?.log === undefined &&
      JSON.stringify(formatters?.level?.('info', 30)) === '{"level":30}' &&
      hooks?.logMethod === undefined &&
      hooks?.streamWrite === undefined &&
      l.levels?.values?.info === 30;
    stream = plain ? candidate : null;
    plainStreams.set(log, stream);
  }
  return stream ?? undefined;
}

/**
 * The host a request came on, for the log: a hoster's requests arrive on its
 * service hosts (autoconfig.hoster.example) and on autoconfig.<customer
 * domain>, and which one a refused request used is what an admin asks
 * first. Lower case, without the port; null when absent, "<invalid>" when it
 * is no host name or IP literal (a Host header is the client's to fill).
 */
export function loggedHost(host: string | undefined): string | null {
  if (host === undefined || host === '') return null;
  const name = hostWithoutPort(host).toLowerCase();
  return /^(?:[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?|\[[0-9a-f:.]{2,45}\])$/.test(name) && name.length <= 254 ? name : '<invalid>';
}

export function logRequest(log: FastifyBaseLogger, metrics: RequestMetrics | undefined, method: string, url: string, host: string | undefined, served: Served | null, status: number, ms: number): void {
  metrics?.observe(served?.format ?? 'other', status, ms / 1000);
  if (ABOVE_INFO.has(log.level)) return;
  const queryAt = url.indexOf('?');
  const fullPath = queryAt < 0 ? url : url.slice(0, queryAt);
  // Never an address: /autodiscover/autodiscover.json/v1.0/<address> carries one in the path.
  // Replaced before the cut: cut first, a long local part before its @ was logged.
  const path = (fullPath.includes('@') || fullPath.includes('%') ? fullPath.replace(/[^/]*(?:@|%40)[^/]*/gi, '<address>') : fullPath).slice(0, 200);
  const hostName = loggedHost(host);
  const format = served?.format ?? null;
  const domain = served?.domain ?? null;
  const reason = served?.reason;
  // pino writes null for a number JSON cannot hold.
  const rounded = Number.isFinite(ms) ? Math.round(ms * 100) / 100 : null;
  const stream = plainStream(log);
  if (stream === undefined) {
    log.info({ method, path, host: hostName, format, domain, ...(reason !== undefined ? { reason } : {}), status, ms: rounded }, 'request');
    return;
  }
  // The same line pino writes for log.info({ method, path, host: hostName, format, domain, reason?, status, ms }, 'request')
  // with its default format (level number, epoch time, the logger's bindings), built
  // directly: pino's generic serialisation cost more than the answer (test/request-log.ts).
  stream.write(
    `{"level":30,"time":${Date.now()}${(log as unknown as Record<symbol, string>)[chindingsSym]},"method":${JSON.stringify(method)},"path":${JSON.stringify(path)},"host":${JSON.stringify(hostName)},"format":${JSON.stringify(format)},"domain":${JSON.stringify(domain)}${reason !== undefined ? `,"reason":${JSON.stringify(reason)}` : ''},"status":${status},"ms":${rounded},"msg":"request"}\n`,
  );
}

/**
 * HSTS, but never on autoconfig.<domain> or autodiscover.<domain>: Thunderbird falls back to
 * plain HTTP there (mailcow#2193: includeSubDomains broke its fetch).
 */
export function wantsHsts(hostname: string): boolean {
  return !/^auto(?:config|discover)\./i.test(hostname);
}
