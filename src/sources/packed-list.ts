/**
 * A domain list as one buffer of length-prefixed ASCII records, for the
 * lists a hoster's database hands over: a million domains as strings cost
 * about 110 bytes each on the heap the collector marks (a string, a list
 * entry, an index entry), made full collections three times as frequent and
 * took the heap of `npm start` to 135 of its 192 MiB (docs/performance.md).
 * As records they cost about 21 bytes each, off that heap.
 *
 * The domains are normalised (DomainCollector): ASCII, at most 253 octets,
 * so one octet holds a record's length and a character is an octet.
 */

export class PackedList {
  private constructor(
    /** Per domain: its length (1 octet), then its octets. */
    readonly records: Buffer,
    readonly count: number,
  ) {}

  static readonly empty = new PackedList(Buffer.alloc(0), 0);

  static of(domains: readonly string[]): PackedList {
    let octets = 0;
    for (const domain of domains) {
      if (domain.length > 255) throw new Error(`domain list: ${domain.slice(0, 40)}... is longer than a domain name can be`);
      octets += 1 + domain.length;
    }
    // Not from Buffer's shared pool: a list outlives any request.
    const records = Buffer.allocUnsafeSlow(octets);
    let at = 0;
    for (const domain of domains) {
      records[at] = domain.length;
      records.write(domain, at + 1, 'latin1');
      at += 1 + domain.length;
    }
    return new PackedList(records, domains.length);
  }

  /** The same domains in the same order (a list read again unchanged). */
  equals(other: PackedList): boolean {
    return this.count === other.count && this.records.equals(other.records);
  }

  /** Each domain and its record's offset, in order. */
  forEach(visit: (domain: string, offset: number) => void): void {
    const records = this.records;
    for (let at = 0; at < records.length; at += 1 + records[at]!) visit(records.toString('latin1', at + 1, at + 1 + records[at]!), at);
  }

  toArray(): string[] {
    const domains: string[] = [];
    this.forEach((domain) => domains.push(domain));
    return domains;
  }

  /** Whether the record at `offset` is `domain`. */
  isAt(offset: number, domain: string): boolean {
    const records = this.records;
    if (records[offset] !== domain.length) return false;
    for (let j = 0; j < domain.length; j++) if (records[offset + 1 + j] !== domain.charCodeAt(j)) return false;
    return true;
  }
}
