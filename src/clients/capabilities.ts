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
 * - Apple Mail takes one incoming and one outgoing server
 *   (com.apple.mail.managed): IMAP over POP3, implicit TLS over STARTTLS,
 *   with password, CRAM-MD5, NTLM, or none for SMTP; no OAuth2 in profiles
 *   (research: apple.md).
 */
import { localize, type Authentication, type Provider, type Server, type SocketType } from '../catalog/model.js';
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

export interface ClientCapabilities {
  /** Servers Outlook can be told about, in the provider's order (incoming first). */
  readonly outlookServers: readonly Server[];
  /** The servers of an Apple profile, or the direction Apple Mail can use no server of. */
  readonly apple: AppleChoice;
}

const decided = new WeakMap<Provider, ClientCapabilities>();

/** What each client can use of `provider`, decided once per provider object. */
export function capabilities(provider: Provider): ClientCapabilities {
  let found = decided.get(provider);
  if (found === undefined) {
    found = {
      outlookServers: [...provider.incoming, ...provider.outgoing].filter((s) => outlookMethod(s) !== undefined),
      apple: chooseApple(provider),
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
