/**
 * What the routes share: the current catalog (swapped whole on reload), the
 * signer, and deployment settings. Routes read it per request and keep
 * nothing of their own.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { SignerSource } from '../formats/signing.js';
import type { Metrics } from './metrics.js';
import type { TlsSource } from './tls.js';

export interface ServerContext {
  /** The catalog in service now; a reload replaces it in one step. */
  catalog(): Catalog;
  /** Reload bookkeeping, when the catalog comes from files that can change. */
  readonly store?: CatalogStore;
  /** Reverse-DNS prefix of Apple profile identifiers. */
  readonly identifierPrefix: string;
  /** e.g. https://autoconfig.example.com; when unset, derived from the request's Host. */
  readonly publicBaseUrl?: string;
  readonly signer?: SignerSource;
  /** The HTTPS certificate, for readiness and metrics. */
  readonly tls?: TlsSource;
  readonly metrics?: Metrics;
  /** Set when a stop has begun: /readyz answers 503 so load balancers drain this instance. */
  readonly lifecycle?: { stopping: boolean };
}

/** What a request served, for the one log line per request (never the address). */
export interface Served {
  format: 'thunderbird' | 'outlook' | 'outlook-json' | 'apple' | 'guide' | 'ops';
  domain?: string;
  /** Why the request was refused (one line for a person; never the address). */
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    served: Served | null;
  }
}
