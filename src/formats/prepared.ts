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
import { fillDomain, fillTemplate, type Mailbox } from '../mailbox.js';

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
 * Holes are marked with letters and digits around a random value chosen at
 * start-up: both builders (XML, plist) pass them through unchanged (the
 * plist builder drops control and private-use characters), and provider
 * data cannot guess them. A marker left in the output is still caught below.
 */
const NONCE = randomBytes(12).toString('hex');
const HOLE = new RegExp(`H${NONCE}x(\\d+)x`);

/** Starts the templates of domain holes (see HoleMarkers.domain); no user-name template starts with it. */
const DOMAIN_HOLE = '\u0002';
/** The domain itself (Thunderbird's id and domain), the most frequent domain hole. */
const THE_DOMAIN = `${DOMAIN_HOLE}%EMAILDOMAIN%`;

export class HoleMarkers {
  readonly templates: string[] = [];
  /** A marker standing for `template` filled with the mailbox, escaped. */
  mark(template: string): string {
    this.templates.push(template);
    return `H${NONCE}x${this.templates.length - 1}x`;
  }

  /**
   * The requested domain's place: `text` with %EMAILDOMAIN% (a host name,
   * or the placeholder alone for the domain itself) becomes a marker filled
   * with the domain, with or without a mailbox; other text stays as it is.
   */
  domain(text: string): string {
    return text.includes('%EMAILDOMAIN%') ? this.mark(DOMAIN_HOLE + text) : text;
  }
}

/**
 * A hole's value for `domain` and, if known, `mailbox`: domain holes are
 * always filled; user-name templates are filled with the mailbox
 * (`transform` may keep one as written), and left as written without one,
 * for the client to fill in.
 */
export function fillHole(template: string, domain: string, mailbox: Mailbox | undefined, transform: (template: string, filled: string) => string = asFilled): string {
  if (template === THE_DOMAIN) return domain;
  if (template.startsWith(DOMAIN_HOLE)) return fillDomain(template.slice(DOMAIN_HOLE.length), domain);
  return mailbox ? transform(template, fillTemplate(template, mailbox)) : template;
}

export class PreparedDocument {
  /** The document's text between holes, encoded once (UTF-8). */
  private readonly parts: readonly Buffer[];
  /** The parts' total length in octets. */
  private readonly partOctets: number;
  private readonly slots: readonly string[];
  /** The distinct templates, and for each slot the index of its template there. */
  private readonly templates: readonly string[];
  private readonly slotTemplate: readonly number[];
  /** The document with every template left as written; what a document without holes always sends. */
  private readonly generic: Buffer;
  /** A digest of the document with its holes, computed once (see etag). */
  private readonly tag: string;

  constructor(
    built: string,
    markers: HoleMarkers,
    /** How filled-in values are escaped: XML attributes and text by default. */
    private readonly escape: (text: string) => string = escapeXml,
  ) {
    const pieces = built.split(HOLE);
    const parts: string[] = [];
    const slots: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      if (i % 2 === 0) parts.push(pieces[i]!);
      else slots.push(markers.templates[Number(pieces[i])]!);
    }
    // A marker may stand in several places (the address in several texts),
    // but every one must be intact and known.
    if (slots.some((slot) => slot === undefined) || parts.some((part) => part.includes(NONCE))) {
      throw new Error('prepared document: hole markers were altered by the builder');
    }
    this.parts = parts.map((part) => Buffer.from(part, 'utf8'));
    this.partOctets = this.parts.reduce((sum, part) => sum + part.length, 0);
    this.slots = slots;
    this.templates = [...new Set(slots)];
    this.slotTemplate = slots.map((slot) => this.templates.indexOf(slot));
    this.generic = this.renderWith((template) => template);
    this.tag = createHash('sha1').update(this.generic).update(slots.join('\0')).digest('base64url').slice(0, 22);
  }

  /**
   * A strong validator for render(domain, mailbox): the rendered bytes are a
   * pure function of this document, the domain and the address, so the
   * document's digest and a short hash of domain and address tell every
   * rendering apart without hashing the bytes of each response.
   */
  etag(domain: string, mailbox: Mailbox | undefined): string {
    if (this.slots.length === 0) return `"${this.tag}"`;
    const hash = fnv1a(domain, mailbox ? fnv1a(mailbox.address) : FNV_OFFSET);
    return `"${this.tag}-${hash.toString(36)}"`;
  }

  /** The document for a domain and, if known, a mailbox; `transform` may keep a user-name template unfilled. */
  render(domain: string, mailbox: Mailbox | undefined, transform: (template: string, filled: string) => string = asFilled): Buffer {
    if (this.slots.length === 0) return this.generic;
    return this.renderWith((template) => fillHole(template, domain, mailbox, transform));
  }

  /**
   * The document with each hole's template replaced by `fill(template)`,
   * escaped. A template standing in several holes (the address in several
   * texts, the user name of every server) is filled once.
   */
  renderWith(fill: (template: string) => string): Buffer {
    const templates = this.templates;
    const values: Buffer[] = new Array<Buffer>(templates.length);
    for (let t = 0; t < templates.length; t++) values[t] = Buffer.from(this.escape(fill(templates[t]!)), 'utf8');
    let length = this.partOctets;
    for (const t of this.slotTemplate) length += values[t]!.length;
    // The encoded parts and values copied into one buffer: joining strings
    // and encoding the result would copy the whole document twice more.
    const parts = this.parts;
    const out = Buffer.allocUnsafe(length);
    out.set(parts[0]!, 0);
    let at = parts[0]!.length;
    for (let i = 0; i < this.slotTemplate.length; i++) {
      const value = values[this.slotTemplate[i]!]!;
      out.set(value, at);
      at += value.length;
      const part = parts[i + 1]!;
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

const asFilled = (_template: string, filled: string): string => filled;

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
