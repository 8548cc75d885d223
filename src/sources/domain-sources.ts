/**
 * The customer domains that come from the hosters' databases, beside the
 * catalog's listed ones: one PostgresDomainSource per provider with a
 * `domainsQuery`, kept across catalog reloads while the query stays the same
 * (a reload of the YAML must not drop the list or reconnect), each with its
 * domains in a Set. A lookup is one probe per such provider: a handful,
 * whatever the number of domains.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { DomainsQuery, Provider } from '../catalog/model.js';
import { normalizeDomain } from '../mailbox.js';
import { passwordFrom, PostgresDomainSource, type DomainSourceLog } from './postgres-domains.js';

interface Entry {
  readonly key: string;
  readonly source: PostgresDomainSource;
  domains: ReadonlySet<string>;
}

export interface DomainSourceReadiness {
  readonly provider: string;
  readonly ok: boolean;
  readonly domains: number;
  readonly lastError: string | undefined;
  readonly lastSuccessAt: string | undefined;
}

export class DomainSources {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly log?: DomainSourceLog,
  ) {}

  /**
   * Start a source for each provider of `catalog` with a query, keep those
   * whose query is unchanged, close the rest. Resolves when every new
   * source has made its first read (successful or not).
   */
  async sync(catalog: Catalog): Promise<void> {
    const wanted = new Map<string, { provider: Provider; query: DomainsQuery }>();
    for (const provider of catalog.providers) if (provider.domainsQuery) wanted.set(provider.id, { provider, query: provider.domainsQuery });
    for (const [id, entry] of this.entries) {
      const next = wanted.get(id);
      if (next === undefined || keyOf(next.query) !== entry.key) {
        this.entries.delete(id);
        void entry.source.close();
      }
    }
    const starting: Promise<void>[] = [];
    for (const [id, { provider, query }] of wanted) {
      if (this.entries.has(id)) continue;
      const password = passwordFrom(query.password, this.env);
      const source = new PostgresDomainSource({
        name: `domainsQuery of ${provider.source}`,
        connection: query.connection,
        ...(password ? { password } : {}),
        query: query.query,
        ...(query.listen ? { listen: query.listen } : {}),
        refreshMs: query.refreshSeconds * 1000,
        timeoutMs: query.timeoutSeconds * 1000,
        ...(this.log ? { log: this.log } : {}),
      });
      const entry: Entry = { key: keyOf(query), source, domains: new Set() };
      // The source normalises its rows; a new list replaces the Set in one step.
      source.onChange((domains) => {
        entry.domains = new Set(domains.map((d) => normalizeDomain(d) ?? d));
      });
      this.entries.set(id, entry);
      starting.push(source.start());
    }
    await Promise.all(starting);
  }

  /** The provider whose database lists `domain` (ASCII, lower case), in the catalog in service. */
  byDomain(domain: string, catalog: Catalog): Provider | undefined {
    for (const [id, entry] of this.entries) {
      if (entry.domains.has(domain)) return catalog.byId(id);
    }
    return undefined;
  }

  /** Each source's state for /readyz and metrics (the connection without its password, never the password). */
  readiness(): DomainSourceReadiness[] {
    return [...this.entries].map(([provider, { source }]) => {
      const state = source.state();
      return { provider, ok: state.ok, domains: state.domainCount, lastError: state.lastError, lastSuccessAt: state.lastSuccessAt?.toISOString() };
    });
  }

  async close(): Promise<void> {
    const closing = [...this.entries.values()].map((entry) => entry.source.close());
    this.entries.clear();
    await Promise.all(closing);
  }
}

function keyOf(query: DomainsQuery): string {
  return JSON.stringify(query);
}
