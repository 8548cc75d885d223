/**
 * The human setup guide: the provider's settings for one mailbox, and for
 * each client the labels that client shows, in English or German. Wording
 * comes from templates/messages (research: client-labels.md, which quotes
 * each client's own localisation files); HTML from templates/*.eta, which
 * escape every value.
 */
import type { Eta } from 'eta';
import { localize, type Authentication, type Provider, type Server, type SocketType } from '../catalog/model.js';
import { displayAddress, fillDomain, fillTemplate, type Mailbox } from '../mailbox.js';
import { LANGUAGES, message } from '../messages.js';
import { TEMPLATES_DIR } from '../paths.js';
import { appleUnavailableReason, chooseAppleServers } from './apple.js';
import { outlookMethod } from './outlook.js';

export const GUIDE_CONTENT_TYPE = 'text/html; charset=utf-8';

export type Client = 'tb' | 'outlook' | 'apple' | 'android';

export interface Wording {
  /** The field and the value to choose for the TLS mode. */
  readonly securityLabel: string;
  readonly security: string;
  /** The field and value for the authentication; Outlook has only the SPA box. */
  readonly authenticationLabel?: string;
  readonly authentication: string;
}

/** What a client calls a TLS mode and an authentication, in its own words. */
export function clientWording(client: Client, language: string, socketType: SocketType, authentication: Authentication): Wording {
  const t = (key: string) => message(language, key);
  switch (client) {
    case 'apple':
      return {
        securityLabel: t('apple.label.ssl'),
        security: t(socketType === 'plain' ? 'apple.ssl.off' : 'apple.ssl.on'),
        authenticationLabel: t('apple.label.auth'),
        authentication: t(`apple.auth.${authentication}`),
      };
    case 'outlook':
      return {
        securityLabel: t('outlook.label.encryption'),
        security: t(`outlook.security.${socketType}`),
        authentication: t(authentication === 'ntlm' ? 'outlook.spa.on' : 'outlook.spa.off'),
      };
    case 'tb':
    case 'android':
      return {
        securityLabel: t(`${client}.label.security`),
        security: t(`${client}.security.${socketType}`),
        authenticationLabel: t(`${client}.label.auth`),
        authentication: t(`${client}.auth.${authentication}`),
      };
  }
}

export interface GuideOptions {
  readonly language: string;
  /** Absolute URL of this mailbox's Apple profile (for the link and the QR code). */
  readonly profileUrl: string;
  /** Links to the same page in the other languages. */
  readonly languageLinks: readonly { code: string; name: string; href: string; current: boolean }[];
}

interface Row {
  direction: string;
  protocol: string;
  host: string;
  port: number;
  encryption: string;
  authentication: string;
  username: string;
  preferred: boolean;
}

interface Field {
  label: string;
  value: string;
}

interface ClientSection {
  id: Client | 'generic';
  title: string;
  auto?: string;
  steps: string[];
  servers: { heading: string; fields: Field[] }[];
  notes: string[];
}

/** The template engine, loaded with the first page (clients' own requests never need it). */
let engine: Promise<Eta> | undefined;
function views(): Promise<Eta> {
  engine ??= import('eta').then(({ Eta }) => new Eta({ views: TEMPLATES_DIR, cache: true, autoEscape: true, autoTrim: false }));
  return engine;
}

/** The QR code of the profile link, drawn as SVG on the server (the page runs no script). */
async function qrSvg(url: string): Promise<string> {
  const { toString } = await import('qrcode');
  return toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The page for a mailbox of `provider`. */
export async function renderGuide(provider: Provider, mailbox: Mailbox, options: GuideOptions): Promise<Buffer> {
  const l = options.language;
  const shown = displayAddress(mailbox);
  const providerName = localize(provider.name, l);
  const username = (s: Server): string =>
    s.username === null ? (provider.usernameHint ? localize(provider.usernameHint, l) : message(l, 'setup.username.ask', { provider: providerName })) : fillTemplate(s.username, mailbox);
  const host = (s: Server): string => fillDomain(s.host, mailbox.domain);
  const protocolName = (s: Server): string => s.protocol.toUpperCase();

  const rows: Row[] = [...provider.incoming, ...provider.outgoing].map((s, i) => ({
    direction: message(l, s.protocol === 'smtp' ? 'setup.table.outgoing' : 'setup.table.incoming'),
    protocol: protocolName(s),
    host: host(s),
    port: s.port,
    encryption: message(l, `generic.encryption.${s.socketType}`),
    authentication: message(l, `generic.auth.${s.authentication[0]!}`),
    username: username(s),
    preferred: i === 0 || i === provider.incoming.length,
  }));

  const incoming = provider.incoming[0]!;
  const outgoing = provider.outgoing[0]!;
  const labels = { server: message(l, 'field.server'), port: message(l, 'field.port'), username: message(l, 'field.username') };
  const serverFields = (client: Client, s: Server): Field[] => {
    const words = clientWording(client, l, s.socketType, s.authentication[0]!);
    const serverLabel = client === 'tb' ? message(l, 'tb.label.server') : labels.server;
    const usernameLabel = client === 'tb' ? message(l, 'tb.label.username') : labels.username;
    return [
      { label: serverLabel, value: host(s) },
      { label: labels.port, value: String(s.port) },
      { label: words.securityLabel, value: words.security },
      ...(words.authenticationLabel ? [{ label: words.authenticationLabel, value: words.authentication }] : []),
      ...(s.protocol === 'smtp' && s.authentication[0] === 'none' ? [] : [{ label: usernameLabel, value: username(s) }]),
    ];
  };
  const serverBlocks = (client: Client, chosen: { incoming: Server; outgoing: Server }) => [
    { heading: message(l, 'clients.incoming', { protocol: protocolName(chosen.incoming) }), fields: serverFields(client, chosen.incoming) },
    { heading: message(l, 'clients.outgoing'), fields: serverFields(client, chosen.outgoing) },
  ];
  const preferred = { incoming, outgoing };

  const sections: ClientSection[] = [];
  sections.push({
    id: 'tb',
    title: message(l, 'tb.title'),
    auto: message(l, 'tb.auto', { address: shown }),
    steps: [message(l, 'tb.path', { provider: providerName })],
    servers: serverBlocks('tb', preferred),
    notes: provider.incoming.some((s) => s.protocol === 'pop3') ? [message(l, 'tb.pop3')] : [],
  });

  const outlookIncoming = outlookMethod(incoming);
  const outlookOutgoing = outlookMethod(outgoing);
  sections.push({
    id: 'outlook',
    title: message(l, 'outlook.title'),
    auto: message(l, 'outlook.auto', { address: shown }),
    steps: [message(l, 'outlook.path', { protocol: incoming.protocol === 'imap' ? 'IMAP' : 'POP' })],
    servers: serverBlocks('outlook', preferred),
    notes: [
      outlookIncoming === undefined
        ? message(l, 'outlook.unsupported', { auth: message(l, `generic.auth.${incoming.authentication[0]!}`) })
        : message(l, outlookIncoming === 'ntlm' ? 'outlook.spa.on' : 'outlook.spa.off'),
      outlookOutgoing === 'none' ? message(l, 'outlook.smtpAuth.none') : message(l, outgoing.sameLoginAsIncoming ? 'outlook.smtpAuth.same' : 'outlook.smtpAuth.separate'),
    ],
  });

  const apple = chooseAppleServers(provider);
  const appleSection: ClientSection = {
    id: 'apple',
    title: message(l, 'apple.title'),
    steps: [message(l, 'apple.path')],
    servers: apple.ok ? serverBlocks('apple', apple.servers) : [],
    notes: [message(l, 'apple.macAuto')],
  };
  if (apple.ok) appleSection.auto = message(l, 'apple.auto', { address: shown });
  else appleSection.notes.unshift(message(l, 'apple.unavailable', { reason: appleUnavailableReason(provider, apple.missing, l) }));
  sections.push(appleSection);

  sections.push({
    id: 'android',
    title: message(l, 'android.title'),
    auto: message(l, 'android.auto', { address: shown }),
    steps: [message(l, 'android.path')],
    servers: serverBlocks('android', preferred),
    notes: [message(l, 'android.other', { security: message(l, `android.otherSecurity.${incoming.socketType}`) })],
  });
  sections.push({
    id: 'generic',
    title: message(l, 'generic.title'),
    steps: [
      message(l, 'generic.text', {
        incoming: `${host(incoming)}:${incoming.port} (${message(l, `generic.encryption.${incoming.socketType}`)})`,
        outgoing: `${host(outgoing)}:${outgoing.port} (${message(l, `generic.encryption.${outgoing.socketType}`)})`,
      }),
    ],
    servers: [],
    notes: [],
  });

  const trouble: string[] = [message(l, 'trouble.relay'), message(l, 'trouble.password')];
  if (provider.incoming.some((s) => s.protocol === 'pop3')) {
    trouble.push(message(l, 'trouble.pop3'));
    const days = provider.pop3?.daysToLeaveMessagesOnServer;
    if (days) trouble.push(message(l, 'trouble.pop3days', { provider: providerName, days }));
  }
  if (provider.maxMessageSize) trouble.push(message(l, 'trouble.size', { size: formatSize(provider.maxMessageSize, l) }));

  const qr = apple.ok ? await qrSvg(options.profileUrl) : undefined;
  const html = await (await views()).renderAsync('setup', {
    l,
    t: (key: string, params?: Record<string, string | number>) => message(l, key, params),
    title: message(l, 'setup.heading', { address: shown }),
    providerName,
    notes: provider.notes ? localize(provider.notes, l) : undefined,
    rows,
    sections,
    profile: apple.ok ? { url: options.profileUrl, qr } : undefined,
    trouble,
    webmail: provider.webmail,
    documentation: provider.documentation.map((d) => ({ url: d.url, text: localize(d.description, l) })),
    languageLinks: options.languageLinks,
  });
  return Buffer.from(html, 'utf8');
}

function formatSize(bytes: number, language: string): string {
  const units: [number, string][] = [[1024 ** 3, 'GiB'], [1e9, 'GB'], [1024 ** 2, 'MiB'], [1e6, 'MB'], [1024, 'KiB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (bytes >= size && bytes % size === 0) return `${(bytes / size).toLocaleString(language)} ${unit}`;
  }
  return `${bytes.toLocaleString(language)} B`;
}

/** Pages without a mailbox: the form (with an error next to the field) and "not served". */
export async function renderPage(name: 'index' | 'not-found', language: string, data: Record<string, unknown>, languageLinks: GuideOptions['languageLinks']): Promise<Buffer> {
  const html = await (await views()).renderAsync(name, {
    l: language,
    t: (key: string, params?: Record<string, string | number>) => message(language, key, params),
    languageLinks,
    ...data,
  });
  return Buffer.from(html, 'utf8');
}

export { LANGUAGES };
