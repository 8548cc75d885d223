/**
 * Which of many domain lists names a domain, in one probe however many lists
 * there are: the hosters' databases (DomainSources) keep one list per
 * provider, and a catalog of 2,000 such providers probed 2,000 Sets per
 * request (docs/performance.md, hosters at scale).
 *
 * A domain on several lists belongs to the list registered first, as a scan
 * of the lists in registration order would find; when that list drops it,
 * the next one takes it. Replacing a list costs the domains that changed.
 */
interface Lister<T> {
  readonly owner: T;
  readonly rank: number;
  domains: readonly string[];
}

export class DomainOwners<T> {
  private readonly first = new Map<string, Lister<T>>();
  /** Every lister of a domain that is on more than one list, earliest first. */
  private readonly shared = new Map<string, Lister<T>[]>();
  private readonly listers = new Map<T, Lister<T>>();
  private registered = 0;

  /** The owner whose list names `domain`, the earliest registered of several. */
  get(domain: string): T | undefined {
    return this.first.get(domain)?.owner;
  }

  /** Replace `owner`'s list; an owner seen for the first time comes after all others. */
  set(owner: T, domains: readonly string[]): void {
    let lister = this.listers.get(owner);
    if (lister === undefined) {
      lister = { owner, rank: this.registered++, domains: [] };
      this.listers.set(owner, lister);
    }
    const next = new Set(domains);
    const before = new Set(lister.domains);
    for (const domain of lister.domains) if (!next.has(domain)) this.drop(domain, lister);
    for (const domain of next) if (!before.has(domain)) this.add(domain, lister);
    lister.domains = next.size === domains.length ? domains : [...next];
  }

  /** Forget `owner` and its list; registered again, it comes last. */
  delete(owner: T): void {
    const lister = this.listers.get(owner);
    if (lister === undefined) return;
    for (const domain of lister.domains) this.drop(domain, lister);
    this.listers.delete(owner);
  }

  clear(): void {
    this.first.clear();
    this.shared.clear();
    this.listers.clear();
  }

  private add(domain: string, lister: Lister<T>): void {
    const owner = this.first.get(domain);
    if (owner === undefined) return void this.first.set(domain, lister);
    let listers = this.shared.get(domain);
    if (listers === undefined) this.shared.set(domain, (listers = [owner]));
    const at = listers.findIndex((other) => other.rank > lister.rank);
    listers.splice(at < 0 ? listers.length : at, 0, lister);
    this.first.set(domain, listers[0]!);
  }

  private drop(domain: string, lister: Lister<T>): void {
    const listers = this.shared.get(domain);
    if (listers === undefined) {
      if (this.first.get(domain) === lister) this.first.delete(domain);
      return;
    }
    listers.splice(listers.indexOf(lister), 1);
    if (listers.length === 1) this.shared.delete(domain);
    this.first.set(domain, listers[0]!);
  }
}
