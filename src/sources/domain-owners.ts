/**
 * Which of many domain lists names a domain, in one probe however many lists
 * there are: the hosters' databases (DomainSources) keep one list per
 * provider, and a catalog of 2,000 such providers probed 2,000 Sets per
 * request (docs/performance.md, hosters at scale).
 *
 * A domain on several lists belongs to the list registered first, as a scan
 * of the lists in registration order would find; when that list drops it,
 * the next one takes it. Replacing a list costs a pass over the old and the
 * new list; what a lookup reads does not change for the domains kept.
 *
 * The lists stay packed (PackedList) and the index is an open-addressing
 * table of typed arrays, so a hoster's million database domains are no
 * strings on the heap the collector marks. A 32-byte slot holds the
 * domain's hash, its list, the offset of its record there, its length and,
 * for a name of up to 19 octets (most domains), the name itself, so that a
 * lookup reads the table alone, as the catalog's index does (packed-index.ts
 * says why that matters); a longer name is compared in its record. A domain
 * on more than one list (a configuration mistake, and rare) has a slot that
 * points to its entry among the shared ones, with the name and the lists in
 * order.
 */
import { domainHash, homeSlot, sameOctets } from '../catalog/packed-index.js';
import { PackedList } from './packed-list.js';

interface Lister<T> {
  readonly owner: T;
  readonly rank: number;
  readonly id: number;
  list: PackedList;
}

interface Shared<T> {
  readonly domain: string;
  /** Earliest registered first. */
  readonly listers: Lister<T>[];
  /** The set() call that last met this domain in a new list. */
  pass: number;
}

/** What a slot's second word says: no entry, a deleted one, a shared domain, or 1 + FIRST_LISTER + the lister's id. */
const EMPTY = 0;
const DELETED = 1;
const SHARED = 2;
const FIRST_LISTER = 3;
/** Eight words a slot: hash, what it holds, offset or shared index, then the name's length (one octet) and its first INLINE octets. */
const WORDS = 8;
const OCTETS = 32;
const LENGTH_AT = 12;
const INLINE = 19;
/** Marks a lister's slot that points into its new list while set() replaces the list. */
const MOVED = 0x8000_0000;
const MIN_SLOTS = 16;
/** The table grows past this share of slots in use (live and deleted), to TARGET_LOAD. */
const MAX_LOAD = 0.6;
const TARGET_LOAD = 0.4;

export class DomainOwners<T> {
  /** Per slot: the domain's hash, what the slot holds (above), the record's offset or the shared entry's index, the name (WORDS). */
  private table = new Uint32Array(MIN_SLOTS * WORDS);
  /** The table's octets, for the names kept in it. */
  private octets = new Uint8Array(this.table.buffer);
  private slots = MIN_SLOTS;
  private live = 0;
  private deleted = 0;
  private readonly listers = new Map<T, Lister<T>>();
  private readonly byId: (Lister<T> | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private readonly shared: (Shared<T> | undefined)[] = [];
  private readonly freeShared: number[] = [];
  private registered = 0;
  /** Counts set() calls: a shared entry met in the current one carries its number. */
  private passes = 0;
  /** The list set() is replacing, and the new one (a slot marked MOVED points into it). */
  private changing: { readonly lister: Lister<T>; readonly next: PackedList } | undefined;

  /** The owner whose list names `domain`, the earliest registered of several. */
  get(domain: string): T | undefined {
    const slot = this.find(domain, domainHash(domain));
    if (slot < 0) return undefined;
    const held = this.table[slot * WORDS + 1]!;
    return held === SHARED ? this.shared[this.table[slot * WORDS + 2]!]!.listers[0]!.owner : this.byId[(held & ~MOVED) - FIRST_LISTER]!.owner;
  }

  /** The domains on lists (each once, however many lists name it). */
  get size(): number {
    return this.live;
  }

  /** Replace `owner`'s list; an owner seen for the first time comes after all others. */
  set(owner: T, domains: readonly string[] | PackedList): void {
    const next = domains instanceof PackedList ? domains : PackedList.of(domains);
    let lister = this.listers.get(owner);
    if (lister === undefined) {
      const id = this.freeIds.pop() ?? this.byId.length;
      lister = { owner, rank: this.registered++, id, list: PackedList.empty };
      this.listers.set(owner, lister);
      this.byId[id] = lister;
    }
    const mine = FIRST_LISTER + lister.id;
    const moved = (mine | MOVED) >>> 0;
    const pass = ++this.passes;
    // 1. Every domain of the new list: its slot now points into the new list (MOVED says so while old and new coexist).
    this.changing = { lister, next };
    next.forEach((domain, offset) => {
      const h = domainHash(domain);
      const slot = this.find(domain, h);
      if (slot < 0) return void this.insert(h, moved, offset, domain);
      const at = slot * WORDS;
      const held = this.table[at + 1]!;
      if (held === mine || held === moved) {
        this.table[at + 1] = moved;
        this.table[at + 2] = offset;
      } else if (held === SHARED) {
        const entry = this.shared[this.table[at + 2]!]!;
        if (!entry.listers.includes(lister)) insertByRank(entry.listers, lister);
        entry.pass = pass;
      } else {
        const other = this.byId[held - FIRST_LISTER]!;
        this.table[at + 1] = SHARED;
        this.table[at + 2] = this.share({ domain, listers: other.rank < lister.rank ? [other, lister] : [lister, other], pass });
      }
    });
    // 2. What the old list named and the new one does not: slots still pointing into the old list, shared entries not met above.
    lister.list.forEach((domain) => {
      const slot = this.find(domain, domainHash(domain));
      if (slot < 0) return;
      const at = slot * WORDS;
      const held = this.table[at + 1]!;
      if (held === mine || (held === SHARED && this.shared[this.table[at + 2]!]!.pass !== pass)) this.drop(slot, lister);
    });
    // 3. Only the new list is left.
    lister.list = next;
    next.forEach((domain) => {
      const slot = this.find(domain, domainHash(domain));
      if (slot >= 0 && this.table[slot * WORDS + 1] === moved) this.table[slot * WORDS + 1] = mine;
    });
    this.changing = undefined;
    this.compactIfSparse();
  }

  /** Forget `owner` and its list; registered again, it comes last. */
  delete(owner: T): void {
    const lister = this.listers.get(owner);
    if (lister === undefined) return;
    lister.list.forEach((domain) => {
      const slot = this.find(domain, domainHash(domain));
      if (slot >= 0) this.drop(slot, lister);
    });
    this.listers.delete(owner);
    this.byId[lister.id] = undefined;
    this.freeIds.push(lister.id);
    this.compactIfSparse();
  }

  clear(): void {
    this.resize(MIN_SLOTS);
    this.live = this.deleted = this.registered = 0;
    this.listers.clear();
    this.byId.length = this.shared.length = this.freeIds.length = this.freeShared.length = 0;
  }

  /** The slot of `domain`, or -1. */
  private find(domain: string, h: number): number {
    const { table, octets, slots } = this;
    const length = domain.length;
    for (let slot = homeSlot(h, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const at = slot * WORDS;
      const held = table[at + 1]!;
      if (held === EMPTY) return -1;
      if (held === DELETED || table[at] !== h || octets[slot * OCTETS + LENGTH_AT] !== length) continue;
      if (length <= INLINE ? sameOctets(octets, slot * OCTETS + LENGTH_AT + 1, domain) : held === SHARED ? this.shared[table[at + 2]!]!.domain === domain : this.listOf(held).isAt(table[at + 2]!, domain)) return slot;
    }
  }

  /** The list a lister's slot points into. */
  private listOf(held: number): PackedList {
    return held >= MOVED ? this.changing!.next : this.byId[held - FIRST_LISTER]!.list;
  }

  /** A new entry in the first free or deleted slot of its probe sequence; the table grows first past MAX_LOAD. */
  private insert(h: number, held: number, value: number, domain: string): void {
    if (this.live + this.deleted + 1 > this.slots * MAX_LOAD) this.rehash(this.live + 1);
    const slot = this.place(h, held, value);
    const at = slot * OCTETS + LENGTH_AT;
    this.octets[at] = domain.length;
    for (let j = 0; j < domain.length && j < INLINE; j++) this.octets[at + 1 + j] = domain.charCodeAt(j);
  }

  /** The slot now holding the entry; its name is the caller's to write. */
  private place(h: number, held: number, value: number): number {
    const { table, slots } = this;
    let slot = homeSlot(h, slots);
    while (table[slot * WORDS + 1]! > DELETED) if (++slot === slots) slot = 0;
    if (table[slot * WORDS + 1] === DELETED) this.deleted--;
    table[slot * WORDS] = h;
    table[slot * WORDS + 1] = held;
    table[slot * WORDS + 2] = value;
    this.live++;
    return slot;
  }

  /** `lister` no longer names the domain of `slot`: the next list naming it takes it, or it goes. */
  private drop(slot: number, lister: Lister<T>): void {
    const at = slot * WORDS;
    if (this.table[at + 1] === SHARED) {
      const index = this.table[at + 2]!;
      const listers = this.shared[index]!.listers;
      const place = listers.indexOf(lister);
      if (place < 0) return;
      listers.splice(place, 1);
      // With one list left it stays a shared entry: its record's place in that list is not known here.
      if (listers.length > 0) return;
      this.shared[index] = undefined;
      this.freeShared.push(index);
    } else if (this.table[at + 1] !== FIRST_LISTER + lister.id) {
      return;
    }
    this.table[at + 1] = DELETED;
    this.live--;
    this.deleted++;
  }

  private share(entry: Shared<T>): number {
    const index = this.freeShared.pop() ?? this.shared.length;
    this.shared[index] = entry;
    return index;
  }

  /** After many deletions, a smaller table without them. */
  private compactIfSparse(): void {
    const slots = this.slots;
    if (this.deleted * 4 > slots || (slots > MIN_SLOTS && this.live * 8 < slots)) this.rehash(this.live);
  }

  /** A table for `entries` at TARGET_LOAD, with the live slots moved by their hashes (no name is read again; the kept octets go along). */
  private rehash(entries: number): void {
    const old = this.table;
    this.resize(Math.max(MIN_SLOTS, Math.ceil(entries / TARGET_LOAD)));
    const table = this.table;
    for (let at = 0; at < old.length; at += WORDS) {
      if (old[at + 1]! <= DELETED) continue;
      const to = this.place(old[at]!, old[at + 1]!, old[at + 2]!) * WORDS;
      // The length and the kept octets: the slot's last five words.
      for (let word = LENGTH_AT / 4; word < WORDS; word++) table[to + word] = old[at + word]!;
    }
  }

  /** An empty table of `slots`. */
  private resize(slots: number): void {
    this.slots = slots;
    this.table = new Uint32Array(slots * WORDS);
    this.octets = new Uint8Array(this.table.buffer);
    this.live = this.deleted = 0;
  }
}

function insertByRank<T>(listers: Lister<T>[], lister: Lister<T>): void {
  const at = listers.findIndex((other) => other.rank > lister.rank);
  listers.splice(at < 0 ? listers.length : at, 0, lister);
}
