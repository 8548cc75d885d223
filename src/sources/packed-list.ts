/**
 * A domain list as one buffer of length-prefixed ASCII records, for the
 * lists a hoster's database hands over: a million domains as strings cost
 * about 110 bytes each on the heap the collector marks (a string, a list
 * entry, an index entry), made full collections three times as frequent and
 * took the heap of `npm start` to 135 of its 192 MiB (docs/performance.md).
 * As records they cost about 21 bytes each, off that heap.
 *
 * The domains are normalised (as DomainCollector does): ASCII, at most 253 octets,
 * so one octet holds a record's length and a character is an octet.
 */
import { listedTwice, notADomain } from '../catalog/domain-list.js';
import { domainHash, sameOctets } from '../catalog/packed-index.js';
import { normalizeDomain } from '../mailbox.js';

export class PackedList {
  private constructor(
    /** Per domain: its length (1 octet), then its octets. */
    readonly records: Buffer,
    readonly count: number,
  ) {}

  static readonly empty = new PackedList(Buffer.alloc(0), 0);

  /** Records made elsewhere (PackedListBuilder): `count` of them, back to back. */
  static fromRecords(records: Buffer, count: number): PackedList {
    return new PackedList(records, count);
  }

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
    return recordIs(this.records, offset, domain);
  }
}

/**
 * A PackedList made one domain at a time, each kept once: for a database's
 * rows collected as they arrive, so that neither the rows nor the kept domains pile
 * up on the heap while a hoster's million are read (a read of 1,500,000
 * rows at once ran `npm start`'s 192 MiB heap out of memory). The records
 * grow in one buffer; an open-addressing table of (hash, entry) pairs finds
 * a name seen before, and the row it was first seen on.
 */
export class PackedListBuilder {
  private records: Buffer = Buffer.allocUnsafeSlow(4096);
  private octets = 0;
  private count = 0;
  /** Per entry: its record's offset, and the position (row) it was first seen at. */
  private offsets: Uint32Array = new Uint32Array(256);
  private positions: Uint32Array = new Uint32Array(256);
  /** Two words per slot: the name's hash, and 1 + its entry (0: empty). */
  private table = new Uint32Array(2 * 512);

  /** Keep `domain` (normalised) first seen at `position`; an earlier position when it is kept already. */
  add(domain: string, position: number): number | undefined {
    const h = domainHash(domain);
    const mask = this.table.length / 2 - 1;
    let slot = h & mask;
    for (; this.table[slot * 2 + 1] !== 0; slot = (slot + 1) & mask) {
      const entry = this.table[slot * 2 + 1]! - 1;
      if (this.table[slot * 2] === h && recordIs(this.records, this.offsets[entry]!, domain)) return this.positions[entry];
    }
    if (this.octets + 1 + domain.length > this.records.length) this.records = grown(this.records, this.octets, this.octets + 1 + domain.length);
    if (this.count === this.offsets.length) {
      this.offsets = grownWords(this.offsets);
      this.positions = grownWords(this.positions);
    }
    this.records[this.octets] = domain.length;
    this.records.write(domain, this.octets + 1, 'latin1');
    this.offsets[this.count] = this.octets;
    this.positions[this.count] = position;
    this.table[slot * 2] = h;
    this.table[slot * 2 + 1] = this.count + 1;
    this.octets += 1 + domain.length;
    this.count++;
    // At most half the slots in use: a miss then reads about two.
    if (this.count * 2 > mask + 1) this.rehash();
    return undefined;
  }

  /** The list, in a buffer of its own size (the builder's slack and table go with the builder). */
  finish(): PackedList {
    const records = Buffer.allocUnsafeSlow(this.octets);
    this.records.copy(records, 0, 0, this.octets);
    return PackedList.fromRecords(records, this.count);
  }

  private rehash(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    const mask = this.table.length / 2 - 1;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] === 0) continue;
      let slot = old[at]! & mask;
      while (this.table[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
      this.table[slot * 2] = old[at]!;
      this.table[slot * 2 + 1] = old[at + 1]!;
    }
  }
}

function recordIs(records: Buffer, offset: number, domain: string): boolean {
  return records[offset] === domain.length && sameOctets(records, offset + 1, domain);
}

function grown(buffer: Buffer, used: number, needed: number): Buffer {
  let size = buffer.length * 2;
  while (size < needed) size *= 2;
  const next = Buffer.allocUnsafeSlow(size);
  buffer.copy(next, 0, 0, used);
  return next;
}

function grownWords(words: Uint32Array): Uint32Array {
  const next = new Uint32Array(words.length * 2);
  next.set(words);
  return next;
}

/** DomainCollector's rule (each name normalised, invalid and repeated ones reported) into a PackedList. */
export class PackedDomainCollector {
  private readonly builder = new PackedListBuilder();

  constructor(private readonly unit: 'line' | 'row') {}

  /** Keep a domain; returns why not when it is invalid or already there. */
  add(raw: string, position: number): string | undefined {
    const ascii = normalizeDomain(raw);
    if (ascii === null) return notADomain(raw);
    const first = this.builder.add(ascii, position);
    return first === undefined ? undefined : listedTwice(raw, ascii, this.unit, first);
  }

  finish(): PackedList {
    return this.builder.finish();
  }
}
