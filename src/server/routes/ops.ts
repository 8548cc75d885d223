/**
 * Operations: /healthz (the process answers) and /readyz (a catalog is in
 * service; its counts, the problems of skipped files, the signer's state).
 */
import type { FastifyInstance } from 'fastify';
import { formatProblem } from '../../catalog/problems.js';
import type { ServerContext } from '../context.js';

/** Warn this long before the signing certificate expires. */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export function opsRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/healthz', async (request, reply) => {
      request.served = { format: 'ops' };
      return reply.header('Cache-Control', 'no-store').send({ status: 'ok' });
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
      const reload = context.store?.lastReload;
      if (reload?.error) warnings.push(reload.error);
      if (reload?.staleFiles.length) warnings.push(`${reload.staleFiles.length} provider file(s) are broken; their last good version is served`);
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
            problems: catalog.problems.map(formatProblem),
            staleFiles: reload?.staleFiles ?? [],
          },
          reload: context.store
            ? { lastAt: reload?.at.toISOString() ?? null, lastError: reload?.error ?? null, reloads: context.store.reloads, failed: context.store.failedReloads }
            : null,
          signing: context.signer
            ? { configured: true, subject: signer?.subject ?? null, notAfter: signer?.notAfter.toISOString() ?? null, error: context.signer.lastError ?? null }
            : { configured: false },
          warnings,
        });
    });
  };
}
