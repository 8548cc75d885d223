/**
 * A document built once with an XML builder, with marked holes where the
 * mailbox goes (user names). Serving a mailbox then only fills the holes,
 * with escaping, instead of building the whole document again. The builder
 * does all escaping of provider data; the holes escape the mailbox data.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { fillTemplate, type Mailbox } from '../mailbox.js';

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
 * NUL never survives validation into provider data (the schema and the
 * address parser refuse control characters), so it can mark holes safely.
 */
const HOLE = /\u0000(\d+)\u0000/;

export class HoleMarkers {
  readonly templates: string[] = [];
  /** A marker standing for `template` filled with the mailbox, escaped. */
  mark(template: string): string {
    this.templates.push(template);
    return `\u0000${this.templates.length - 1}\u0000`;
  }
}

export class PreparedDocument {
  private readonly parts: readonly string[];
  private readonly slots: readonly string[];
  /** The document with every template left as written (no mailbox). */
  readonly generic: Buffer;

  constructor(built: string, markers: HoleMarkers) {
    const pieces = built.split(HOLE);
    const parts: string[] = [];
    const slots: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      if (i % 2 === 0) parts.push(pieces[i]!);
      else slots.push(markers.templates[Number(pieces[i])]!);
    }
    if (slots.length !== markers.templates.length || parts.some((part) => part.includes('\u0000'))) {
      throw new Error('prepared document: hole markers were altered by the builder');
    }
    this.parts = parts;
    this.slots = slots;
    this.generic = Buffer.from(this.join((template) => escapeXml(template)), 'utf8');
  }

  /** The document for one mailbox; `transform` may keep a template unfilled. */
  render(mailbox: Mailbox | undefined, transform: (template: string, filled: string) => string = (_, filled) => filled): Buffer {
    if (!mailbox || this.slots.length === 0) return this.generic;
    return Buffer.from(this.join((template) => escapeXml(transform(template, fillTemplate(template, mailbox)))), 'utf8');
  }

  private join(fill: (template: string) => string): string {
    let out = this.parts[0]!;
    for (let i = 0; i < this.slots.length; i++) out += fill(this.slots[i]!) + this.parts[i + 1]!;
    return out;
  }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Escape text for XML element content or attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}
