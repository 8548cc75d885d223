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
import { localize, type Authentication, type Provider, type Server, type SocketType } from '../catalog/model.js';
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
 */
export function renderThunderbird(provider: Provider, domain: string, mailbox?: Mailbox): Buffer {
  return thunderbirdResponse(provider, domain, mailbox).body;
}

/** The document and its strong validator, from one prepared document. */
export function thunderbirdResponse(provider: Provider, domain: string, mailbox?: Mailbox): { body: Buffer; etag: string } {
  const prepared = cache.get(provider, '', () => buildDocument(provider));
  return { body: prepared.render({ domain, mailbox, username: keepJxonSafe }), etag: prepared.etag(domain, mailbox) };
}

function buildDocument(provider: Provider): PreparedDocument {
  const holes = new HoleMarkers();
  const domain = holes.domain('%EMAILDOMAIN%');
  const server = (s: Server): Record<string, unknown> => ({
    '@type': s.protocol,
    hostname: holes.domain(s.host),
    port: s.port,
    socketType: SOCKET_TYPE[s.socketType],
    authentication: s.authentication.map((a) => AUTHENTICATION[a]),
    // Not derivable: config-v1.1 has no way to say "ask". An empty element
    // keeps Thunderbird for Android working (a missing one makes it reject the
    // whole document) and leaves the field empty there; Thunderbird desktop's
    // JXON reads an empty element as "true", which the user must correct.
    username: s.username === null ? '' : holes.username(s.username),
    ...(s.protocol === 'pop3' && provider.pop3 ? { pop3: pop3Options(provider) } : {}),
  });

  const emailProvider: Record<string, unknown> = {
    '@id': domain,
    // Only the requested domain: listing every domain of a hoster would
    // publish its customer list, and clients only check the syntax.
    domain,
    displayName: localize(provider.name, 'en'),
    displayShortName: provider.shortName,
    incomingServer: provider.incoming.map(server),
    outgoingServer: provider.outgoing.map(server),
  };
  if (provider.documentation.length > 0) {
    emailProvider.documentation = provider.documentation.map((doc) => ({
      '@url': doc.url,
      descr: Object.entries(doc.description).map(([lang, text]) => ({ '@lang': lang, '#text': text })),
    }));
  }
  const clientConfig: Record<string, unknown> = { '@version': '1.1', emailProvider };
  if (provider.webmail) clientConfig.webMail = { loginPage: { '@url': provider.webmail } };
  if (provider.oauth2) clientConfig.oAuth2 = { ...provider.oauth2 };

  const built = xmlBuilder().build({ ...XML_DECLARATION, clientConfig }) as string;
  return new PreparedDocument(built, holes);
}

function pop3Options(provider: Provider): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (provider.pop3?.leaveMessagesOnServer !== undefined) options.leaveMessagesOnServer = provider.pop3.leaveMessagesOnServer;
  if (provider.pop3?.daysToLeaveMessagesOnServer !== undefined) options.daysToLeaveMessagesOnServer = provider.pop3.daysToLeaveMessagesOnServer;
  return options;
}

/**
 * Thunderbird's JXON (mailnews/base/src/JXON.sys.mjs, parseText) turns text
 * that looks like a boolean, a number or a date into one ("00123" → 123), so
 * a filled-in user name like that would arrive altered. Send the template
 * instead; Thunderbird fills it in itself when it creates the account.
 */
function keepJxonSafe(template: string, filled: string): string {
  const looksTyped = /^(?:true|false)$/i.test(filled) || Number.isFinite(Number(filled)) || Number.isFinite(Date.parse(filled));
  return looksTyped ? template : filled;
}
