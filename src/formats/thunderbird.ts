/**
 * Thunderbird autoconfig, config-v1.1.xml (also read by Thunderbird for
 * Android, Evolution, KMail and ISPDB lookups).
 *
 * Format: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
 * and draft-ietf-mailmaint-autoconfig. What the clients really accept is in
 * the project's research notes (thunderbird.md); the rules that shape this
 * file:
 * - emailProvider@id must be a host name, and at least one <domain> must be
 *   present, or both clients reject the document: we use the requested domain;
 * - no namespace prefixes and no whitespace inside values (Thunderbird's JXON
 *   does not trim enum values);
 * - a plain IMAP/SMTP entry makes Thunderbird for Android reject the whole
 *   document, so plain only appears when the provider allows it explicitly
 *   (allowInsecureTransport; the loader refuses it otherwise);
 * - never a <password>.
 */
import type { Mailbox } from '../mailbox.js';
import { localize, type Authentication, type DavServer, type Provider, type Server, type SocketType } from '../catalog/model.js';
import { loginNameInWords } from '../clients/capabilities.js';
import { message } from '../messages.js';
import { HoleMarkers, PreparedCache, PreparedDocument, XML_DECLARATION, xmlBuilder } from './prepared.js';

export const THUNDERBIRD_CONTENT_TYPE = 'text/xml; charset=utf-8';

const SOCKET_TYPE: Record<SocketType, string> = { ssl: 'SSL', starttls: 'STARTTLS', plain: 'plain' };

const AUTHENTICATION: Record<Authentication, string> = {
  'password-cleartext': 'password-cleartext',
  'password-encrypted': 'password-encrypted',
  ntlm: 'NTLM',
  gssapi: 'GSSAPI',
  oauth2: 'OAuth2',
  none: 'none',
};

/** One prepared document per provider: the domain and the user names are holes. */
const cache = new PreparedCache();

/**
 * The config-v1.1 document of `provider` for mail domain `domain` (ASCII).
 * With a mailbox, user names are filled in; without, they stay placeholders
 * that the client fills (Thunderbird for Android and KMail send no address).
 * `language` only matters to providers whose log-in name cannot be derived
 * (see loginNameInWords).
 */
export function renderThunderbird(provider: Provider, domain: string, mailbox?: Mailbox, language = 'en'): Buffer {
  return thunderbirdResponse(provider, domain, mailbox, language).body;
}

/** The document and its strong validator, from one prepared document (per language where the hint needs one). */
export function thunderbirdResponse(provider: Provider, domain: string, mailbox?: Mailbox, language = 'en'): { body: Buffer; etag: string } {
  const key = loginNameInWords(provider) ? language : '';
  const prepared = cache.get(provider, key, () => buildDocument(provider, key || 'en'));
  return { body: prepared.render({ domain, mailbox, username: keepJxonSafe }), etag: prepared.etag(domain, mailbox) };
}

function buildDocument(provider: Provider, language: string): PreparedDocument {
  const holes = new HoleMarkers();
  const domain = holes.domain('%EMAILDOMAIN%');
  const server = (s: Server): Record<string, unknown> => ({
    '@type': s.protocol,
    hostname: holes.host(s.host),
    port: s.port,
    socketType: SOCKET_TYPE[s.socketType],
    authentication: s.authentication.map((a) => AUTHENTICATION[a]),
    // Not derivable: config-v1.1 has no way to say "ask". Thunderbird
    // desktop turns an empty element into the user name "true", a missing
    // one into "undefined", white space into "NaN" (its JXON), and Android
    // rejects a document without the element. So the element says in words
    // what to type: Thunderbird shows it as the user name of the found
    // settings, the login fails before an account is made, and the setup
    // page tells where to correct it (measured with Thunderbird 153.8).
    // (A server without authentication has no log-in name to type.)
    username: s.username !== null ? holes.username(s.username) : s.authentication.every((a) => a === 'none') ? '' : message(language, 'tb.username.placeholder'),
    ...(s.protocol === 'pop3' && provider.pop3 ? { pop3: pop3Options(provider) } : {}),
  });

  const emailProvider: Record<string, unknown> = {
    '@id': domain,
    // Only the requested domain: listing every domain of a hoster would
    // publish its customer list, and clients only check the syntax.
    domain,
    displayName: holes.own(localize(provider.name, 'en')),
    displayShortName: holes.own(provider.shortName),
    incomingServer: provider.incoming.map(server),
    outgoingServer: provider.outgoing.map(server),
  };
  if (provider.documentation.length > 0) {
    emailProvider.documentation = provider.documentation.map((doc) => ({
      '@url': doc.url,
      descr: Object.entries(doc.description).map(([lang, text]) => ({ '@lang': lang, '#text': text })),
    }));
  }
  const clientConfig: Record<string, unknown> = { '@version': '1.1', emailProvider, ...davElements(provider, (template) => holes.username(template), message(language, 'tb.username.placeholder')) };
  if (provider.webmail) clientConfig.webMail = { loginPage: { '@url': provider.webmail } };
  if (provider.oauth2) clientConfig.oAuth2 = { ...provider.oauth2 };

  const built = xmlBuilder().build({ ...XML_DECLARATION, clientConfig }) as string;
  return new PreparedDocument(built, holes);
}

/**
 * Calendars and contacts as draft-ietf-mailmaint-autoconfig-06 §3.1/§3.4
 * has them: <addressbook type="carddav"> and <calendar type="caldav"> at
 * the root, one level above <emailProvider>, each a <url>, HTTP Basic
 * (§3.6.2: `system="http"`, "Basic") and a <username>
 * (https://datatracker.ietf.org/doc/draft-ietf-mailmaint-autoconfig/).
 * Thunderbird's reader (readFromXML.sys.mjs) reads only <emailProvider>,
 * and clients MUST ignore what they do not support (§3.4.1); the real
 * Thunderbird suite checks that it configures mail exactly as before.
 */
function davElements(provider: Provider, username: (template: string) => string, ask: string): Record<string, unknown> {
  const element = (server: DavServer) => ({
    '@type': server.protocol,
    url: server.url,
    authentication: { '@system': 'http', '#text': 'Basic' },
    username: server.username === null ? ask : username(server.username),
  });
  return { ...(provider.carddav ? { addressbook: element(provider.carddav) } : {}), ...(provider.caldav ? { calendar: element(provider.caldav) } : {}) };
}

function pop3Options(provider: Provider): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (provider.pop3?.leaveMessagesOnServer !== undefined) options.leaveMessagesOnServer = provider.pop3.leaveMessagesOnServer;
  if (provider.pop3?.daysToLeaveMessagesOnServer !== undefined) options.daysToLeaveMessagesOnServer = provider.pop3.daysToLeaveMessagesOnServer;
  return options;
}

/**
 * Thunderbird's JXON (mailnews/base/src/JXON.sys.mjs, parseText) turns text
 * that reads as a boolean into one, and text that reads as a number into
 * that number ("00123" → 123, "1e3" → 1000), so a filled-in user name like
 * that would arrive altered. Send the template instead; Thunderbird fills it
 * in itself when it creates the account. A number that reads back as
 * itself ("12345") arrives intact, and Thunderbird 153 converts no dates.
 */
export function keepJxonSafe(template: string, filled: string): string {
  return thunderbirdAlters(filled) ? template : filled;
}

/** Whether Thunderbird's JXON would read `text` as something else (a boolean, or a number that writes back otherwise). */
export function thunderbirdAlters(text: string): boolean {
  return /^(?:true|false)$/i.test(text) || (text.trim() !== '' && Number.isFinite(Number(text)) && String(Number.parseFloat(text)) !== text);
}
