/**
 * The human pages: / (one field, works without JavaScript) and /setup (the
 * settings and each client's own words for one mailbox), English or German
 * by ?lang= or Accept-Language.
 */
import { GUIDE_CONTENT_TYPE, renderGuide, renderPage } from '../formats/guide.js';
import { parseAddress } from '../mailbox.js';
import { message } from '../messages.js';
import type { ServerContext } from './context.js';
import { queryParameter, Refusal, type Answer, type Exchange, type Served } from './exchange.js';
import { preferredLanguage } from './language.js';
import { lookupMailbox } from './lookup.js';
import { forThunderbird, withoutLookup } from './login-names.js';
import { loginNameInWords } from '../clients/capabilities.js';

/** No script at all, styles only from here, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";


function html(status: number, body: Buffer, lang: string, served: Served): Answer {
  return {
    status,
    headers: {
      'content-type': GUIDE_CONTENT_TYPE,
      'content-language': lang,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      // The address is in the URL: never send it on to linked sites.
      'referrer-policy': 'no-referrer',
      vary: 'Accept-Language',
      'cache-control': 'no-store',
    },
    body,
    served,
  };
}

const GUIDE: Served = { format: 'guide' };

/** GET /: the form. */
export async function indexPage(exchange: Exchange): Promise<Answer> {
  const lang = preferredLanguage(exchange, { fromQuery: true });
  return html(200, await renderPage('index', lang), lang, GUIDE);
}

/** GET /setup?emailaddress=…: the page for one mailbox, the form again with the reason, or "not served". */
export async function setupPage(context: ServerContext, exchange: Exchange): Promise<Answer> {
  const lang = preferredLanguage(exchange, { fromQuery: true });
  const raw = queryParameter(exchange.query, ['emailaddress', 'email']);
  const form = async (error: string, value: string) => html(400, await renderPage('index', lang, { error, value }), lang, GUIDE);
  if (raw instanceof Refusal) return form(raw.reason, '');
  if (raw === undefined || raw.trim() === '') return form(message(lang, 'index.label'), '');
  const parsed = parseAddress(raw.trim());
  if (!parsed.ok) {
    return form(message(lang, 'address.invalid', { reason: message(lang, `address.${parsed.code}`, parsed.params) }), raw.slice(0, 254));
  }
  const mailbox = parsed.value;
  const lookup = await lookupMailbox(context, mailbox, exchange.host);
  if (lookup instanceof Refusal) return html(lookup.status === 503 ? 503 : 404, await renderPage('not-found', lang, { mailbox }), lang, GUIDE);
  const base = context.publicBaseUrl ?? `${exchange.secure ? 'https' : 'http'}://${exchange.host ?? ''}`;
  // The mailbox as found: with the log-in name where the provider's directory gave one.
  const body = await renderGuide(lookup.provider, lookup.mailbox ?? mailbox, {
    language: lang,
    // With a looked-up name, each Thunderbird is told it in words where its own answer does so.
    ...(lookup.mailbox?.login !== undefined
      ? { loginInWords: { thunderbird: loginNameInWords(forThunderbird(lookup)), android: loginNameInWords(withoutLookup(lookup.provider)) } }
      : {}),
    profileUrl: `${base}/mobileconfig?${new URLSearchParams({ emailaddress: mailbox.address }).toString()}`,
  });
  return html(200, body, lang, { format: 'guide', domain: lookup.domain });
}
