/** Start the real application on a real loopback port for a test. */
import type { Test } from 'tap';
import { buildCatalog, loadCatalog, type Catalog, type SourceFile } from '../../src/catalog/catalog.js';
import type { CatalogStore } from '../../src/catalog/store.js';
import type { SignerSource } from '../../src/keys/signer-source.js';
import { BUNDLED_PROVIDERS_DIR } from '../../src/paths.js';
import { buildApp } from '../../src/server/app.js';
import { httpFetch } from '../../src/http-client.js';

export interface Running {
  readonly url: string;
  readonly port: number;
  readonly catalog: Catalog;
}

export interface StartOptions {
  readonly store?: CatalogStore;
  readonly sources?: readonly SourceFile[];
  readonly paths?: readonly string[];
  readonly signer?: SignerSource;
  readonly publicBaseUrl?: string;
  readonly trustedProxies?: readonly string[];
}

export const IDENTIFIER_PREFIX = 'org.example.autoconfig-test';

export async function startServer(t: Test, options: StartOptions = {}): Promise<Running> {
  const store = options.store;
  const catalog = store ? store.current() : options.sources ? buildCatalog(options.sources) : await loadCatalog(options.paths ?? [BUNDLED_PROVIDERS_DIR]);
  const app = await buildApp({
    catalog: store ? () => store.current() : () => catalog,
    ...(store ? { store } : {}),
    identifierPrefix: IDENTIFIER_PREFIX,
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.publicBaseUrl ? { publicBaseUrl: options.publicBaseUrl } : {}),
  }, options.trustedProxies ? { trustedProxies: options.trustedProxies } : {});
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, port, catalog };
}

/** GET/POST with an explicit Host header (fetch forbids setting Host). */
export const request = httpFetch;
