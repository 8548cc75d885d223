/**
 * serve: load the catalog, start the HTTP server, reload on SIGHUP, stop
 * gracefully on SIGTERM/SIGINT.
 */
import { summarize, type Catalog } from '../catalog/catalog.js';
import { CatalogStore } from '../catalog/store.js';
import { formatProblem } from '../catalog/problems.js';
import { SignerSource } from '../formats/signing.js';
import { buildApp } from '../server/app.js';
import type { Settings } from './options.js';

/** Longest wait for requests in flight at shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serve(settings: Settings): Promise<void> {
  const store = await CatalogStore.open(settings.providers);
  const catalog = store.current();
  if (catalog.providers.length === 0) {
    for (const problem of catalog.problems) console.error(formatProblem(problem));
    throw new Error(
      catalog.rejectedFiles.length === 0
        ? `no provider files (*.yaml) found in ${settings.providers.join(', ')}`
        : `none of the ${catalog.rejectedFiles.length} provider file(s) is valid; nothing to serve`,
    );
  }
  const signer = settings.signingKey && settings.signingCert ? new SignerSource({ keyFile: settings.signingKey, certFile: settings.signingCert }) : undefined;
  const app = await buildApp(
    {
      catalog: () => store.current(),
      store,
      identifierPrefix: settings.identifierPrefix,
      ...(settings.publicBaseUrl ? { publicBaseUrl: settings.publicBaseUrl } : {}),
      ...(signer ? { signer } : {}),
    },
    { logger: { level: settings.logLevel } },
  );
  const log = app.log;
  const report = (c: Catalog, what: string): void => {
    for (const problem of c.problems) log[problem.severity === 'error' ? 'error' : 'warn']({ problem: formatProblem(problem) }, 'provider file problem');
    log.info({ providers: c.providers.length, domains: c.domainCount, skipped: c.rejectedFiles }, `${what}: ${summarize(c)}`);
  };
  report(catalog, 'catalog loaded');
  if (signer) {
    await signer.reloadIfChanged();
    if (signer.lastError) log.error({ error: signer.lastError }, 'signing certificate unusable; profiles are served unsigned until it is fixed');
    else log.info('Apple profiles are signed');
  } else {
    log.info('no signing certificate configured: Apple profiles are served unsigned');
  }

  store.onReload = (outcome) => {
    if (outcome.error) log.error({ error: outcome.error }, 'reload failed; the catalog in service stays');
    report(outcome.catalog, outcome.staleFiles.length ? `catalog reloaded, ${outcome.staleFiles.length} broken file(s) kept at their last good version` : 'catalog reloaded');
  };
  await store.watch();
  process.on('SIGHUP', () => void store.reload());

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing requests in flight');
    const timer = setTimeout(() => {
      log.warn('requests still in flight after the grace period; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    store.close();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await app.listen({ host: settings.host, port: settings.port });
}
