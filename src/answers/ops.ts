/**
 * Operations: /healthz (the process answers), /readyz (a catalog is in
 * service; its counts, the names of files with problems, the signer's
 * state), Caddy's on-demand TLS "ask", and /metrics behind a bearer token.
 * /readyz is public (the plain-HTTP port too): the problems themselves,
 * which quote the files, are shown only with the metrics bearer token;
 * they are in the log and in `validate` too.
 */
import { basename } from 'node:path';
import { formatProblem } from '../catalog/problems.js';
import { normalizeDomain } from '../mailbox.js';
import { bearerMatches } from './bearer.js';
import { findProvider, settle } from './lookup.js';
import type { ServerContext } from './context.js';
import { jsonAnswer, lineAnswer, queryParameter, Refusal, type Answer, type Exchange, type Respond, type Served } from './exchange.js';

const OPS: Served = { format: 'ops' };
const NO_STORE_TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

/** Warn this long before the signing certificate expires. */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;
/** Failing domain databases named one by one in /readyz's warnings; beyond, one line counts the rest. */
const DOWN_SOURCES_NAMED = 10;

export function healthz(): Answer {
  return jsonAnswer(200, { status: 'ok' }, OPS);
}

/**
 * Caddy's on_demand_tls "ask": a certificate only for autoconfig.<d>,
 * autodiscover.<d> and ua-auto-config.<d> (PACC: clients fetch it over
 * https only) of domains served here, so nobody can make Caddy fetch
 * certificates for arbitrary names (https://caddyserver.com/docs/automatic-https#on-demand-tls).
 */
export function caddyAsk(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  const raw = queryParameter(exchange.query, ['domain']);
  if (typeof raw !== 'string' || raw === '') return lineAnswer(400, 'add ?domain=<host name>', OPS);
  const name = normalizeDomain(raw);
  const ok = lineAnswer(200, 'ok', OPS, NO_STORE_TEXT);
  const refused = lineAnswer(404, 'no certificate for this name: not an autoconfig, autodiscover or ua-auto-config host of a domain served here', OPS, NO_STORE_TEXT);
  // A hoster's own service host names get theirs too.
  if (name !== null && context.catalog().byServiceHost(name) !== undefined) return ok;
  const match = name ? /^(?:autoconfig|autodiscover|ua-auto-config)\.(.+)$/.exec(name) : null;
  if (!match) return refused;
  // The same rule as the answers: listed, from a database, or found by MX.
  return settle(findProvider(context, match[1]!, undefined), (lookup) =>
    lookup instanceof Refusal ? (lookup.status === 503 ? lineAnswer(503, lookup.reason, OPS, NO_STORE_TEXT) : refused) : ok,
  );
}

export async function readyz(context: ServerContext, exchange: Exchange, metricsToken: string | undefined): Promise<Answer> {
  const catalog = context.catalog();
  const signer = context.signer ? await context.signer.current() : undefined;
  const warnings: string[] = [];
  if (catalog.rejectedFiles.length > 0) warnings.push(`${catalog.rejectedFiles.length} provider file(s) skipped because of errors`);
  if (signer && signer.notAfter.getTime() - Date.now() < EXPIRY_WARNING_MS) {
    warnings.push(`the signing certificate expires ${signer.notAfter.toISOString()}`);
  }
  if (context.signer?.lastError) warnings.push(`signing certificate: ${context.signer.lastError}`);
  if (context.tls && context.tls.notAfter.getTime() - Date.now() < EXPIRY_WARNING_MS) warnings.push(`the TLS certificate expires ${context.tls.notAfter.toISOString()}`);
  if (context.tls?.lastError) warnings.push(`TLS certificate: ${context.tls.lastError}`);
  for (const warning of [context.signer?.permissionWarning, context.tls?.permissionWarning]) if (warning) warnings.push(warning);
  const full = bearerMatches(exchange.headers.authorization, metricsToken);
  const reload = context.store?.lastReload;
  // The reason of a failed reload may quote a file or a path.
  const reloadError = reload?.error === undefined ? null : full ? reload.error : 'the last reload failed; the catalog in service stays';
  if (reloadError) warnings.push(reloadError);
  if (reload?.staleFiles.length) warnings.push(`${reload.staleFiles.length} provider file(s) are broken; their last good version is served`);
  const domainSources = context.domainSources?.summary();
  const down = domainSources?.down ?? [];
  // One line per failing source while a person can read them; a shared database that is down fails thousands at once.
  for (const source of down.slice(0, DOWN_SOURCES_NAMED)) {
    warnings.push(`the domain database of provider ${source.provider} cannot be read; its last good list of ${source.domains} domain(s) is served`);
  }
  if (down.length > DOWN_SOURCES_NAMED) warnings.push(`${down.length - DOWN_SOURCES_NAMED} more providers' domain databases cannot be read; their last good lists are served (domainSources.down names them)`);
  const logins = context.logins?.readiness() ?? [];
  for (const { provider, state } of logins) {
    if (state.down) warnings.push(`the log-in directory of provider ${provider} does not answer; answers carry the provider's user names until it does`);
  }
  if (context.lifecycle?.stopping) return jsonAnswer(503, { status: 'stopping' }, OPS);
  const ready = catalog.providers.length > 0;
  return jsonAnswer(
    ready ? 200 : 503,
    {
      status: ready ? (warnings.length ? 'degraded' : 'ready') : 'not ready',
      catalog: {
        providers: catalog.providers.length,
        domains: catalog.domainCount,
        loadedAt: catalog.loadedAt.toISOString(),
        skippedFiles: catalog.rejectedFiles.length,
        problemFiles: [...new Set(catalog.problems.map((p) => basename(p.file)))],
        ...(full ? { problems: catalog.problems.map(formatProblem) } : {}),
        staleFiles: (reload?.staleFiles ?? []).map((f) => (full ? f : basename(f))),
      },
      reload: context.store
        ? { lastAt: reload?.at.toISOString() ?? null, lastError: reloadError, reloads: context.store.reloads, failed: context.store.failedReloads }
        : null,
      signing: context.signer
        ? { configured: true, subject: signer?.subject ?? null, notAfter: signer?.notAfter.toISOString() ?? null, error: context.signer.lastError ?? null }
        : { configured: false },
      tls: context.tls ? { notAfter: context.tls.notAfter.toISOString(), error: context.tls.lastError ?? null } : null,
      // A database that is down keeps its last good list in service: degraded, still ready.
      // Counts, and the failing sources by name (a hoster has thousands; listing each cost the serving thread 10–20 ms).
      domainSources: domainSources === undefined
        ? null
        : {
          ...domainSources,
          oldestSuccessAt: domainSources.oldestSuccessAt ?? null,
          down: domainSources.down.map((s) => ({ ...s, lastSuccessAt: s.lastSuccessAt ?? null, lastError: full ? s.lastError ?? null : 'the last query failed' })),
        },
      // A directory that is down costs looked-up names, not answers: degraded, still ready.
      // Where it is and why it failed only with the token (a host name, a server's message).
      loginLookups: logins.map(({ provider, state }) => ({
        provider,
        down: state.down,
        lastSuccessAt: state.lastSuccessAt?.toISOString() ?? null,
        cacheEntries: state.cacheEntries,
        ...(full ? { directory: state.directory, lastError: state.lastError ?? null, counts: state.counts } : {}),
      })),
      warnings,
    },
    OPS,
  );
}

/** /metrics for requests with `Authorization: Bearer <token>` (compared in constant time). */
export function metricsAnswer(context: ServerContext, token: string): Respond {
  return async (exchange) => {
    if (!bearerMatches(exchange.headers.authorization, token)) {
      return lineAnswer(401, 'a bearer token is required for /metrics', OPS, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
    }
    const text = (await context.metrics?.text()) ?? '';
    return { status: 200, headers: { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }, body: text, served: OPS };
  };
}

/** Prometheus' text exposition format, version 0.0.4 (what prom-client's registry writes). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
