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
import { localize, type Provider } from '../catalog/model.js';
import type { Mailbox } from '../mailbox.js';
import { LANGUAGES, message } from '../messages.js';
import { TEMPLATES_DIR } from '../paths.js';
import { capabilities } from '../clients/capabilities.js';
import { SetupSections, type LoginInWords } from './guide-sections.js';
import { HoleMarkers, PreparedCache, PreparedDocument } from './prepared.js';

export const GUIDE_CONTENT_TYPE = 'text/html; charset=utf-8';

export interface GuideOptions {
  readonly language: string;
  /** Absolute URL of this mailbox's Apple profile (for the link and the QR code). */
  readonly profileUrl: string;
  /** Which Thunderbirds are told the log-in name in words, where not as the provider says (see LoginInWords). */
  readonly loginInWords?: LoginInWords;
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

/** The template engine, loaded with the first page (clients' own requests never need it). */
let engine: Promise<Eta> | undefined;
function views(): Promise<Eta> {
  engine ??= import('eta').then(({ Eta }) => new Eta({ views: TEMPLATES_DIR, cache: true, autoEscape: true, autoTrim: false }));
  return engine;
}

/**
 * QR codes of profile links, the most recent kept: drawing one (Reed-Solomon
 * and the choice among eight masks) costs many times what filling the page
 * costs, and the same visitor asks again (a reload, the other language).
 * The bound keeps hostile variety from growing the heap.
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
  const inWords = options.loginInWords;
  const key = inWords === undefined ? language : `${language} ${inWords.thunderbird} ${inWords.android}`;
  const page = guides.get(provider, key, () => prepareGuide(eta, provider, language, inWords));
  const qr = capabilities(provider).apple.ok ? await qrSvg(options.profileUrl) : '';
  return page.render({ domain: mailbox.domain, mailbox, values: { profileUrl: options.profileUrl, markup: qr } });
}

/** The setup page of `provider` in language `l`, with holes for the mailbox and the profile link. */
function prepareGuide(eta: Eta, provider: Provider, l: string, inWords: LoginInWords | undefined): PreparedDocument {
  const holes = new HoleMarkers();
  const page = new SetupSections(provider, l, holes, inWords);
  const t = (key: string, params?: Record<string, string | number>): string => message(l, key, params);
  const providerName = localize(provider.name, l);
  const trouble: string[] = [t('trouble.relay'), t('trouble.password')];
  if (provider.incoming.some((s) => s.protocol === 'pop3')) {
    trouble.push(t('trouble.pop3'));
    const days = provider.pop3?.daysToLeaveMessagesOnServer;
    if (days) trouble.push(t('trouble.pop3days', { provider: providerName, days }));
  }
  if (provider.maxMessageSize) trouble.push(t('trouble.size', { size: formatSize(provider.maxMessageSize, l) }));

  const html = eta.render('setup', {
    l,
    t,
    title: t('setup.heading', { address: page.shownAddress }),
    providerName,
    notes: provider.notes ? localize(provider.notes, l) : undefined,
    rows: page.rows(),
    sections: page.all(),
    profile: capabilities(provider).apple.ok ? { url: holes.value('profileUrl'), qr: holes.value('markup') } : undefined,
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
