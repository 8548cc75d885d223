/**
 * What the answers share: the current catalog (swapped whole on reload), the
 * signer, and deployment settings. Answers read it per request and keep
 * nothing of their own.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { CatalogStore } from '../catalog/store.js';
import type { LoginLookups } from '../directory/logins.js';
import type { SignerSource } from '../keys/signer-source.js';
import type { DomainSources } from '../sources/domain-sources.js';
import type { MxResolver } from '../sources/mx.js';

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
  /** The HTTPS certificate, for readiness. */
  readonly tls?: CertificateState;
  /** Request statistics, and the Prometheus text of this process's metrics (/metrics). */
  readonly metrics?: RequestMetrics;
  /** Customer domains from the hosters' databases (PostgreSQL), beside the catalog's listed ones. */
  readonly domainSources?: DomainSources;
  /** MX lookups for domains the catalog does not list, when a provider claims domains by MX pattern. */
  readonly mx?: MxResolver;
  /** Log-in names from the providers' directories, for the providers with a `lookup`. */
  readonly logins?: LoginLookups;
  /** Set when a stop has begun: /readyz answers 503 so load balancers drain this instance. */
  readonly lifecycle?: { stopping: boolean };
}

/** A certificate in service, as readiness reports it. */
export interface CertificateState {
  readonly notAfter: Date;
  readonly lastError: string | undefined;
  readonly permissionWarning: string | undefined;
}

/** What the pipeline records per request and /metrics prints (server/metrics.ts). */
export interface RequestMetrics {
  /** The Prometheus text of every metric (Metrics.text). */
  text(): Promise<string>;
  observe(format: string, status: number, seconds: number): void;
}

