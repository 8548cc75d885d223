/**
 * A document built once per provider with an XML builder, with marked holes
 * where the requested domain (the domain itself, host names with
 * %EMAILDOMAIN%) and the mailbox (user names) go. Serving a request then
 * only fills the holes, with escaping, instead of building the whole
 * document again; one document serves every domain of a hoster. The
 * builder does all escaping of provider data; the holes escape the rest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import { displayAddress, fillDomain, fillTemplate, type Mailbox } from '../mailbox.js';

/** Builder settings shared by every XML format: attributes as `@name`, two-space indent. */
export function xmlBuilder(): XMLBuilder {
  return new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    format: true,
    indentBy: '  ',
    suppressEmptyNode: false,
    suppressBooleanAttributes: false,
    processEntities: true,
  });
}

export const XML_DECLARATION = { '?xml': { '@version': '1.0', '@encoding': 'UTF-8' } };

/**
 * Every place a prepared document leaves open, in one vocabulary. What a
 * request fills in is either the requested domain and mailbox (host names
 * with %EMAILDOMAIN%, user-name templates, the address) or a value the
 * answer supplies (a profile's identifiers, the setup page's links).
 */
export type Hole =
  /** Text with %EMAILDOMAIN% (a host name, or the placeholder alone: the domain itself). */
  | { readonly kind: 'domain'; readonly template: string }
  /** A user-name template; left as written without a mailbox, for the client to fill. */
  | { readonly kind: 'username'; readonly template: string }
  /** The mailbox's address, and as people write it (an IDN domain in Unicode). */
  | { readonly kind: 'address' }
  | { readonly kind: 'shownAddress' }
  /** The address as URLSearchParams writes it in a query. */
  | { readonly kind: 'addressInQuery' }
  /** A provider's own text (a host name, a display name), the same for every request; see HoleMarkers.own. */
  | { readonly kind: 'own'; readonly text: string }
  | { readonly kind: ValueHole };

/** Holes whose values the answer supplies (Filling.values); `markup` is the one never escaped. */
export type ValueHole = 'identifier' | 'profileUuid' | 'mailUuid' | 'caldavUuid' | 'carddavUuid' | 'fullName' | 'profileUrl' | 'error' | 'input' | 'markup';

/** What a request fills into a document's holes. */
export interface Filling {
  /** The requested mail domain (ASCII); '' for pages without one. */
  readonly domain: string;
  readonly mailbox: Mailbox | undefined;
  /** May keep a filled-in user name as its template (Thunderbird's JXON, see thunderbird.ts). */
  readonly username?: (template: string, filled: string) => string;
  readonly values?: Readonly<Partial<Record<ValueHole, string>>>;
}

/**
 * Holes are marked with letters and digits around a random value chosen at
 * start-up: both builders (XML, plist) pass them through unchanged (the
 * plist builder drops control and private-use characters), and provider
 * data cannot guess them. A marker left in the output is still caught below.
 */
const NONCE = randomBytes(12).toString('hex');
/**
 * An own text (HoleMarkers.own): printable ASCII without the characters an
 * XML, plist or JSON builder escapes, so filling it in unescaped gives the
 * builder's bytes; plist builders also drop control characters.
 */
const OWN_TEXT = /^[\x20-\x7e]+$/;
const ESCAPED = /[&<>"'\\]/;
const MARKER = new RegExp(`H${NONCE}x(\\d+)x`);

export class HoleMarkers {
  readonly holes: Hole[] = [];
  private readonly index = new Map<string, number>();

  /** A marker standing for `hole`; the same hole marked twice is one hole. */
  mark(hole: Hole): string {
    const key = holeName(hole);
    let at = this.index.get(key);
    if (at === undefined) {
      at = this.holes.push(hole) - 1;
      this.index.set(key, at);
    }
    return `H${NONCE}x${at}x`;
  }

  /** `text` with %EMAILDOMAIN% becomes a domain hole; other text stays as it is. */
  domain(text: string): string {
    return text.includes('%EMAILDOMAIN%') ? this.mark({ kind: 'domain', template: text }) : text;
  }

  /** A server's host name: a domain hole with %EMAILDOMAIN%, else the provider's own text. */
  host(text: string): string {
    return text.includes('%EMAILDOMAIN%') ? this.mark({ kind: 'domain', template: text }) : this.own(text);
  }

  username(template: string): string {
    return this.mark({ kind: 'username', template });
  }

  /**
   * A provider's own text, kept out of the document's shared skeleton: the
   * documents of providers that differ only in such texts (a hoster's
   * resellers: the same ports and methods, their own host names) share
   * one skeleton of encoded parts, and each keeps only its own texts.
   * With thousands of providers, another provider each request then reads
   * a few cache lines of its own instead of its whole document
   * (docs/performance.md). Only text that no builder escapes or alters
   * becomes a hole, so the document's bytes are the same either way.
   */
  own<T extends string | undefined>(text: T): T | string {
    return text !== undefined && OWN_TEXT.test(text) && !ESCAPED.test(text) ? this.mark({ kind: 'own', text }) : text;
  }

  value(kind: ValueHole): string {
    return this.mark({ kind });
  }
}

/**
 * A hole's name: what the document's digest covers (so a validator changes
 * exactly when a document does) and how a document with its holes
 * unfilled reads.
 */
function holeName(hole: Hole): string {
  switch (hole.kind) {
    case 'domain':
      return `\u0002${hole.template}`;
    case 'username':
      return hole.template;
    case 'own':
      return `\u0003${hole.text}`;
    default:
      return `\u0001${hole.kind}`;
  }
}

/** The one place a hole's value is decided (escaping is the document's). */
function fillHole(hole: Hole, filling: Filling): string {
  const mailbox = filling.mailbox;
  switch (hole.kind) {
    case 'domain':
      return hole.template === '%EMAILDOMAIN%' ? filling.domain : fillDomain(hole.template, filling.domain);
    case 'username':
      if (mailbox === undefined) return hole.template;
      return filling.username ? filling.username(hole.template, fillTemplate(hole.template, mailbox)) : fillTemplate(hole.template, mailbox);
    case 'address':
      return mailbox?.address ?? '';
    case 'shownAddress':
      return mailbox ? displayAddress(mailbox) : '';
    case 'addressInQuery':
      // As URLSearchParams writes it (the setup page's language links).
      return new URLSearchParams({ a: mailbox?.address ?? '' }).toString().slice('a='.length);
    case 'own':
      return hole.text;
    default:
      return filling.values?.[hole.kind] ?? '';
  }
}

/**
 * What documents that differ only in their own texts (HoleMarkers.own)
 * share: the encoded parts between holes and the holes of each slot, the
 * own texts' holes standing for whichever text a document has there.
 */
interface Skeleton {
  /** The document's text between holes, encoded once (UTF-8). */
  readonly parts: readonly Buffer[];
  /** The parts' total length in octets. */
  readonly partOctets: number;
  /** The distinct holes, and for each slot in the document the index of its hole there. */
  readonly holes: readonly Hole[];
  readonly slotHole: readonly number[];
}

/**
 * Skeletons of documents with own texts, by a digest of their text and
 * holes (the text itself as the key would keep a second copy of every
 * document on the heap). Bounded: when full it starts again, and documents
 * keep the skeletons they have (a reload's new providers make new
 * documents; those of gone providers go with them). A document without
 * own texts shares with nobody and keeps its skeleton to itself.
 */
const skeletons = new Map<string, Skeleton>();
const MAX_SKELETONS = 4096;

/** How many skeletons are kept now (for tests: documents that differ only in their own texts share one). */
export function skeletonsKept(): number {
  return skeletons.size;
}

function skeletonOf(parts: readonly string[], holes: readonly Hole[], slotHole: readonly number[]): Skeleton {
  const make = (): Skeleton => {
    const encoded = parts.map((part) => Buffer.from(part, 'utf8'));
    return { parts: encoded, partOctets: encoded.reduce((sum, part) => sum + part.length, 0), holes, slotHole };
  };
  if (!holes.some((hole) => hole.kind === 'own')) return make();
  const digest = createHash('sha256');
  for (const part of parts) digest.update(`${part.length}:`).update(part);
  digest.update(`\u0001${holes.map((hole) => (hole.kind === 'own' ? '\u0003' : holeName(hole))).join('\u0000')}\u0001${slotHole.join(',')}`);
  const key = digest.digest('base64');
  let skeleton = skeletons.get(key);
  if (skeleton === undefined) {
    skeleton = make();
    if (skeletons.size >= MAX_SKELETONS) skeletons.clear();
    skeletons.set(key, skeleton);
  }
  return skeleton;
}

export class PreparedDocument {
  private readonly skeleton: Skeleton;
  /** For each of the skeleton's holes, this document's own text there, encoded (escaped by construction); else undefined. */
  private readonly own: readonly (Buffer | undefined)[];
  /** Whether a request fills any hole (else render sends `generic`). */
  private readonly filled: boolean;
  /** The document with every hole as its name (its own texts as they are); what a document without holes always sends. */
  private readonly generic: Buffer;
  /** A digest of the document with its holes, computed once (see etag). */
  private readonly tag: string;

  constructor(
    built: string,
    markers: HoleMarkers,
    /** How filled-in values are escaped: XML attributes and text by default. */
    private readonly escape: (text: string) => string = escapeXml,
  ) {
    const pieces = built.split(MARKER);
    const parts: string[] = [];
    const slots: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      if (i % 2 === 0) parts.push(pieces[i]!);
      else slots.push(Number(pieces[i]));
    }
    // A marker may stand in several places (the address in several texts),
    // but every one must be intact and known.
    if (slots.some((slot) => markers.holes[slot] === undefined) || parts.some((part) => part.includes(NONCE))) {
      throw new Error('prepared document: hole markers were altered by the builder');
    }
    const used = [...new Set(slots)];
    const holes = used.map((slot) => markers.holes[slot]!);
    this.skeleton = skeletonOf(parts, holes, slots.map((slot) => used.indexOf(slot)));
    // One buffer for all own texts, so that they lie together in memory.
    const ownTexts = holes.map((hole) => (hole.kind === 'own' ? hole.text : ''));
    const ownBytes = Buffer.from(ownTexts.join(''), 'utf8');
    let at = 0;
    this.own = ownTexts.map((text, h) => {
      if (holes[h]!.kind !== 'own') return undefined;
      const length = Buffer.byteLength(text, 'utf8');
      return ownBytes.subarray(at, (at += length));
    });
    this.filled = holes.some((hole) => hole.kind !== 'own');
    this.generic = this.fill((hole) => this.escape(holeName(hole)));
    const requestSlots = slots.filter((slot) => markers.holes[slot]!.kind !== 'own');
    this.tag = createHash('sha1').update(this.generic).update(requestSlots.map((slot) => holeName(markers.holes[slot]!)).join('\0')).digest('base64url').slice(0, 22);
  }

  /**
   * A strong validator for render(filling): the rendered bytes are a pure
   * function of this document, the domain and the address, so the
   * document's digest and a short hash of domain and address tell every
   * rendering apart without hashing the bytes of each response.
   */
  etag(domain: string, mailbox: Mailbox | undefined): string {
    if (!this.filled) return `"${this.tag}"`;
    let hash = fnv1a(domain, mailbox ? fnv1a(mailbox.address) : FNV_OFFSET);
    // A looked-up log-in name (and name) may change in the directory while the address stays.
    if (mailbox?.login !== undefined) hash = fnv1a(`\0${mailbox.login}\0${mailbox.displayName ?? ''}`, hash);
    return `"${this.tag}-${hash.toString(36)}"`;
  }

  /** The document with every hole filled, escaped (markup as it is). A hole standing in several places is filled once. */
  render(filling: Filling): Buffer {
    if (!this.filled) return this.generic;
    return this.fill((hole) => (hole.kind === 'markup' ? filling.values?.markup ?? '' : this.escape(fillHole(hole, filling))));
  }

  private fill(value: (hole: Hole) => string): Buffer {
    const { holes, slotHole, parts } = this.skeleton;
    const own = this.own;
    const values: Buffer[] = new Array<Buffer>(holes.length);
    for (let h = 0; h < holes.length; h++) values[h] = own[h] ?? Buffer.from(value(holes[h]!), 'utf8');
    let length = this.skeleton.partOctets;
    for (const h of slotHole) length += values[h]!.length;
    // The encoded parts and values copied into one buffer: joining strings
    // and encoding the result would copy the whole document twice more.
    const out = Buffer.allocUnsafe(length);
    out.set(parts[0]!, 0);
    let at = parts[0]!.length;
    for (let i = 0; i < slotHole.length; i++) {
      const filled = values[slotHole[i]!]!;
      out.set(filled, at);
      at += filled.length;
      const part = parts[i + 1]!;
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/**
 * Prepared documents of each provider object (a reload makes new objects,
 * and the old ones go with them), by variant (with or without a login, a
 * profile's language and options). The domain is a hole, never a variant,
 * so a hoster's thousands of domains share one document; the bound only
 * guards against variety in the other inputs.
 */
export class PreparedCache {
  private readonly byProvider = new WeakMap<object, Map<string, PreparedDocument>>();

  constructor(private readonly perProvider = 512) {}

  get(provider: object, key: string, prepare: () => PreparedDocument): PreparedDocument {
    let entries = this.byProvider.get(provider);
    if (!entries) this.byProvider.set(provider, (entries = new Map()));
    let prepared = entries.get(key);
    if (prepared === undefined) {
      prepared = prepare();
      if (entries.size >= this.perProvider) entries.delete(entries.keys().next().value!);
    } else if (entries.size >= this.perProvider / 2) {
      // Most recently used last, once eviction is near (a Map keeps insertion order).
      entries.delete(key);
    } else {
      return prepared;
    }
    entries.set(key, prepared);
    return prepared;
  }
}

const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a, 32 bits, over UTF-16 code units, continuing from `hash`: a cheap hash, not a digest. */
function fnv1a(text: string, hash = FNV_OFFSET): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Escape text for element content only, as the plist builder does (& < >). */
export function escapeXmlText(text: string): string {
  return /[&<>]/.test(text) ? text.replace(/[&<>]/g, (c) => XML_ESCAPES[c]!) : text;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Escape text for XML element content or attribute values. */
export function escapeXml(text: string): string {
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!) : text;
}
