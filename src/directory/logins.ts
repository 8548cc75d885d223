/**
 * The log-in lookups of a running service: one LoginLookup (directory
 * connection and cache) per provider with a `lookup`, kept across catalog
 * reloads while the provider's lookup settings stay the same, so a reload
 * of the YAML neither drops the cache nor reconnects. A lookup is created
 * on the first request that needs it (nothing connects at start-up), and
 * closed once no provider in service has its settings any more.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Provider } from '../catalog/model.js';
import { createLoginLookup, type LoginLookup, type LoginLookupState, type LookupLog } from './lookup.js';

export interface LoginLookupReadiness {
  readonly provider: string;
  readonly state: LoginLookupState;
}

export class LoginLookups {
  /** By provider object: one probe per request; a reload's new objects find their lookup by key. */
  private readonly byProvider = new WeakMap<Provider, LoginLookup>();
  private readonly byKey = new Map<string, { readonly provider: string; readonly lookup: LoginLookup }>();

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly log?: LookupLog,
  ) {}

  /** The lookup of `provider` (made at its first request; it connects at its first find), or undefined when it has none. */
  for(provider: Provider): LoginLookup | undefined {
    if (provider.lookup === undefined) return undefined;
    const known = this.byProvider.get(provider);
    if (known !== undefined) return known;
    const key = keyOf(provider);
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      entry = { provider: provider.id, lookup: createLoginLookup(provider.lookup, { name: `lookup of ${provider.source}`, env: this.env, ...(this.log ? { log: this.log } : {}) }) };
      this.byKey.set(key, entry);
    }
    this.byProvider.set(provider, entry.lookup);
    return entry.lookup;
  }

  /** After a reload: close the lookups whose settings no provider in service has any more. */
  sync(catalog: Catalog): void {
    const wanted = new Set(catalog.providers.filter((p) => p.lookup !== undefined).map(keyOf));
    for (const [key, entry] of this.byKey) {
      if (wanted.has(key)) continue;
      this.byKey.delete(key);
      void entry.lookup.close();
    }
  }

  /** Each lookup's state, for /readyz and metrics (no secret, no address). */
  readiness(): LoginLookupReadiness[] {
    return [...this.byKey.values()].map(({ provider, lookup }) => ({ provider, state: lookup.state() }));
  }

  async close(): Promise<void> {
    const closing = [...this.byKey.values()].map(({ lookup }) => lookup.close());
    this.byKey.clear();
    await Promise.all(closing);
  }
}

/** The settings a lookup is made of: the same provider with the same lookup keys keeps its connection and cache. */
function keyOf(provider: Provider): string {
  return `${provider.id}\0${JSON.stringify(provider.lookup)}`;
}
