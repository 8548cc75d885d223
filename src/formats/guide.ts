/**
 * The human setup guide: the provider's settings for one mailbox, and for
 * each client the labels that client shows, in English or German. Wording
 * comes from templates/messages (research: client-labels.md, which quotes
 * each client's own localisation files); HTML from templates/*.eta, which
 * escape every value.
 *
 * Like the clients' formats, each page is rendered once (per provider and
 * language for the setup page, per language for the others) with marked
 * holes where the mailbox, the request's URLs or the visitor's input go;
 * serving a page fills the holes, escaped as the template would have
 * escaped them. A request never runs the template engine.
 */
import type { Eta } from 'eta';
import { localize, type Authentication, type Provider, type Server, type SocketType } from '../catalog/model.js';
import type { Mailbox } from '../mailbox.js';
import { LANGUAGES, message } from '../messages.js';
import { TEMPLATES_DIR } from '../paths.js';
import { appleUnavailableReason, capabilities, outlookMethod } from '../clients/capabilities.js';
import { HoleMarkers, PreparedCache, PreparedDocument } from './prepared.js';

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
}

/** A link to the same page in another language. */
interface LanguageLink {
  readonly code: string;
  readonly name: string;
  readonly href: string;
  readonly current: boolean;
}

/** Links to `path` in each language, with the address (when there is one) kept. */
function languageLinks(current: string, path: string, address?: string): LanguageLink[] {
  return LANGUAGES.map((code) => ({
    code,
    name: message(code, 'language.name'),
    current: code === current,
    href: `${path}?${new URLSearchParams({ ...(address !== undefined ? { emailaddress: address } : {}), lang: code }).toString()}`,
  }));
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

/**
 * QR codes of profile links, the most recent kept: drawing one costs about
 * 0.4 ms (Reed-Solomon and the choice among eight masks), ten times what
 * filling the page costs, and the same visitor asks again (a reload, the
 * other language). The bound keeps hostile variety from growing the heap
 * (about 2.4 KB a code).
 */
const QR_CODES_KEPT = 256;
const qrCodes = new Map<string, string>();

/** The QR code of the profile link, drawn as SVG on the server (the page runs no script). */
async function qrSvg(url: string): Promise<string> {
  let svg = qrCodes.get(url);
  if (svg === undefined) {
    const { toString } = await import('qrcode');
    svg = await toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    if (qrCodes.size >= QR_CODES_KEPT) qrCodes.delete(qrCodes.keys().next().value!);
    qrCodes.set(url, svg);
  }
  return svg;
}

/** Setup pages by provider object (a reload makes new ones) and language: as many per provider as there are languages. */
const guides = new PreparedCache();

/** A language with a message file (English for any other): pages are kept per language, so only these. */
function knownLanguage(language: string): string {
  return LANGUAGES.includes(language) ? language : LANGUAGES[0]!;
}

/** The page for a mailbox of `provider`. */
export async function renderGuide(provider: Provider, mailbox: Mailbox, options: GuideOptions): Promise<Buffer> {
  const eta = await views();
  const language = knownLanguage(options.language);
  const page = guides.get(provider, language, () => prepareGuide(eta, provider, language));
  const qr = capabilities(provider).apple.ok ? await qrSvg(options.profileUrl) : '';
  return page.render({ domain: mailbox.domain, mailbox, values: { profileUrl: options.profileUrl, markup: qr } });
}

/** The setup page of `provider` in language `l`, with holes for the mailbox and the profile link. */
function prepareGuide(eta: Eta, provider: Provider, l: string): PreparedDocument {
  const holes = new HoleMarkers();
  const shown = holes.mark({ kind: 'shownAddress' });
  const providerName = localize(provider.name, l);
  const username = (s: Server): string =>
    s.username === null
      ? provider.usernameHint
        ? localize(provider.usernameHint, l)
        : message(l, 'setup.username.ask', { provider: providerName })
      : holes.username(s.username);
  const host = (s: Server): string => holes.domain(s.host);
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

  const apple = capabilities(provider).apple;
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

  const html = eta.render('setup', {
    l,
    t: (key: string, params?: Record<string, string | number>) => message(l, key, params),
    title: message(l, 'setup.heading', { address: shown }),
    providerName,
    notes: provider.notes ? localize(provider.notes, l) : undefined,
    rows,
    sections,
    profile: apple.ok ? { url: holes.value('profileUrl'), qr: holes.value('markup') } : undefined,
    trouble,
    webmail: provider.webmail,
    documentation: provider.documentation.map((d) => ({ url: d.url, text: localize(d.description, l) })),
    languageLinks: languageLinks(l, '/setup', holes.mark({ kind: 'addressInQuery' })),
  });
  return new PreparedDocument(html, holes, eta.config.escapeFunction);
}

function formatSize(bytes: number, language: string): string {
  const units: [number, string][] = [[1024 ** 3, 'GiB'], [1e9, 'GB'], [1024 ** 2, 'MiB'], [1e6, 'MB'], [1024, 'KiB'], [1e3, 'kB']];
  for (const [size, unit] of units) {
    if (bytes >= size && bytes % size === 0) return `${(bytes / size).toLocaleString(language)} ${unit}`;
  }
  return `${bytes.toLocaleString(language)} B`;
}

/** What the pages without a mailbox show besides their fixed text. */
export type PageFields =
  /** The form, with the reason the last input was refused and that input kept. */
  | { readonly error?: string; readonly value?: string }
  /** "Not served": the mailbox whose domain has no provider here. */
  | { readonly mailbox: Mailbox };

/** Those pages by name, language and whether the form shows an error; a handful in all. */
const pages = new Map<string, PreparedDocument>();

/** Pages without a provider: the form (with an error next to the field) and "not served". */
export async function renderPage(name: 'index' | 'not-found', requestedLanguage: string, fields: PageFields = {}): Promise<Buffer> {
  const eta = await views();
  const language = knownLanguage(requestedLanguage);
  const withError = 'error' in fields && fields.error !== undefined;
  const key = `${name}\0${language}\0${withError}`;
  let page = pages.get(key);
  if (page === undefined) pages.set(key, (page = preparePage(eta, name, language, withError)));
  if ('mailbox' in fields) return page.render({ domain: fields.mailbox.domain, mailbox: fields.mailbox });
  return page.render({ domain: '', mailbox: undefined, values: { error: fields.error ?? '', input: fields.value ?? '' } });
}

function preparePage(eta: Eta, name: 'index' | 'not-found', language: string, withError: boolean): PreparedDocument {
  const holes = new HoleMarkers();
  const html = eta.render(name, {
    l: language,
    t: (key: string, params?: Record<string, string | number>) => message(language, key, params),
    ...(name === 'not-found'
      ? { domain: holes.domain('%EMAILDOMAIN%'), languageLinks: languageLinks(language, '/setup', holes.mark({ kind: 'addressInQuery' })) }
      : { languageLinks: languageLinks(language, '/'), ...(withError ? { error: holes.value('error'), value: holes.value('input') } : {}) }),
  });
  return new PreparedDocument(html, holes, eta.config.escapeFunction);
}

export { LANGUAGES };
