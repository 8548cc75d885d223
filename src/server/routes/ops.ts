/**
 * Operations: /healthz (the process answers) and /readyz (a catalog is in
 * service; its counts, the names of files with problems, the signer's
 * state). /readyz is public (the plain-HTTP port too): the problems
 * themselves, which quote the files, are shown only with the metrics
 * bearer token; they are in the log and in `validate` too.
 */
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { formatProblem } from '../../catalog/problems.js';
import { normalizeDomain } from '../../mailbox.js';
import { bearerMatches } from '../bearer.js';
import type { ServerContext } from '../context.js';
import { PLAIN_TEXT } from '../exchange.js';

/** Warn this long before the signing certificate expires. */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export function opsRoutes(context: ServerContext, metricsToken?: string) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/healthz', async (request, reply) => {
      request.served = { format: 'ops' };
      return reply.header('Cache-Control', 'no-store').send({ status: 'ok' });
    });

    // Caddy's on_demand_tls "ask": a certificate only for autoconfig.<d> and
    // autodiscover.<d> of domains served here, so nobody can make Caddy fetch
    // certificates for arbitrary names (https://caddyserver.com/docs/automatic-https#on-demand-tls).
    app.get('/caddy/ask', async (request, reply) => {
      request.served = { format: 'ops' };
      const raw = (request.query as Record<string, unknown>).domain;
      if (typeof raw !== 'string' || raw === '') return reply.code(400).type(PLAIN_TEXT).send('add ?domain=<host name>\n');
      const name = normalizeDomain(raw);
      const match = name ? /^(?:autoconfig|autodiscover)\.(.+)$/.exec(name) : null;
      const served = match ? context.catalog().byDomain(match[1]!) !== undefined : false;
      return reply
        .code(served ? 200 : 404)
        .type(PLAIN_TEXT)
        .header('Cache-Control', 'no-store')
        .send(served ? 'ok\n' : 'no certificate for this name: not an autoconfig or autodiscover host of a domain served here\n');
    });

    app.get('/readyz', async (request, reply) => {
      request.served = { format: 'ops' };
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
      const full = bearerMatches(request.headers.authorization, metricsToken);
      const reload = context.store?.lastReload;
      // The reason of a failed reload may quote a file or a path.
      const reloadError = reload?.error === undefined ? null : full ? reload.error : 'the last reload failed; the catalog in service stays';
      if (reloadError) warnings.push(reloadError);
      if (reload?.staleFiles.length) warnings.push(`${reload.staleFiles.length} provider file(s) are broken; their last good version is served`);
      if (context.lifecycle?.stopping) {
        return reply.code(503).header('Cache-Control', 'no-store').send({ status: 'stopping' });
      }
      const ready = catalog.providers.length > 0;
      return reply
        .code(ready ? 200 : 503)
        .header('Cache-Control', 'no-store')
        .send({
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
          warnings,
        });
    });
  };
}
