/**
 * Outlook Autodiscover, POX (plain old XML), for IMAP/POP3/SMTP accounts.
 *
 * Request: [MS-OXDSCLI] 2.2.3; response: 2.2.4 and the 2006a element pages
 * (learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/pox-autodiscover-response-for-exchange).
 * What real clients need (research notes, outlook.md):
 * - implicit TLS is <SSL>on</SSL><Encryption>SSL</Encryption>, STARTTLS is
 *   <SSL>off</SSL><Encryption>TLS</Encryption> (Encryption TLS on 993/465 made
 *   Outlook 2016+ wait for a plaintext greeting: stalwartlabs/stalwart#3248);
 * - SPA defaults to on when absent, so it is always written out;
 * - values are lower-case on/off and never empty (virtualmin-gpl#1184);
 * - Type is exactly IMAP, POP3 or SMTP ("POP" is wrong);
 * - errors use the root-namespace form of [MS-ASCMD] with Time and Id;
 * - the client's namespace or schema is never echoed back.
 */
import { randomInt } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Mailbox } from '../mailbox.js';
import type { Provider, Server } from '../catalog/model.js';
import { capabilities, outlookMethod, thunderbirdAutodiscoverMethod } from '../clients/capabilities.js';
import { message } from '../messages.js';
import { HoleMarkers, PreparedCache, PreparedDocument, XML_DECLARATION, xmlBuilder } from './prepared.js';

export const OUTLOOK_CONTENT_TYPE = 'application/xml; charset=utf-8';
export const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const OUTLOOK_RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const REQUEST_NS_PATH = '//schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
const OUTLOOK_RESPONSE_NS_PATH = '//schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** The Autodiscover POX request is under 500 bytes; a few KiB is plenty. */
export const MAX_REQUEST_BYTES = 8 * 1024;

const cache = new PreparedCache();

/**
 * Who reads the answer. Outlook takes the documented STARTTLS pair
 * <SSL>off</SSL><Encryption>TLS</Encryption>; Thunderbird's own
 * Autodiscover reader (its fallback when autoconfig fails) reads any SSL
 * "off" as no TLS at all and sends the password in clear, so it is told
 * <SSL>on</SSL><Encryption>TLS</Encryption>, which it reads by port as
 * STARTTLS (measured with Thunderbird 153.8, readAutoDiscoverXML), and only
 * the servers whose port tells it the right mode (capabilities.ts).
 */
export type OutlookReader = 'outlook' | 'thunderbird';

/**
 * The settings response of `provider` for mail domain `domain`, for the
 * servers `reader` can use (capabilities.ts; the caller refuses a reader
 * that can use no server of a direction). With a mailbox, LoginName is
 * filled in; without one (a GET that names no address), LoginName is left
 * out and Outlook asks for it.
 */
export function renderOutlook(provider: Provider, domain: string, mailbox?: Mailbox, reader: OutlookReader = 'outlook', language = 'en'): Buffer {
  const named = mailbox?.displayName !== undefined;
  const key = `${reader} ${mailbox ? 'with login' : 'without login'} ${language}${named ? ' named' : ''}`;
  return cache
    .get(provider, key, () => buildSettings(provider, mailbox !== undefined, named, reader, language))
    .render({ domain, mailbox, ...(named ? { values: { fullName: mailbox.displayName } } : {}) });
}

function buildSettings(provider: Provider, withLoginName: boolean, named: boolean, reader: OutlookReader, language: string): PreparedDocument {
  const holes = new HoleMarkers();
  const onOff = (value: boolean): string => (value ? 'on' : 'off');
  const forThunderbird = reader === 'thunderbird';
  const usable = forThunderbird ? capabilities(provider).thunderbirdAutodiscover : capabilities(provider).outlook;
  const protocol = (s: Server): Record<string, unknown> => {
    const method = forThunderbird ? thunderbirdAutodiscoverMethod(s)! : outlookMethod(s)!;
    const element: Record<string, unknown> = {
      Type: s.protocol === 'imap' ? 'IMAP' : s.protocol === 'pop3' ? 'POP3' : 'SMTP',
      Server: holes.host(s.host),
      Port: s.port,
    };
    // Not derivable (or no address given): leave LoginName out, so Outlook
    // asks for it. Thunderbird would take the address instead: it is told in
    // words what to type, as in config-v1.1 (thunderbird.ts).
    if (s.username !== null && withLoginName) element.LoginName = holes.username(s.username);
    else if (s.username === null && forThunderbird) element.LoginName = message(language, 'tb.username.placeholder');
    element.DomainRequired = 'off';
    // Thunderbird reads SPA on as "a secure method" (CRAM-MD5, NTLM, GSSAPI); Outlook as NTLM.
    element.SPA = onOff(forThunderbird ? method !== 'password-cleartext' && method !== 'none' : method === 'ntlm');
    element.SSL = onOff(s.socketType === 'ssl' || (forThunderbird && s.socketType === 'starttls'));
    element.Encryption = s.socketType === 'ssl' ? 'SSL' : s.socketType === 'starttls' ? 'TLS' : 'None';
    element.AuthRequired = onOff(method !== 'none');
    if (s.protocol === 'smtp') {
      element.UsePOPAuth = onOff(s.sameLoginAsIncoming && method !== 'none');
      element.SMTPLast = 'off';
    }
    return element;
  };
  const document = {
    ...XML_DECLARATION,
    Autodiscover: {
      '@xmlns': RESPONSE_NS,
      Response: {
        '@xmlns': OUTLOOK_RESPONSE_NS,
        // The person's name from the provider's directory: Outlook fills "Your name" with it
        // (User/DisplayName, https://learn.microsoft.com/previous-versions/office/office-2010/bb204152(v=exchg.140)).
        ...(named ? { User: { DisplayName: holes.value('fullName') } } : {}),
        Account: { AccountType: 'email', Action: 'settings', Protocol: [...usable.incoming, ...usable.outgoing].map(protocol) },
      },
    },
  };
  return new PreparedDocument(xmlBuilder().build(document) as string, holes);
}

/** Autodiscover error codes ([MS-OXDSCLI] 2.2.4.1.1.3.2). */
export const AutodiscoverError = {
  /** E-mail address cannot be found. */
  notFound: { code: 500, message: 'The e-mail address cannot be found' },
  /** Known, but no configuration the client can use. */
  noSettings: { code: 501, message: 'No settings for this address' },
  invalidRequest: { code: 600, message: 'Invalid Request' },
  /** AcceptableResponseSchema not served (e.g. ActiveSync mobilesync). */
  providerUnavailable: { code: 601, message: 'Provider is not available' },
} as const;
export type AutodiscoverErrorKind = keyof typeof AutodiscoverError;

/** The error document in the root namespace, without the 2006a namespace. */
export function renderOutlookError(kind: AutodiscoverErrorKind, now: Date = new Date()): Buffer {
  const { code, message } = AutodiscoverError[kind];
  const time = `${now.toISOString().slice(11, 19)}.${String(now.getUTCMilliseconds()).padStart(3, '0')}0000`;
  const document = {
    ...XML_DECLARATION,
    Autodiscover: {
      '@xmlns': RESPONSE_NS,
      Response: { Error: { '@Time': time, '@Id': randomInt(0, 2 ** 32 - 1), ErrorCode: code, Message: message, DebugData: '' } },
    },
  };
  return Buffer.from(xmlBuilder().build(document) as string, 'utf8');
}

export type AutodiscoverRequest =
  | { ok: true; address: string }
  | { ok: false; error: 'invalidRequest' | 'providerUnavailable'; reason: string };

// Outlook never sends a DTD; refusing any before parsing removes the whole
// class of entity-expansion and external-entity attacks.
const DTD = /<!(?:DOCTYPE|ENTITY)/i;

const parser = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/**
 * Read an Autodiscover POX request body: the shape Outlook sends is read
 * with one regular expression, anything else in full.
 */
export function parseOutlookRequest(body: string): AutodiscoverRequest {
  return readCanonicalRequest(body) ?? readRequestInFull(body);
}

// XML whitespace only (JavaScript's \s also matches Unicode spaces, which XML reads as text).
const S = '[ \\t\\r\\n]*';
/**
 * The request as Outlook and every client seen so far send it: an optional
 * declaration, Autodiscover with a default namespace, Request with
 * EMailAddress then AcceptableResponseSchema, free of references, comments
 * and prefixes. Such a body is well-formed by construction, so it needs
 * neither the validator nor the parser (which cost more than the whole
 * answer); test/outlook-request.ts shows both readings agree on it.
 */
const CANONICAL_REQUEST = new RegExp(
  // The declaration, when present, must be the very first thing (XML 1.0 2.8).
  `^(?:<\\?xml version=(["'])1\\.0\\1(?: encoding=(["'])[A-Za-z][A-Za-z0-9._-]*\\2)?${S}\\?>)?${S}` +
    `<Autodiscover xmlns=(["'])([^"'<>&]*)\\3${S}>${S}<Request>${S}` +
    `<EMailAddress>([^<>&]*)</EMailAddress>${S}<AcceptableResponseSchema>([^<>&]*)</AcceptableResponseSchema>${S}` +
    `</Request>${S}</Autodiscover>${S}$`,
);

/** The canonical request's reading, or undefined when the body has another shape. */
export function readCanonicalRequest(body: string): AutodiscoverRequest | undefined {
  const match = CANONICAL_REQUEST.exec(body);
  if (match === null) return undefined;
  if (!sameNamespace(match[4]!, REQUEST_NS_PATH)) return { ok: false, error: 'invalidRequest', reason: NOT_REQUEST_NAMESPACE };
  if (!sameNamespace(match[6]!, OUTLOOK_RESPONSE_NS_PATH)) return { ok: false, error: 'providerUnavailable', reason: OTHER_SCHEMA };
  const address = match[5]!.trim();
  return address === '' ? { ok: false, error: 'invalidRequest', reason: NO_ADDRESS } : { ok: true, address };
}

const NOT_REQUEST_NAMESPACE = 'the request is not in the Outlook Autodiscover request namespace';
const OTHER_SCHEMA = 'only the Outlook 2006a response schema is served (no ActiveSync)';
const NO_ADDRESS = 'the request has no EMailAddress';

/**
 * Read any Autodiscover POX request body. The parsed object is untrusted:
 * only own string properties are read, never inherited ones.
 */
export function readRequestInFull(body: string): AutodiscoverRequest {
  const invalid = (reason: string): AutodiscoverRequest => ({ ok: false, error: 'invalidRequest', reason });
  if (body.trim() === '') return invalid('the request body is empty; expected an Autodiscover request');
  if (DTD.test(body)) return invalid('document type declarations and entities are not accepted');
  if (nestingDepth(body) > 8) return invalid('the request is nested too deeply to be an Autodiscover request');
  if (XMLValidator.validate(body) !== true) return invalid('the request is not well-formed XML');
  const namespace = /<(?:[A-Za-z_][\w.-]*:)?Autodiscover\b[^>]*\bxmlns(?::[\w.-]+)?\s*=\s*["']([^"']*)["']/.exec(body)?.[1];
  if (namespace === undefined || !sameNamespace(namespace, REQUEST_NS_PATH)) {
    return invalid(NOT_REQUEST_NAMESPACE);
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(body);
  } catch {
    // fast-xml-parser refuses names such as __proto__ (prototype pollution).
    return invalid('the request uses element names that are not allowed');
  }
  const request = child(child(parsed, 'Autodiscover'), 'Request');
  if (request === undefined) return invalid('the request has no Autodiscover/Request element');
  const schema = text(child(request, 'AcceptableResponseSchema'));
  if (schema !== undefined && !sameNamespace(schema, OUTLOOK_RESPONSE_NS_PATH)) {
    return { ok: false, error: 'providerUnavailable', reason: OTHER_SCHEMA };
  }
  // [MS-OXDSCLI] 3.2.5: when both are present, LegacyDN wins.
  const raw = text(child(request, 'LegacyDN')) ?? text(child(request, 'EMailAddress'));
  if (raw === undefined || raw === '') return invalid(NO_ADDRESS);
  const address = decodeReferences(raw);
  if (address === undefined) return invalid('the EMailAddress has a character reference that is not allowed');
  return { ok: true, address };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Entity processing is off in the parser (no expansion attacks), so the five
 * predefined entities and character references in the one value we read are
 * decoded here; the body is at most a few KiB, so this is bounded.
 */
function decodeReferences(value: string): string | undefined {
  let failed = false;
  const decoded = value.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      if (code > 0x10ffff || code < 0x20) failed = true;
      return failed ? whole : String.fromCodePoint(code);
    }
    const character = PREDEFINED[name];
    if (character === undefined) failed = true;
    return character ?? whole;
  });
  return failed ? undefined : decoded;
}

function sameNamespace(value: string, pathPart: string): boolean {
  const trimmed = value.trim().toLowerCase();
  return trimmed === `http:${pathPart}` || trimmed === `https:${pathPart}`;
}

function child(node: unknown, name: string): unknown {
  if (node === null || typeof node !== 'object' || !Object.hasOwn(node, name)) return undefined;
  return (node as Record<string, unknown>)[name];
}

function text(node: unknown): string | undefined {
  return typeof node === 'string' ? node.trim() : undefined;
}

/** Depth of element nesting, counted without building anything. */
function nestingDepth(body: string): number {
  let depth = 0;
  let max = 0;
  const tag = /<(\/?)[A-Za-z_][^>]*?(\/?)>/g;
  for (let match = tag.exec(body); match; match = tag.exec(body)) {
    if (match[1]) depth--;
    else if (!match[2]) max = Math.max(max, ++depth);
  }
  return max;
}
