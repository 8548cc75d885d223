/**
 * Mailboxes: parsing and normalising an e-mail address (IDN domains, limits),
 * and filling the user-name templates of a provider for one mailbox.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { message } from './messages.js';

export interface Mailbox {
  /** The address as used in output: local part as given, ASCII domain. */
  readonly address: string;
  readonly localPart: string;
  /** ASCII (punycode), lower case, no trailing dot. */
  readonly domain: string;
  /**
   * The log-in name the provider's directory gave for this address (a
   * provider's `lookup`, src/directory/), which LOOKED_UP_LOGIN stands for.
   */
  readonly login?: string;
  /** The person's name from the directory, where it has one (Outlook's and Apple's display name). */
  readonly displayName?: string;
}

export type AddressProblem = 'empty' | 'control' | 'badCharacter' | 'tooLong' | 'noAt' | 'noLocal' | 'noDomain' | 'twoAt' | 'badLocal' | 'localTooLong' | 'badDomain';

export type ParseResult<T> =
  | { ok: true; value: T }
  /** `code` names the problem (address.<code> in templates/messages); `reason` is the English line. */
  | { ok: false; code: AddressProblem; params: Record<string, number>; reason: string };

function invalidAddress(code: AddressProblem, params: Record<string, number> = {}): { code: AddressProblem; params: Record<string, number>; reason: string } {
  return { code, params, reason: message('en', `address.${code}`, params) };
}

/** RFC 5321 4.5.3.1: 64 octets local part, 254 octets for a usable path. */
const MAX_LOCAL_OCTETS = 64;
const MAX_ADDRESS_OCTETS = 254;
const MAX_DOMAIN_OCTETS = 253;

// C0 and C1 controls, DEL, and the line/paragraph separators: never valid in
// an address, and dangerous in logs and headers.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Code points no document may carry (XML 1.0 excludes surrogates, U+FFFE and
// U+FFFF; Unicode's noncharacters are never interchanged), and U+FFFD, which
// is what a decoder makes of invalid UTF-8 (an Autodiscover body): the
// address was not text.
const NOT_TEXT = /[\p{Surrogate}\ufdd0-\ufdef\ufffd\ufffe\uffff\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}]/u;
// Dot-atom (RFC 5322 3.2.3) with UTF-8 allowed (RFC 6531 atext extension).
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+)*$/u;
// Quoted string: printable ASCII and UTF-8, backslash escapes.
const QUOTED = /^"(?:[^"\\\u0000-\u001f\u007f]|\\[\u0020-\u007e])*"$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalise a mail domain to the form the catalog indexes: ASCII (punycode,
 * UTS #46 via WHATWG URL), lower case, without a trailing dot. Returns null
 * for anything that is not a host name with at least two labels.
 *
 * WHATWG's domainToASCII parses a URL host: it cuts at / \ ? # and maps
 * full-width letters, the ideographic full stop and ignorable characters
 * (soft hyphen, zero-width space) to others or to nothing, so
 * "autoconfig.example.com/evil" came back as "autoconfig.example.com". A
 * name is taken only when the conversion changed nothing but case and
 * Unicode normalisation, and the ASCII result is checked label by label
 * (RFC 1035 letters, digits, hyphens, 1-63 octets, 253 in all; RFC 5891
 * 4.2.3.1: hyphens in the third and fourth place only in xn-- labels).
 */
const PLAIN_ASCII_DOMAIN = /^(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!xn--)(?!-)[a-z0-9-]*[a-z][a-z0-9-]*(?<!-)$/;
// Characters that end a URL host or separate an address; whitespace of any kind.
const NOT_IN_HOST_NAMES = /[/\\?#@:%[\]\s\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]/u;

export function normalizeDomain(raw: string): string | null {
  // Fast path for what clients send almost always: a lower-case ASCII name
  // without punycode or other double-hyphen labels, which UTS #46 returns unchanged.
  if (raw.length <= MAX_DOMAIN_OCTETS && PLAIN_ASCII_DOMAIN.test(raw) && !raw.includes('--')) return raw;
  if (raw.length === 0 || raw.length > 1024 || CONTROL.test(raw) || NOT_IN_HOST_NAMES.test(raw)) return null;
  const trimmed = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const ascii = domainToASCII(trimmed);
  if (ascii === '' || ascii.length > MAX_DOMAIN_OCTETS) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every(validLabel)) return null;
  // A numeric last label means an IPv4 address, not a domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  // Nothing mapped away: each label reads back as it was given (bar case and NFC).
  const given = trimmed.normalize('NFC').toLowerCase().split('.');
  if (given.length !== labels.length || !labels.every((label, i) => label === given[i] || domainToUnicode(label) === given[i])) return null;
  return ascii;
}

function validLabel(label: string): boolean {
  if (!LABEL.test(label)) return false;
  if (label.slice(2, 4) !== '--') return true;
  // An A-label must decode to a U-label that encodes back to it.
  return label.startsWith('xn--') && label.length > 4 && domainToASCII(domainToUnicode(label)) === label;
}

/** The address as people write it: the domain in Unicode (bücher.example). */
export function displayAddress(mailbox: Mailbox): string {
  return `${mailbox.localPart}@${domainToUnicode(mailbox.domain) || mailbox.domain}`;
}

/**
 * Parse an e-mail address as clients send it (`emailaddress=`, Autodiscover
 * `EMailAddress`). The reason on failure is one line meant for a person.
 */
export function parseAddress(raw: string): ParseResult<Mailbox> {
  if (raw.length === 0) return { ok: false, ...invalidAddress('empty') };
  if (CONTROL.test(raw)) return { ok: false, ...invalidAddress('control') };
  if (NOT_TEXT.test(raw)) return { ok: false, ...invalidAddress('badCharacter') };
  // Cheap bound before any pattern runs; the exact octet limit is checked below.
  if (raw.length > 4 * MAX_ADDRESS_OCTETS) {
    return { ok: false, ...invalidAddress('tooLong', { max: MAX_ADDRESS_OCTETS }) };
  }
  const at = raw.lastIndexOf('@');
  if (at < 0) return { ok: false, ...invalidAddress('noAt') };
  const localPart = raw.slice(0, at);
  const rawDomain = raw.slice(at + 1);
  if (localPart.length === 0) return { ok: false, ...invalidAddress('noLocal') };
  if (rawDomain.length === 0) return { ok: false, ...invalidAddress('noDomain') };
  if (!localPart.startsWith('"') && localPart.includes('@')) {
    return { ok: false, ...invalidAddress('twoAt') };
  }
  if (!DOT_ATOM.test(localPart) && !QUOTED.test(localPart)) {
    return { ok: false, ...invalidAddress('badLocal') };
  }
  if (Buffer.byteLength(localPart, 'utf8') > MAX_LOCAL_OCTETS) {
    return { ok: false, ...invalidAddress('localTooLong', { max: MAX_LOCAL_OCTETS }) };
  }
  const domain = normalizeDomain(rawDomain);
  if (domain === null) return { ok: false, ...invalidAddress('badDomain') };
  const address = `${localPart}@${domain}`;
  if (Buffer.byteLength(address, 'utf8') > MAX_ADDRESS_OCTETS) {
    return { ok: false, ...invalidAddress('tooLong', { max: MAX_ADDRESS_OCTETS }) };
  }
  return { ok: true, value: { address, localPart, domain } };
}

/** The placeholders of Thunderbird's config-v1.1 that we accept in templates. */
export const PLACEHOLDERS = ['%EMAILADDRESS%', '%EMAILLOCALPART%', '%EMAILDOMAIN%'] as const;
const PLACEHOLDER = /%EMAILADDRESS%|%EMAILLOCALPART%|%EMAILDOMAIN%/g;

/**
 * The user name of every server once the directory has given the mailbox's
 * log-in name (answers/login-names.ts). Never written in a provider file:
 * the loader accepts only PLACEHOLDERS there, and this is not one of them.
 */
export const LOOKED_UP_LOGIN = '%LOGINNAME%';

/** Fill a user-name (or host) template for a mailbox. */
export function fillTemplate(template: string, mailbox: Mailbox): string {
  // The user name of almost every provider.
  if (template === '%EMAILADDRESS%') return mailbox.address;
  // Only a mailbox with a looked-up name is rendered with this template.
  if (template === LOOKED_UP_LOGIN) return mailbox.login ?? '';
  return template.replace(PLACEHOLDER, (name) =>
    name === '%EMAILADDRESS%' ? mailbox.address : name === '%EMAILLOCALPART%' ? mailbox.localPart : mailbox.domain,
  );
}

/** Fill only %EMAILDOMAIN% (host names depend on the domain, never on the user). */
export function fillDomain(template: string, domain: string): string {
  return template.replaceAll('%EMAILDOMAIN%', domain);
}
