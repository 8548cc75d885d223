/**
 * What each mail client can use of a provider: which servers, with which
 * authentication method. Decided once per provider object (a reload makes
 * new ones) and read by every format and the setup page, so a format never
 * asks another format, and the page never promises what a client's own
 * answer leaves out.
 *
 * - Thunderbird (and Thunderbird for Android) read every server and method
 *   config-v1.1 can name.
 * - Outlook (POX Autodiscover) can be told a password login (SPA off), NTLM
 *   (SPA on) or no authentication for SMTP; POX has no OAuth2, and Outlook
 *   does not speak CRAM-MD5 or GSSAPI to IMAP servers (research: outlook.md).
 * - Thunderbird's own Autodiscover reader (it falls back to Autodiscover
 *   when autoconfig fails) takes any SSL "off" as no TLS and otherwise
 *   decides by port: 143/110/25/587 are STARTTLS, every other port implicit
 *   TLS; SPA on is "a secure password method" (CRAM-MD5, NTLM, GSSAPI).
 *   Measured with Thunderbird 153.8 (ExchangeAutoDiscover.sys.mjs,
 *   readAutoDiscoverXML).
 * - Thunderbird for Android reads IMAP and SMTP only, rejects the whole
 *   document for one plain entry, and logs in with a password (plain or
 *   CRAM-MD5) or OAuth2 (research: thunderbird.md §3).
 * - Apple Mail takes one incoming and one outgoing server
 *   (com.apple.mail.managed): IMAP over POP3, implicit TLS over STARTTLS,
 *   with password, CRAM-MD5, NTLM, or none for SMTP; no OAuth2 in profiles
 *   (research: apple.md).
 *
 * - PACC (draft-ietf-mailmaint-pacc-03 wire format, as implemented by
 *   automx 3.0; -04 not yet reviewed) can only say "host X" per protocol:
 *   implicit TLS on the fixed ports 993, 995 and 465, the address as log-in
 *   name, one server per protocol, a password or OAuth (pacc below).
 *
 * Each client gets either a complete account (a server in each direction)
 * or a refusal it understands, never half an account: a client that can use
 * no server of one direction is told so (capabilities().<client>.missing).
 */
import { defaultPort, localize, type Authentication, type DavServer, type Provider, type Server, type SocketType } from '../catalog/model.js';
import { message } from '../messages.js';

const OUTLOOK_METHODS: readonly Authentication[] = ['password-cleartext', 'ntlm', 'none'];

/** The method Outlook would use for `server`, or undefined when it can use none. */
export function outlookMethod(server: Server): Authentication | undefined {
  return server.authentication.find((m) => OUTLOOK_METHODS.includes(m));
}

const APPLE_METHODS: readonly Authentication[] = ['password-cleartext', 'password-encrypted', 'ntlm', 'none'];

/** The method Apple Mail would use for `server` (no authentication only for SMTP), or undefined. */
export function appleMethod(server: Server): Authentication | undefined {
  return server.authentication.find((m) => APPLE_METHODS.includes(m) && (m !== 'none' || server.protocol === 'smtp'));
}

export interface AppleServerChoice {
  readonly incoming: Server;
  readonly outgoing: Server;
}

export type AppleChoice = { ok: true; servers: AppleServerChoice } | { ok: false; missing: 'incoming' | 'outgoing' };

export type Direction = 'incoming' | 'outgoing';

/** The servers one client can use, in the provider's order, and the direction it can use none of. */
export interface ClientServers {
  readonly incoming: readonly Server[];
  readonly outgoing: readonly Server[];
  /** Set when the client can use no server of this direction: it must be refused, not half configured. */
  readonly missing: Direction | undefined;
}

export interface ClientCapabilities {
  /**
   * Thunderbird desktop reads every method config-v1.1 names, but OAuth2
   * only at hosts it has a built-in OAuth2 provider for: it drops a server
   * with OAuth2 alone, and a direction left empty makes it reject the
   * document (measured with Thunderbird 153.8).
   */
  readonly thunderbird: ClientServers;
  /** Servers Outlook can be told about, in the provider's order. */
  readonly outlook: ClientServers;
  /**
   * New Outlook for Windows, Outlook for Mac and Outlook for iOS/Android,
   * set up by hand (their AutoDetect never asks this service): a password
   * login as classic Outlook's, and no guide shows them an SPA (NTLM)
   * setting (client-labels.md 2b; inferred, not verified on a device).
   */
  readonly outlookFamily: ClientServers;
  /** What Thunderbird's Autodiscover reader reads as the provider means it (see above). */
  readonly thunderbirdAutodiscover: ClientServers;
  readonly android: ClientServers;
  /** The servers of an Apple profile, or the direction Apple Mail can use no server of. */
  readonly apple: AppleChoice;
  /** What a PACC document can carry of the provider, or why there is none (see paccChoice). */
  readonly pacc: PaccChoice;
  /** See loginNameInWords (asked on every Thunderbird and Autodiscover request). */
  readonly loginNameInWords: boolean;
}

/** The servers of a PACC document: one per protocol, the most preferred that fits. */
export interface PaccServers {
  readonly imap?: Server;
  readonly pop3?: Server;
  readonly submit: Server;
  readonly caldav?: DavServer;
  readonly carddav?: DavServer;
}

export type PaccChoice = { ok: true; servers: PaccServers } | { ok: false; reason: string };

function usable(provider: Provider, can: (server: Server) => boolean): ClientServers {
  const incoming = provider.incoming.filter(can);
  const outgoing = provider.outgoing.filter(can);
  return { incoming, outgoing, missing: incoming.length === 0 ? 'incoming' : outgoing.length === 0 ? 'outgoing' : undefined };
}

/** Ports Thunderbird's Autodiscover reader takes as STARTTLS when SSL is not off. */
const STARTTLS_PORTS: ReadonlySet<number> = new Set([143, 110, 25, 587]);

/** The method Thunderbird's Autodiscover reader would use: a password (SPA off), a secure method (SPA on), or none for SMTP. */
export function thunderbirdAutodiscoverMethod(server: Server): Authentication | undefined {
  return server.authentication.find((m) => m === 'password-cleartext' || m === 'password-encrypted' || m === 'ntlm' || m === 'gssapi' || (m === 'none' && server.protocol === 'smtp'));
}

/** Whether Thunderbird reads this server's TLS mode from the port as it is (see above). */
function portTellsThunderbird(server: Server): boolean {
  if (server.socketType === 'plain') return true;
  return (server.socketType === 'starttls') === STARTTLS_PORTS.has(server.port);
}

const ANDROID_METHODS: readonly Authentication[] = ['password-cleartext', 'password-encrypted', 'oauth2'];

/**
 * Android takes the first IMAP and the first SMTP entry, but one entry it
 * cannot read (plain, or no method it knows) rejects the whole document:
 * then it can use nothing, and the direction of that entry is named.
 */
function androidServers(provider: Provider): ClientServers {
  const imap = provider.incoming.filter((s) => s.protocol === 'imap');
  const unreadable = (s: Server): boolean => s.socketType === 'plain' || !s.authentication.some((m) => ANDROID_METHODS.includes(m));
  const rejectedBy = [...imap, ...provider.outgoing].find(unreadable);
  if (rejectedBy !== undefined) return { incoming: [], outgoing: [], missing: rejectedBy.protocol === 'smtp' ? 'outgoing' : 'incoming' };
  return { incoming: imap, outgoing: provider.outgoing, missing: imap.length === 0 ? 'incoming' : undefined };
}

/**
 * Whether some server's log-in name cannot be derived from the address:
 * Outlook and Apple then ask for it, but Thunderbird cannot be made to, so
 * its answers say in words, in the reader's language, what to type.
 */
export function loginNameInWords(provider: Provider): boolean {
  return capabilities(provider).loginNameInWords;
}

const decided = new WeakMap<Provider, ClientCapabilities>();

/** What each client can use of `provider`, decided once per provider object. */
export function capabilities(provider: Provider): ClientCapabilities {
  let found = decided.get(provider);
  if (found === undefined) {
    found = {
      thunderbird: usable(provider, (s) => s.authentication.some((m) => m !== 'oauth2')),
      outlook: usable(provider, (s) => outlookMethod(s) !== undefined),
      outlookFamily: usable(provider, (s) => outlookMethod(s) !== undefined && outlookMethod(s) !== 'ntlm'),
      thunderbirdAutodiscover: usable(provider, (s) => thunderbirdAutodiscoverMethod(s) !== undefined && portTellsThunderbird(s)),
      android: androidServers(provider),
      apple: chooseApple(provider),
      pacc: paccChoice(provider),
      loginNameInWords: [...provider.incoming, ...provider.outgoing].some((s) => s.username === null && s.authentication.some((a) => a !== 'none')),
    };
    decided.set(provider, found);
  }
  return found;
}

const SOCKET_RANK: Record<SocketType, number> = { ssl: 0, starttls: 1, plain: 2 };

/** The preferred server Apple Mail can use: by protocol, then TLS mode, then the provider's order. */
function preferredForApple(servers: readonly Server[]): Server | undefined {
  return servers
    .map((server, order) => ({ server, order }))
    .filter(({ server }) => appleMethod(server) !== undefined)
    .sort(
      (a, b) =>
        Number(a.server.protocol === 'pop3') - Number(b.server.protocol === 'pop3') ||
        SOCKET_RANK[a.server.socketType] - SOCKET_RANK[b.server.socketType] ||
        a.order - b.order,
    )[0]?.server;
}

function chooseApple(provider: Provider): AppleChoice {
  const incoming = preferredForApple(provider.incoming);
  const outgoing = preferredForApple(provider.outgoing);
  if (!incoming) return { ok: false, missing: 'incoming' };
  if (!outgoing) return { ok: false, missing: 'outgoing' };
  return { ok: true, servers: { incoming, outgoing } };
}

/** Why no Apple profile can be made for `provider`, in `language` (the setup page) or English (the HTTP refusal). */
export function appleUnavailableReason(provider: Provider, missing: 'incoming' | 'outgoing', language: string): string {
  return message(language, 'apple.noServer', { provider: localize(provider.name, language), direction: message(language, `apple.direction.${missing}`) });
}

/** PACC's log-in name: the address, always (the document has no user-name member). */
const ADDRESS = '%EMAILADDRESS%';
/** Methods a PACC "password: true" client can log in with: it has a password and SASL, nothing else. */
const PACC_METHODS: readonly Authentication[] = ['password-cleartext', 'password-encrypted'];

/** Why a mail server cannot be in a PACC document, or undefined when it can. */
function paccMisfit(server: Server): string | undefined {
  if (server.socketType !== 'ssl') return server.socketType === 'starttls' ? 'STARTTLS' : 'no TLS';
  if (server.port !== defaultPort(server.protocol, 'ssl')) return `port ${server.port}, not ${defaultPort(server.protocol, 'ssl')}`;
  if (server.username !== ADDRESS) return 'the log-in name is not the address';
  if (!server.authentication.some((m) => PACC_METHODS.includes(m))) return 'no password log-in';
  return undefined;
}

/**
 * The subset rule. draft-ietf-mailmaint-pacc-03 (wire format as automx 3.0
 * implements it, croessner/automx src/automx/renderers/pacc.py; -04 not yet
 * reviewed) names one host per protocol, always implicit TLS on its fixed
 * port (IMAP 993, POP3 995, submission 465), and no user name: the client
 * logs in with the address. So the document takes, per protocol, the most
 * preferred server that is exactly that, with a password method; the
 * others are left out (they stay in every other format). Without an IMAP
 * or POP3 server, or without a submission server, there is no document
 * (never half an account), and the reason names what did not fit. OAuth2
 * is not announced: "oauth-public" means an issuer offering the public-client
 * profile (draft-ietf-mailmaint-oauth-public), which the provider model
 * cannot say. DAV services go in with the same log-in rule.
 */
function paccChoice(provider: Provider): PaccChoice {
  const fits = (s: Server): boolean => paccMisfit(s) === undefined;
  const imap = provider.incoming.find((s) => s.protocol === 'imap' && fits(s));
  const pop3 = provider.incoming.find((s) => s.protocol === 'pop3' && fits(s));
  const submit = provider.outgoing.find(fits);
  const why = (servers: readonly Server[]) => servers.map((s) => `${s.protocol.toUpperCase()} ${s.host}:${s.port} (${paccMisfit(s)!})`).join(', ');
  const lead = 'PACC (draft-ietf-mailmaint-pacc-03) describes only implicit TLS on 993 (IMAP), 995 (POP3) and 465 (submission) with the address as log-in name and a password';
  if (imap === undefined && pop3 === undefined) return { ok: false, reason: `${lead}; no incoming server fits: ${why(provider.incoming)}` };
  if (submit === undefined) return { ok: false, reason: `${lead}; no outgoing server fits: ${why(provider.outgoing)}` };
  const dav = (server: DavServer | undefined) => (server !== undefined && server.username === ADDRESS && new URL(server.url).port === '' ? server : undefined);
  const caldav = dav(provider.caldav);
  const carddav = dav(provider.carddav);
  return { ok: true, servers: { ...(imap ? { imap } : {}), ...(pop3 ? { pop3 } : {}), submit, ...(caldav ? { caldav } : {}), ...(carddav ? { carddav } : {}) } };
}
