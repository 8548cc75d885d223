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
import { appleUnavailableReason, capabilities, outlookMethod, type Direction } from '../clients/capabilities.js';
import { HoleMarkers, PreparedCache, PreparedDocument } from './prepared.js';

export const GUIDE_CONTENT_TYPE = 'text/html; charset=utf-8';

/*
 * Where the client labels of the issue-19 texts come from (templates/messages):
 * Verified from the research:
 * - Thunderbird for Android: "Edit configuration" / "Konfiguration bearbeiten",
 *   "Incoming/Outgoing server settings" / "Einstellungen des Posteingangs-/
 *   Postausgangsservers", "Username" / "Benutzername", "Security None" /
 *   "Sicherheit Keine", "Protocol" (client-labels.md §5, TfA strings.xml [L10N]).
 * - Thunderbird desktop: "Username" / "Benutzername" (account-hub-result-
 *   username-label), "Encrypted password", "OAuth2", "Continue"/"Weiter" as
 *   before (client-labels.md §1 [L10N]).
 * - New Outlook for Windows: Settings › Accounts › Your accounts › Add account,
 *   "Show more" / "Mehr anzeigen", "IMAP Incoming Server", "SMTP Outgoing
 *   Server", "SMTP Username" / "SMTP-Benutzername", "SMTP Password" /
 *   "SMTP-Kennwort", "Secure connection type" / "Sicherer Verbindungstyp"
 *   (client-labels.md §2b, mailcow and OVH guides [provider]).
 * - Classic Outlook: the DisableOffice365SimplifiedAccountCreation value under
 *   HKCU\Software\Microsoft\Office\16.0\Outlook\Setup (Microsoft KB3189194, as
 *   quoted by several admin scripts) and "Test E-mail AutoConfiguration" via
 *   Ctrl + right-click on the tray icon (Microsoft KB text, quoted by hosters).
 * - Apple: "User Name" / "Benutzername", "Use SSL" (A-HT203995 [vendor]).
 * Not verified (written around, no label quoted):
 * - Thunderbird desktop's "Edit configuration" button: from tb-findings.md §1
 *   (read in email-config-found.mjs), not in client-labels.md; the German label
 *   is unknown, so the German text describes the button instead of naming it.
 * - New Outlook's German host-field labels (the sources disagree) and its
 *   sign-in methods (no SPA setting found; that NTLM cannot work is inferred).
 * - Outlook for Mac and Outlook for iOS/Android: no labels in the research;
 *   their steps name no field, and their fields use the page's own words.
 * - Classic Outlook's credential prompt and the German name of "Test E-mail
 *   AutoConfiguration" (one third-party source: "E-Mail-AutoKonfiguration testen").
 * - The German Apple "SSL verwenden" switch (client-labels.md: UNCONFIRMED; the
 *   page says "SSL" as before).
 */

/**
 * The clients whose own words the page uses. 'outlook' is classic Outlook;
 * 'outlook-new' new Outlook for Windows; 'outlook-other' Outlook for Mac,
 * iOS and Android, for which the research has no labels (client-labels.md
 * has none), so their fields use the page's own words.
 */
export type Client = 'tb' | 'outlook' | 'outlook-new' | 'outlook-other' | 'apple' | 'android';

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
    case 'outlook-new':
      // "Secure connection type: SSL/TLS · STARTTLS" (client-labels.md 2b:
      // mailcow and OVH guides agree, en and de); no sign-in method field.
      return {
        securityLabel: t('outlookNew.label.security'),
        security: t(socketType === 'plain' ? 'generic.encryption.plain' : `outlookNew.security.${socketType}`),
        authentication: '',
      };
    case 'outlook-other':
      return {
        securityLabel: t('setup.table.encryption'),
        security: t(`generic.encryption.${socketType}`),
        authenticationLabel: t('setup.table.authentication'),
        authentication: t(`generic.auth.${authentication}`),
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
  id: Exclude<Client, 'outlook-other'> | 'outlook-mac' | 'outlook-mobile' | 'generic';
  title: string;
  /** What `auto` is: sets itself up, except the user name, or not at all. */
  autoLabel?: string;
  auto?: string;
  /**
   * What this client cannot do with this provider and what to do instead.
   * They depend on the provider and the language only, so they are part of
   * the prepared page.
   */
  warnings: string[];
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
  const t = (key: string, params?: Record<string, string | number>): string => message(l, key, params);
  // What to type where the client cannot know the log-in name (username: ask).
  const loginHint = provider.usernameHint ? localize(provider.usernameHint, l) : t('setup.username.ask', { provider: providerName });
  const username = (s: Server): string => (s.username === null ? loginHint : holes.username(s.username));
  const host = (s: Server): string => holes.domain(s.host);
  const protocolName = (s: Server): string => s.protocol.toUpperCase();

  const rows: Row[] = [...provider.incoming, ...provider.outgoing].map((s, i) => ({
    direction: t(s.protocol === 'smtp' ? 'setup.table.outgoing' : 'setup.table.incoming'),
    protocol: protocolName(s),
    host: host(s),
    port: s.port,
    encryption: t(`generic.encryption.${s.socketType}`),
    authentication: t(`generic.auth.${s.authentication[0]!}`),
    username: username(s),
    preferred: i === 0 || i === provider.incoming.length,
  }));

  const incoming = provider.incoming[0]!;
  const outgoing = provider.outgoing[0]!;
  const labels = { server: t('field.server'), port: t('field.port'), username: t('field.username') };
  const serverFields = (client: Client, s: Server): Field[] => {
    const words = clientWording(client, l, s.socketType, s.authentication[0]!);
    const serverLabel = client === 'tb' ? t('tb.label.server') : labels.server;
    const usernameLabel = client === 'tb' ? t('tb.label.username') : labels.username;
    return [
      { label: serverLabel, value: host(s) },
      { label: labels.port, value: String(s.port) },
      { label: words.securityLabel, value: words.security },
      ...(words.authenticationLabel ? [{ label: words.authenticationLabel, value: words.authentication }] : []),
      ...(s.protocol === 'smtp' && s.authentication[0] === 'none' ? [] : [{ label: usernameLabel, value: username(s) }]),
    ];
  };
  const serverBlocks = (client: Client, chosen: { incoming: Server; outgoing: Server }) => [
    { heading: t('clients.incoming', { protocol: protocolName(chosen.incoming) }), fields: serverFields(client, chosen.incoming) },
    { heading: t('clients.outgoing'), fields: serverFields(client, chosen.outgoing) },
  ];
  const preferred = { incoming, outgoing };

  // Who gets what from the automatic set-up: capabilities.ts decides, the page says it (issue 19).
  const can = capabilities(provider);
  const servers = (d: Direction): readonly Server[] => (d === 'incoming' ? provider.incoming : provider.outgoing);
  const direction = (d: Direction): string => t(`setup.direction.${d}`);
  /** The methods of a direction's servers, in the client's words where it has labels (Thunderbird's L10N), else the page's. */
  const methodsOf = (d: Direction, client: Client): string =>
    [...new Set(servers(d).flatMap((s) => s.authentication))].map((m) => t(client === 'tb' ? `tb.auth.${m}` : `generic.auth.${m}`)).join(', ');
  // Not derivable: Thunderbird (desktop and Android) gets the placeholder as
  // user name, Outlook no LoginName, Apple profiles none (the device asks).
  const needsLogin = [...provider.incoming, ...provider.outgoing].some((s) => s.username === null);
  const placeholder = t('tb.username.placeholder');
  // Thunderbird desktop reads every method config-v1.1 names, but OAuth2
  // only at hosts it has a built-in OAuth2 provider for; a direction with
  // OAuth2 alone makes it reject the document (tb-findings.md §4).
  const tbRefused = (['incoming', 'outgoing'] as const).find((d) => servers(d).every((s) => s.authentication.every((m) => m === 'oauth2')));
  // New Outlook, Outlook for Mac and mobile log in through Microsoft's cloud
  // like classic Outlook's password login; no guide shows them an SPA (NTLM)
  // setting (client-labels.md 2b; inferred, not verified on a device).
  const family = (d: Direction): Server | undefined => can.outlook[d].find((s) => outlookMethod(s) !== 'ntlm');
  const familyRefused = (['incoming', 'outgoing'] as const).find((d) => family(d) === undefined);

  const works: Record<'tb' | 'outlook' | 'apple' | 'android', boolean> = {
    tb: tbRefused === undefined,
    outlook: can.outlook.missing === undefined,
    apple: can.apple.ok,
    android: can.android.missing === undefined,
  };
  const orList = (items: string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')}${t('instead.or')}${items.at(-1)!}`);
  /** What to do instead: the clients that can, webmail, the provider's help. */
  const instead = (refused?: keyof typeof works): string => {
    const others = (Object.keys(works) as (keyof typeof works)[]).filter((c) => c !== refused && works[c]).map((c) => t(`name.${c}`));
    const choices: string[] = [];
    if (others.length > 0) choices.push(t('instead.clients', { clients: orList(others) }));
    if (provider.webmail) choices.push(t('instead.webmail', { url: provider.webmail }));
    choices.push(t(provider.documentation.length > 0 ? 'instead.docs' : 'instead.ask', { provider: providerName }));
    return t('instead.lead', { choices: orList(choices) });
  };
  const autoLabel = t(needsLogin ? 'clients.autoPartly' : 'clients.auto');

  const sections: ClientSection[] = [];
  const tb: ClientSection = {
    id: 'tb',
    title: t('tb.title'),
    warnings: [],
    steps: [t('tb.path', { provider: providerName })],
    servers: serverBlocks('tb', preferred),
    notes: provider.incoming.some((s) => s.protocol === 'pop3') ? [t('tb.pop3')] : [],
  };
  if (tbRefused !== undefined) {
    tb.warnings.push(`${t('tb.refused.oauth2', { direction: direction(tbRefused), provider: providerName, address: shown })} ${instead('tb')}`);
  } else {
    tb.autoLabel = autoLabel;
    tb.auto = needsLogin ? t('tb.auto.username', { address: shown, placeholder, hint: loginHint }) : t('tb.auto', { address: shown });
  }
  sections.push(tb);

  const outlook: ClientSection = { id: 'outlook', title: t('outlook.title'), warnings: [], steps: [], servers: [], notes: [] };
  if (can.outlook.missing !== undefined) {
    // Outlook gets an Autodiscover error and no half account: by hand it cannot sign in either.
    outlook.warnings.push(`${t('outlook.refused', { direction: direction(can.outlook.missing), provider: providerName, method: methodsOf(can.outlook.missing, 'outlook') })} ${instead('outlook')}`);
  } else {
    const chosen = { incoming: can.outlook.incoming[0]!, outgoing: can.outlook.outgoing[0]! };
    outlook.autoLabel = autoLabel;
    outlook.auto = needsLogin ? t('outlook.auto.username', { address: shown, hint: loginHint }) : t('outlook.auto', { address: shown });
    outlook.steps.push(t('outlook.path', { protocol: chosen.incoming.protocol === 'imap' ? 'IMAP' : 'POP' }));
    outlook.servers = serverBlocks('outlook', chosen);
    outlook.notes.push(
      t(outlookMethod(chosen.incoming) === 'ntlm' ? 'outlook.spa.on' : 'outlook.spa.off'),
      outlookMethod(chosen.outgoing) === 'none' ? t('outlook.smtpAuth.none') : t(chosen.outgoing.sameLoginAsIncoming ? 'outlook.smtpAuth.same' : 'outlook.smtpAuth.separate'),
    );
    if (needsLogin) outlook.notes.push(t('outlook.username.manual', { hint: loginHint }));
    // Classic Outlook's simplified Add Account dialog may go to Microsoft 365
    // only (Microsoft KB3189194; research/outlook.md §2.1, Monogramm PR #39).
    outlook.notes.push(t('outlook.simplified'));
  }
  sections.push(outlook);

  // New Outlook, Outlook for Mac, iOS and Android find IMAP settings through
  // Microsoft's cloud AutoDetect, which never asks this service for a custom
  // domain (research/outlook.md §2.3; issue 19 item 4): never "sets itself up".
  const familySection = (id: 'outlook-new' | 'outlook-mac' | 'outlook-mobile', prefix: string, client: Client): ClientSection => {
    const section: ClientSection = { id, title: t(`${prefix}.title`), warnings: [], steps: [], servers: [], notes: [] };
    if (familyRefused !== undefined) {
      section.warnings.push(
        `${t('outlookFamily.refused', { client: section.title, direction: direction(familyRefused), provider: providerName, method: methodsOf(familyRefused, client) })} ${instead()}`,
      );
      return section;
    }
    section.autoLabel = t('clients.notAuto');
    section.auto = t(`${prefix}.path`, { address: shown });
    section.servers = serverBlocks(client, { incoming: family('incoming')!, outgoing: family('outgoing')! });
    if (needsLogin) section.warnings.push(t('outlookFamily.username', { hint: loginHint }));
    return section;
  };
  const outlookNew = familySection('outlook-new', 'outlookNew', 'outlook-new');
  if (familyRefused === undefined) outlookNew.notes.push(t('outlookNew.cloud'));
  sections.push(outlookNew, familySection('outlook-mac', 'outlookMac', 'outlook-other'), familySection('outlook-mobile', 'outlookMobile', 'outlook-other'));

  const apple = can.apple;
  const appleSection: ClientSection = {
    id: 'apple',
    title: t('apple.title'),
    warnings: [],
    steps: [t('apple.path')],
    servers: apple.ok ? serverBlocks('apple', apple.servers) : [],
    notes: [t('apple.macAuto')],
  };
  if (apple.ok) {
    appleSection.autoLabel = autoLabel;
    appleSection.auto = t('apple.auto', { address: shown });
    // The profile leaves the user name out; the device asks while installing (apple.ts).
    if (needsLogin) appleSection.warnings.push(t('apple.username', { hint: loginHint }));
    // allowInsecureTransport: the profile's UseSSL is false for a plain server (apple.ts).
    const plain = (['incoming', 'outgoing'] as const).filter((d) => apple.servers[d].socketType === 'plain').map(direction);
    if (plain.length > 0) appleSection.warnings.push(t('apple.plain', { direction: plain.join(t('setup.and')), provider: providerName }));
  } else {
    appleSection.warnings.push(`${t('apple.unavailable', { reason: appleUnavailableReason(provider, apple.missing, l) })}. ${instead('apple')}`);
  }
  sections.push(appleSection);

  const android: ClientSection = {
    id: 'android',
    title: t('android.title'),
    warnings: [],
    steps: [t('android.path')],
    servers: serverBlocks('android', can.android.missing === undefined ? { incoming: can.android.incoming[0]!, outgoing: can.android.outgoing[0]! } : preferred),
    notes: [t('android.other', { security: t(`android.otherSecurity.${incoming.socketType}`) })],
  };
  const androidMissing = can.android.missing;
  if (androidMissing === undefined) {
    android.autoLabel = autoLabel;
    android.auto = needsLogin ? t('android.auto.username', { address: shown, placeholder, hint: loginHint }) : t('android.auto', { address: shown });
  } else {
    // capabilities.ts decides that Android gets nothing; this only says why:
    // no IMAP at all, a plain entry (the whole document is rejected), or no
    // method it knows (research: thunderbird.md §3).
    const imap = provider.incoming.filter((s) => s.protocol === 'imap');
    const directionServers = androidMissing === 'incoming' ? imap : provider.outgoing;
    const params = { direction: direction(androidMissing), provider: providerName, method: methodsOf(androidMissing, 'android') };
    if (androidMissing === 'incoming' && imap.length === 0) {
      android.warnings.push(t('android.refused.protocol', params));
    } else if (directionServers.some((s) => s.socketType === 'plain')) {
      android.warnings.push(`${t('android.refused.plain', params)} ${instead('android')}`);
    } else {
      android.warnings.push(`${t('android.refused.method', params)} ${instead('android')}`);
      android.steps = [];
      android.servers = [];
    }
  }
  sections.push(android);

  sections.push({
    id: 'generic',
    title: t('generic.title'),
    warnings: needsLogin ? [t('generic.username', { hint: loginHint })] : [],
    steps: [
      t('generic.text', {
        incoming: `${host(incoming)}:${incoming.port} (${t(`generic.encryption.${incoming.socketType}`)})`,
        outgoing: `${host(outgoing)}:${outgoing.port} (${t(`generic.encryption.${outgoing.socketType}`)})`,
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
    t,
    title: t('setup.heading', { address: shown }),
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
