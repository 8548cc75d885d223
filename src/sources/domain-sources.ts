/**
 * The customer domains that come from the hosters' databases, beside the
 * catalog's listed ones: one PostgresDomainSource per provider with a
 * `domainsQuery`, kept across catalog reloads while the query stays the same
 * (a reload of the YAML must not drop the list or reconnect). Their lists
 * are kept in one index (DomainOwners): a lookup is one probe, whatever the
 * number of such providers and domains. Sources of the same database (URL,
 * password, timeout) read through one pool of SHARED_POOL_SIZE connections,
 * so a hoster's 2,000 providers open a few connections, not 2,000 at start.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { DomainsQuery, Provider } from '../catalog/model.js';
import { DomainOwners } from './domain-owners.js';
import type pg from 'pg';
import { DatabaseListener, domainsPool, passwordFrom, PostgresDomainSource, redactConnection, type DomainSourceLog } from './postgres-domains.js';

interface Entry {
  /** The provider's id. */
  readonly id: string;
  readonly key: string;
  readonly source: PostgresDomainSource;
  readonly poolKey: string;
  /**
   * The provider in the catalog last synced, found once per catalog rather
   * than by id on every request (a listed database domain cost a catalog
   * miss, an index probe and a Map lookup; docs/performance.md). Set by
   * sync() only, so no older catalog is kept alive by a source rarely asked.
   */
  catalog: Catalog;
  provider: Provider;
}

/** Connections per database shared by its providers' reads (and one more for all their LISTEN channels). */
export const SHARED_POOL_SIZE = 4;

export interface DomainSourceReadiness {
  readonly provider: string;
  readonly ok: boolean;
  readonly domains: number;
  readonly lastError: string | undefined;
  readonly lastSuccessAt: string | undefined;
}

/**
 * All sources at once, for /readyz and metrics: counts, and the failing
 * sources by name. A hoster has thousands of sources; a probe or scrape that
 * listed each one cost the serving thread 10–40 ms, 1–3 ms now with 2,000
 * (docs/performance.md), and the sources that need a person are the failing few.
 */
export interface DomainSourcesSummary {
  readonly sources: number;
  /** Domains of every source's last good list. */
  readonly domains: number;
  /** The oldest of the sources' last successful reads: how stale the staliest list in service is. */
  readonly oldestSuccessAt: string | undefined;
  /** The sources whose last read failed (their last good list is served), in the order they started. */
  readonly down: readonly DomainSourceReadiness[];
}

export class DomainSources {
  private readonly entries = new Map<string, Entry>();
  /** Domain → the source of the provider whose database lists it (the first source started, of several). */
  private readonly owners = new DomainOwners<Entry>();
  /** One pool per database, with the number of sources reading through it. */
  private readonly pools = new Map<string, { readonly pool: pg.Pool; readonly listener: DatabaseListener; users: number }>();

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
        this.owners.delete(entry);
        void this.closeSource(entry);
      }
    }
    for (const entry of this.entries.values()) {
      entry.catalog = catalog;
      entry.provider = wanted.get(entry.id)!.provider;
    }
    const starting: Promise<void>[] = [];
    for (const [id, { provider, query }] of wanted) {
      if (this.entries.has(id)) continue;
      const password = passwordFrom(query.password, this.env);
      const database = {
        connection: query.connection,
        ...(password ? { password } : {}),
        timeoutMs: query.timeoutSeconds * 1000,
        ...(this.log ? { log: this.log } : {}),
      };
      const poolKey = JSON.stringify([query.connection, query.password ?? null, query.timeoutSeconds]);
      let shared = this.pools.get(poolKey);
      if (shared === undefined) {
        const name = `domain database ${redactConnection(query.connection)}`;
        shared = { pool: domainsPool(database, name, SHARED_POOL_SIZE), listener: new DatabaseListener(database, name), users: 0 };
        this.pools.set(poolKey, shared);
      }
      shared.users++;
      const source = new PostgresDomainSource({
        ...database,
        name: `domainsQuery of ${provider.source}`,
        query: query.query,
        ...(query.listen ? { listen: query.listen } : {}),
        refreshMs: query.refreshSeconds * 1000,
        pool: shared.pool,
        listener: shared.listener,
      });
      const entry: Entry = { id, key: keyOf(query), source, poolKey, catalog, provider };
      // Registered now, empty: of several sources listing a domain, the one started first keeps it.
      this.owners.set(entry, []);
      // The source's list is normalised already (PackedDomainCollector); a closed source's late read changes nothing.
      source.onChange((domains) => {
        if (this.entries.get(id) === entry) this.owners.set(entry, domains);
      });
      this.entries.set(id, entry);
      starting.push(source.start());
    }
    await Promise.all(starting);
  }

  /** The provider whose database lists `domain` (ASCII, lower case), in the catalog in service. */
  byDomain(domain: string, catalog: Catalog): Provider | undefined {
    const entry = this.owners.get(domain);
    if (entry === undefined) return undefined;
    // Between a catalog's swap and its sync, and for a catalog never synced (tests), by id.
    return entry.catalog === catalog ? entry.provider : catalog.byId(entry.id);
  }

  /** The sources' state for /readyz and metrics (never the connection or its password). */
  summary(): DomainSourcesSummary {
    let domains = 0;
    let oldest: Date | undefined;
    const down: DomainSourceReadiness[] = [];
    for (const [provider, { source }] of this.entries) {
      const state = source.outcome;
      domains += state.domainCount;
      if (state.lastSuccessAt !== undefined && (oldest === undefined || state.lastSuccessAt.getTime() < oldest.getTime())) oldest = state.lastSuccessAt;
      if (!state.ok) down.push({ provider, ok: false, domains: state.domainCount, lastError: state.lastError, lastSuccessAt: state.lastSuccessAt?.toISOString() });
    }
    return { sources: this.entries.size, domains, oldestSuccessAt: oldest?.toISOString(), down };
  }

  async close(): Promise<void> {
    const closing = [...this.entries.values()].map((entry) => this.closeSource(entry));
    this.entries.clear();
    this.owners.clear();
    await Promise.all(closing);
  }

  /** Close a source, and its database's pool when no other source reads through it. */
  private async closeSource(entry: Entry): Promise<void> {
    const shared = this.pools.get(entry.poolKey)!;
    shared.users--;
    if (shared.users === 0) this.pools.delete(entry.poolKey);
    await entry.source.close();
    if (shared.users === 0) await Promise.all([shared.pool.end().catch(() => {}), shared.listener.close()]);
  }
}

function keyOf(query: DomainsQuery): string {
  return JSON.stringify(query);
}
