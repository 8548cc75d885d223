/**
 * Apple configuration profiles (.mobileconfig) with one
 * com.apple.mail.managed payload, for iOS, iPadOS and macOS, and a
 * com.apple.caldav.account / com.apple.carddav.account payload for the
 * provider's calendars and contacts.
 *
 * Keys and types: Apple's schema (apple/device-management,
 * mdm/profiles/TopLevel.yaml, CommonPayloadKeys.yaml,
 * com.apple.mail.managed.yaml, com.apple.caldav.account.yaml,
 * com.apple.carddav.account.yaml). Choices from the research notes (apple.md):
 * - built from a typed object with `plist`, so ports and PayloadVersion are
 *   <integer> and booleans <true/>/<false/> (peers shipped <real>443</real>);
 * - one incoming and one outgoing server: IMAP over POP3, implicit TLS over
 *   STARTTLS; UseSSL is true for STARTTLS too (Apple's own "SSL: yes" on
 *   587; automx2 2024.2) and false only for plain;
 * - a stable PayloadIdentifier and UUIDv5 PayloadUUIDs per (provider,
 *   mailbox), so installing again replaces the profile instead of adding a
 *   second account; no personal data in identifiers;
 * - never a password, never iOS-only restriction keys (PreventMove,
 *   PreventAppSheet, SMIMEEnabled: they lock settings and are n/a on macOS);
 * - display texts only from the YAML and the validated address, the
 *   address as people write it (displayAddress: an IDN domain in Unicode);
 *   EmailAccountDescription is the provider's name and shows no domain.
 */
import { hash } from 'node:crypto';
import { build } from 'plist';
import type { Mailbox } from '../mailbox.js';
import { localize, type Authentication, type DavServer, type Provider, type Server } from '../catalog/model.js';
import { appleMethod, type AppleServerChoice } from '../clients/capabilities.js';
import { LANGUAGES, message } from '../messages.js';
import { escapeXmlText, HoleMarkers, PreparedCache, PreparedDocument } from './prepared.js';

export const APPLE_CONTENT_TYPE = 'application/x-apple-aspen-config';

const APPLE_AUTHENTICATION: Partial<Record<Authentication, string>> = {
  'password-cleartext': 'EmailAuthPassword',
  'password-encrypted': 'EmailAuthCRAMMD5',
  ntlm: 'EmailAuthNTLM',
  none: 'EmailAuthNone',
};

/** The profile's name for the method Apple Mail uses with `server` (capabilities.ts chose servers that have one). */
function appleAuthentication(server: Server): string {
  return APPLE_AUTHENTICATION[appleMethod(server)!]!;
}

export interface AppleOptions {
  /** Reverse-DNS prefix of this deployment's identifiers, e.g. "com.example.autoconfig". */
  readonly identifierPrefix: string;
  /** The user's full name for sent messages (EmailAccountName), already validated. */
  readonly fullName?: string;
  /** Language of the display texts (ConsentText always carries every language). */
  readonly language?: string;
}

/** What a profile says about one mailbox and its domain; everything else depends on the provider only. */
interface MailboxValues {
  /** The address as configured (ASCII domain): what Mail logs in and sends with. */
  readonly address: string;
  /**
   * The address as people write it (an IDN domain in Unicode), for the texts
   * a person reads on the install sheet and in Settings (issue 19); host
   * names, user names and EmailAddress stay as the provider configures them.
   */
  readonly shownAddress: string;
  /** A server's host name (with %EMAILDOMAIN% filled in). */
  readonly host: (template: string) => string;
  readonly identifier: string;
  readonly profileUuid: string;
  readonly mailUuid: string;
  readonly caldavUuid: string;
  readonly carddavUuid: string;
  readonly username: (template: string) => string;
  readonly fullName?: string;
}

/** The profile as a typed object, serialised by plist (integers, booleans and escaping by construction). */
function buildProfile(provider: Provider, servers: AppleServerChoice, language: string, values: MailboxValues): string {
  const { incoming, outgoing } = servers;
  const providerName = localize(provider.name, language);
  const describe = (lang: string, s: Server): string =>
    message(lang, s.socketType === 'plain' ? 'apple.server.unencrypted' : 'apple.server.encrypted', { host: values.host(s.host), port: s.port });
  const consent: Record<string, string> = {};
  for (const lang of ['default', ...LANGUAGES]) {
    const l = lang === 'default' ? 'en' : lang;
    consent[lang] = message(l, 'apple.profile.consent', { address: values.shownAddress, incoming: describe(l, incoming), outgoing: describe(l, outgoing), dav: consentDav(provider, l) });
  }
  const outgoingAuthentication = appleAuthentication(outgoing)!;
  const mail: Record<string, unknown> = {
    PayloadType: 'com.apple.mail.managed',
    PayloadVersion: 1,
    PayloadIdentifier: `${values.identifier}.mail`,
    PayloadUUID: values.mailUuid,
    PayloadDisplayName: message(language, 'apple.payload.displayName', { address: values.shownAddress }),
    EmailAccountDescription: providerName,
    EmailAccountName: values.fullName,
    EmailAccountType: incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP',
    EmailAddress: values.address,
    IncomingMailServerHostName: values.host(incoming.host),
    IncomingMailServerPortNumber: incoming.port,
    IncomingMailServerUseSSL: incoming.socketType !== 'plain',
    IncomingMailServerAuthentication: appleAuthentication(incoming),
    // Left out when not derivable: the device then asks for it.
    IncomingMailServerUsername: incoming.username === null ? undefined : values.username(incoming.username),
    OutgoingMailServerHostName: values.host(outgoing.host),
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: outgoing.socketType !== 'plain',
    OutgoingMailServerAuthentication: outgoingAuthentication,
    OutgoingMailServerUsername: outgoingAuthentication === 'EmailAuthNone' || outgoing.username === null ? undefined : values.username(outgoing.username),
    OutgoingPasswordSameAsIncomingPassword: outgoing.sameLoginAsIncoming && outgoingAuthentication !== 'EmailAuthNone',
  };
  const profile = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: values.identifier,
    PayloadUUID: values.profileUuid,
    PayloadDisplayName: message(language, 'apple.profile.displayName', { provider: providerName, address: values.shownAddress }),
    PayloadDescription: message(language, 'apple.profile.description', { provider: providerName, address: values.shownAddress }),
    PayloadOrganization: providerName,
    ConsentText: consent,
    PayloadContent: [mail, ...davPayloads(provider, language, values)],
  };
  // plist.build drops undefined values, which is how optional keys stay out.
  return build(profile as Parameters<typeof build>[0]);
}

/** What the install sheet says of the DAV accounts besides mail ('' when there are none). */
function consentDav(provider: Provider, l: string): string {
  const services = [provider.caldav, provider.carddav].flatMap((s) => (s ? [message(l, `apple.consent.${s.protocol}`, { url: s.url })] : []));
  return services.length === 0 ? '' : message(l, 'apple.consent.dav', { services: services.join(message(l, 'setup.and')) });
}

const DAV_KEY: Record<DavServer['protocol'], string> = { caldav: 'CalDAV', carddav: 'CardDAV' };

/**
 * One account payload per DAV service. Host and port come from the URL
 * (443 unless it names one). The CalDAV payload takes the URL as its
 * principal URL; the CardDAV one cannot (CardDAVPrincipalURL is "n/a" on
 * macOS in Apple's schema), so the device finds the path on the host by
 * RFC 6764 discovery. No user name when it cannot be derived: the device asks.
 */
function davPayloads(provider: Provider, language: string, values: MailboxValues): Record<string, unknown>[] {
  const providerName = localize(provider.name, language);
  return [provider.caldav, provider.carddav].flatMap((server) => {
    if (server === undefined) return [];
    const key = DAV_KEY[server.protocol];
    const url = new URL(server.url);
    return [{
      PayloadType: `com.apple.${server.protocol}.account`,
      PayloadVersion: 1,
      PayloadIdentifier: `${values.identifier}.${server.protocol}`,
      PayloadUUID: server.protocol === 'caldav' ? values.caldavUuid : values.carddavUuid,
      PayloadDisplayName: message(language, `apple.${server.protocol}.description`, { provider: providerName }),
      [`${key}AccountDescription`]: message(language, `apple.${server.protocol}.description`, { provider: providerName }),
      [`${key}HostName`]: url.hostname,
      [`${key}Port`]: url.port === '' ? 443 : Number(url.port),
      [`${key}UseSSL`]: true,
      ...(server.protocol === 'caldav' ? { CalDAVPrincipalURL: server.url } : {}),
      [`${key}Username`]: server.username === null ? undefined : values.username(server.username),
    }];
  });
}

const cache = new PreparedCache();

/**
 * The unsigned profile. Same input → the same bytes (no dates, no random
 * identifiers), which lets clients and caches compare profiles. The
 * document is built once per provider and variant; a request fills in the
 * address, host names with the domain, user names, identifiers and name.
 */
export function renderApple(provider: Provider, mailbox: Mailbox, servers: AppleServerChoice, options: AppleOptions): Buffer {
  const language = options.language ?? 'en';
  const key = `${options.identifierPrefix}|${language}|${options.fullName !== undefined}|${servers.incoming.host}:${servers.incoming.port}|${servers.outgoing.host}:${servers.outgoing.port}`;
  const prepared = cache.get(provider, key, () => {
    const holes = new HoleMarkers();
    const built = buildProfile(provider, servers, language, {
      address: holes.mark({ kind: 'address' }),
      shownAddress: holes.mark({ kind: 'shownAddress' }),
      host: (template) => holes.domain(template),
      identifier: `${options.identifierPrefix}.${provider.id}.${holes.value('identifier')}`,
      profileUuid: holes.value('profileUuid'),
      mailUuid: holes.value('mailUuid'),
      caldavUuid: holes.value('caldavUuid'),
      carddavUuid: holes.value('carddavUuid'),
      username: (template) => holes.username(template),
      ...(options.fullName !== undefined ? { fullName: holes.value('fullName') } : {}),
    });
    return new PreparedDocument(built, holes, escapeXmlText);
  });
  const ids = appleIdentity(options.identifierPrefix, provider, mailbox);
  return prepared.render({
    domain: mailbox.domain,
    mailbox,
    values: {
      identifier: ids.idPart,
      profileUuid: ids.uuid('profile'),
      mailUuid: ids.uuid('mail'),
      // Computed only for the payloads there are (a UUID costs a SHA-1).
      ...(provider.caldav ? { caldavUuid: ids.uuid('caldav') } : {}),
      ...(provider.carddav ? { carddavUuid: ids.uuid('carddav') } : {}),
      fullName: options.fullName ?? '',
    },
  });
}

/** Identifier and UUIDs of a (provider, mailbox) pair; stable across installs. */
export function appleIdentity(prefix: string, provider: Provider, mailbox: Mailbox): { identifier: string; idPart: string; uuid: (part: string) => string } {
  let namespace = prefixNamespaces.get(prefix);
  if (namespace === undefined) prefixNamespaces.set(prefix, (namespace = uuidV5(prefix, DNS_NAMESPACE)));
  const key = `${provider.id}|${mailbox.localPart.toLowerCase()}@${mailbox.domain}`;
  const uuid = (part: string): string => uuidV5(`${key}|${part}`, namespace).toUpperCase();
  const idPart = uuid('id').toLowerCase();
  return { identifier: `${prefix}.${provider.id}.${idPart}`, idPart, uuid };
}

/** RFC 9562 name space for DNS names. */
const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
/** The UUID name space of each identifier prefix (a deployment has one). */
const prefixNamespaces = new Map<string, string>();
/** Name spaces as bytes, converted once. */
const namespaceBytes = new Map<string, Buffer>();

/**
 * UUID version 5 (RFC 9562 5.5): SHA-1 of namespace and name. Ten lines on
 * node:crypto rather than a dependency for one function.
 */
export function uuidV5(name: string, namespace: string): string {
  let bytes = namespaceBytes.get(namespace);
  if (bytes === undefined) {
    bytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    if (namespaceBytes.size < 64) namespaceBytes.set(namespace, bytes);
  }
  // Name space and name in one reused buffer, hashed in one call: a Hash
  // object per UUID costs more than the digest (three UUIDs per profile).
  let input: Buffer;
  if (name.length * 3 <= UUID_SCRATCH.length - 16) {
    bytes.copy(UUID_SCRATCH);
    input = UUID_SCRATCH.subarray(0, 16 + UUID_SCRATCH.write(name, 16, 'utf8'));
  } else {
    input = Buffer.concat([bytes, Buffer.from(name, 'utf8')]);
  }
  // The digest as hex: a Buffer result costs more than the hash itself.
  // Version 5 in the high nibble of octet 6 (hex digit 12), the variant 10xx
  // in the high bits of octet 8 (hex digit 16).
  const hex = hash('sha1', input, 'hex');
  const variant = VARIANT_DIGITS[Number.parseInt(hex[16]!, 16) & 0x3]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
const VARIANT_DIGITS = '89ab';
const UUID_SCRATCH = Buffer.alloc(1024);

/** An ASCII file name for Content-Disposition, e.g. "example-mail.mobileconfig". */
export function profileFileName(provider: Provider): string {
  return `${provider.id.replace(/[^a-z0-9-]+/g, '-')}-mail.mobileconfig`;
}

/**
 * The user's full name (name= parameter) for EmailAccountName, or a reason
 * to refuse it. It appears in sent messages only, never in signed texts.
 */
export function parseFullName(raw: string): { ok: true; value: string } | { ok: false; reason: string } {
  const name = raw.trim();
  if (name.length === 0) return { ok: false, reason: 'the name is empty' };
  if (name.length > 100) return { ok: false, reason: 'the name is longer than 100 characters' };
  if (!/^[\p{L}\p{M}\p{N} .,'’&()"-]+$/u.test(name)) {
    return { ok: false, reason: 'the name may contain letters, digits, spaces and . , \' & ( ) " - only' };
  }
  return { ok: true, value: name };
}
