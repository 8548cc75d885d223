/**
 * serve: load the catalog, start the listeners (HTTP, or HTTPS plus an HTTP
 * companion; metrics), reload on SIGHUP and file changes, and stop
 * gracefully on SIGTERM/SIGINT.
 */
import { createServer, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { summarize, type Catalog } from '../catalog/catalog.js';
import { formatProblem } from '../catalog/problems.js';
import { CatalogStore } from '../catalog/store.js';
import { SignerSource } from '../keys/signer-source.js';
import { buildApp } from '../server/app.js';
import type { ServerContext } from '../answers/context.js';
import { METRICS_CONTENT_TYPE } from '../answers/ops.js';
import { Metrics } from '../server/metrics.js';
import { TlsSource } from '../keys/tls-source.js';
import { DomainSources } from '../sources/domain-sources.js';
import { LoginLookups } from '../directory/logins.js';
import { MxResolver } from '../sources/mx.js';
import { logOutput } from './log-output.js';
import type { Settings } from './options.js';

/** Longest wait for requests in flight at shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long an open keep-alive connection may stay silent during the stop. */
const IDLE_GRACE_MS = 1_000;

/**
 * Stop without dropping anything: stop accepting, but serve what arrives on
 * connections already open (a request may be on its way on a connection
 * accepted a moment ago, which http.Server.close() would cut as "idle"),
 * answer with Connection: close, then close what stays silent.
 */
async function drain(app: FastifyInstance): Promise<void> {
  const server = app.server as Server;
  // Before Fastify's own listener: a fast answer would otherwise be sent already.
  server.prependListener('request', (_request, response) => {
    if (!response.headersSent) response.setHeader('Connection', 'close');
  });
  netServerClose.call(server);
  const deadline = Date.now() + IDLE_GRACE_MS;
  while (Date.now() < deadline && (await connections(server)) > 0) await new Promise((r) => setTimeout(r, 50));
  await app.close();
}

const netServerClose = NetServer.prototype.close as (this: NetServer) => NetServer;
const connections = (server: Server) => new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count ?? 0)));

/** The Apple-profile signer the settings name, if any (serve and render share it). */
export function signerFor(settings: Settings): SignerSource | undefined {
  return settings.signingKey && settings.signingCert ? new SignerSource({ keyFile: settings.signingKey, certFile: settings.signingCert }) : undefined;
}

/** The catalog of the first load, or a start-up failure when nothing can be served. */
async function openCatalog(settings: Settings): Promise<CatalogStore> {
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
  return store;
}

/** The log lines of a catalog: each problem, then the summary. */
function reportCatalog(log: FastifyBaseLogger, catalog: Catalog, what: string): void {
  for (const problem of catalog.problems) log[problem.severity === 'error' ? 'error' : 'warn']({ problem: formatProblem(problem) }, 'provider file problem');
  log.info({ providers: catalog.providers.length, domains: catalog.domainCount, skipped: catalog.rejectedFiles }, `${what}: ${summarize(catalog)}`);
}

async function startSigner(signer: SignerSource | undefined, log: FastifyBaseLogger): Promise<void> {
  if (!signer) return void log.info('no signing certificate configured: Apple profiles are served unsigned');
  await signer.reloadIfChanged();
  await signer.watch();
  if (signer.lastError) log.error({ error: signer.lastError }, 'signing certificate unusable; profiles are served unsigned until it is fixed');
  else log.info({ notAfter: signer.loaded?.notAfter }, 'Apple profiles are signed');
  if (signer.permissionWarning) log.warn(signer.permissionWarning);
}

/** Prometheus /metrics on a port of its own (bound to --metrics-host). */
async function startMetricsListener(settings: Settings, metrics: Metrics, log: FastifyBaseLogger): Promise<Server | undefined> {
  if (settings.metricsPort === undefined) return undefined;
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') return void response.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics here\n');
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.metricsPort, settings.metricsHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info({ address: server.address() }, 'metrics listening');
  return server;
}

/** What a stop must close besides the listeners. */
interface Closable {
  close(): unknown;
}

/**
 * SIGTERM/SIGINT: readiness 503 for the shutdown delay, then no new
 * connections, the requests in flight finished, and exit; every request
 * the process read is counted as answered or not.
 */
function installShutdown(settings: Settings, log: FastifyBaseLogger, lifecycle: { stopping: boolean }, apps: readonly FastifyInstance[], closables: readonly (Closable | undefined)[]): void {
  const requests = { received: 0, answered: 0 };
  for (const app of apps) {
    app.server.on('request', (_request, response) => {
      requests.received++;
      response.on('close', () => requests.answered++);
    });
  }
  const stop = (signal: string): void => {
    if (lifecycle.stopping) return;
    lifecycle.stopping = true;
    log.info({ signal, delayMs: settings.shutdownDelayMs }, 'stopping: readiness reports 503; then no new connections, finishing requests in flight');
    const timer = setTimeout(() => {
      log.warn(requests, 'requests still in flight after the grace period; exiting');
      process.exit(1);
    }, settings.shutdownDelayMs + SHUTDOWN_GRACE_MS);
    timer.unref();
    for (const closable of closables.slice(0, -1)) void closable?.close();
    setTimeout(() => {
      void closables.at(-1)?.close();
      Promise.all(apps.map((app) => drain(app))).then(
        () => {
          log.info(requests, 'stopped');
          process.exit(0);
        },
        () => process.exit(1),
      );
    }, settings.shutdownDelayMs);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function serve(settings: Settings): Promise<void> {
  const store = await openCatalog(settings);
  const catalog = store.current();
  const signer = signerFor(settings);
  const tls = settings.tlsCert && settings.tlsKey ? new TlsSource({ certFile: settings.tlsCert, keyFile: settings.tlsKey }) : undefined;
  const metrics = new Metrics(
    () => store.current(),
    () => [
      { name: 'signing', notAfter: signer?.loaded?.notAfter },
      { name: 'tls', notAfter: tls?.notAfter },
    ],
  );
  const lifecycle = { stopping: false };
  // Customer domains from the hosters' databases, and MX lookups for the
  // domains no list names: one of each per process, kept across reloads.
  const sourceLog = {
    info: (line: string) => console.log(JSON.stringify({ level: 30, time: Date.now(), msg: line })),
    warn: (line: string) => console.log(JSON.stringify({ level: 40, time: Date.now(), msg: line })),
  };
  const domainSources = new DomainSources(process.env, sourceLog);
  await domainSources.sync(catalog);
  // Log-in names from the providers' directories: connected on first use, kept across reloads.
  const logins = new LoginLookups(process.env, sourceLog);
  const mx = new MxResolver({ ...(settings.dnsServers.length > 0 ? { servers: [...settings.dnsServers] } : {}), timeoutMs: settings.mxTimeoutMs });
  const context: ServerContext = {
    catalog: () => store.current(),
    store,
    identifierPrefix: settings.identifierPrefix,
    ...(settings.publicBaseUrl ? { publicBaseUrl: settings.publicBaseUrl } : {}),
    ...(signer ? { signer } : {}),
    ...(tls ? { tls } : {}),
    metrics,
    lifecycle,
    domainSources,
    mx,
    logins,
  };
  const output = logOutput();
  metrics.countDroppedLogLines(() => output.dropped);
  metrics.watchEventLoop();
  metrics.watchLoginLookups(() => logins.readiness());
  metrics.watchHosterSources(domainSources, mx);
  const common = {
    logger: { level: settings.logLevel, stream: output },
    trustedProxies: settings.trustedProxies,
    rateLimitPerMinute: settings.rateLimitPerMinute,
    ...(settings.metricsToken ? { metricsToken: settings.metricsToken } : {}),
  };
  const apps: FastifyInstance[] = [];
  const main = await buildApp(context, { ...common, ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}) });
  apps.push(main);
  const log = main.log;
  reportCatalog(log, catalog, 'catalog loaded');
  await startSigner(signer, log);

  store.onReload = (outcome) => {
    void domainSources.sync(outcome.catalog);
    logins.sync(outcome.catalog);
    metrics.reloads.inc();
    if (outcome.error || outcome.staleFiles.length > 0) metrics.reloadFailures.inc();
    if (outcome.error) log.error({ error: outcome.error }, 'reload failed; the catalog in service stays');
    reportCatalog(log, outcome.catalog, outcome.staleFiles.length ? `catalog reloaded, ${outcome.staleFiles.length} broken file(s) kept at their last good version` : 'catalog reloaded');
  };
  await store.watch();
  process.on('SIGHUP', () => void store.reload());

  if (tls?.permissionWarning) log.warn(tls.permissionWarning);
  if (tls) {
    await main.listen({ host: settings.host, port: settings.httpsPort });
    tls.onChange = (error) => (error ? log.error({ error }, 'TLS certificate renewal unusable; keeping the current one') : log.info({ notAfter: tls.notAfter }, 'TLS certificate reloaded'));
    await tls.watch(main.server as unknown as HttpsServer);
    // The port actually bound (--https-port 0 picks a free one).
    const httpsPort = (main.server.address() as AddressInfo).port;
    const companion = await buildApp(context, { ...common, redirectToHttpsPort: httpsPort });
    apps.push(companion);
    await companion.listen({ host: settings.host, port: settings.port });
  } else {
    await main.listen({ host: settings.host, port: settings.port });
  }
  const metricsServer = await startMetricsListener(settings, metrics, log);
  // The metrics listener goes last, after the shutdown delay (it is closed then, with the listeners).
  installShutdown(settings, log, lifecycle, apps, [store, tls, signer, domainSources, logins, metricsServer]);
}
