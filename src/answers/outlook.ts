/**
 * Outlook Autodiscover: POX on /autodiscover/autodiscover.xml (POST, and GET
 * for clients that probe with it) and the v2 JSON redirect document. Paths
 * are matched case-insensitively by the route table (clients send
 * /Autodiscover/Autodiscover.xml and /AutoDiscover/AutoDiscover.xml).
 *
 * Errors go out as Autodiscover error documents with a 4xx status: Outlook
 * treats any non-200 as "try the next URL", and never gets a 401 (that makes
 * it prompt for a password).
 */
import {
  OUTLOOK_CONTENT_TYPE,
  parseOutlookRequest,
  type OutlookReader,
  renderOutlook,
  renderOutlookError,
  type AutodiscoverErrorKind,
} from '../formats/outlook.js';
import { capabilities, loginNameInWords } from '../clients/capabilities.js';
import type { ServerContext } from './context.js';
import { hostWithoutPort, JSON_TYPE, queryParameter, Refusal, type Answer, type Exchange } from './exchange.js';
import { preferredLanguage } from './language.js';
import { domainFromHost, findProvider, lookupMailbox, lookupRequest, mailboxFrom, settle, type Lookup } from './lookup.js';
import { forThunderbird } from './login-names.js';

const ERROR_STATUS: Record<AutodiscoverErrorKind, number> = {
  invalidRequest: 400,
  notFound: 404,
  // The request is fine, but asks for a response schema we do not serve
  // (ActiveSync's mobilesync): 200 with Error 601, as Stalwart answers. New
  // Outlook probes with it, and a 4xx there made its set-up fail (research: outlook.md).
  providerUnavailable: 200,
  noSettings: 404,
};

/** An Autodiscover error document; the reason goes in a header for people debugging with curl. */
export function outlookError(kind: AutodiscoverErrorKind, reason: string, status = ERROR_STATUS[kind]): Answer {
  return {
    status,
    headers: { 'content-type': OUTLOOK_CONTENT_TYPE, 'cache-control': 'no-store', 'x-autodiscover-reason': reason },
    body: renderOutlookError(kind),
    served: { format: 'outlook', reason },
  };
}

/** Which variant of the settings the client reads (see OutlookReader): Thunderbird names itself in its User-Agent. */
function readerOf(exchange: Exchange): OutlookReader {
  return exchange.headers['user-agent']?.includes('Thunderbird/') ? 'thunderbird' : 'outlook';
}

const SETTINGS_HEADERS = { 'content-type': OUTLOOK_CONTENT_TYPE, 'cache-control': 'private, no-store', vary: 'User-Agent' };
/** Thunderbird's variant tells in words what log-in name to type, in its language. */
const WORDED_HEADERS = { ...SETTINGS_HEADERS, vary: 'User-Agent, Accept-Language' };

function settings(exchange: Exchange, lookup: Lookup | Refusal): Answer {
  if (lookup instanceof Refusal) {
    // DNS could not tell (an MX-matched domain): 503, so the client tries again later.
    if (lookup.status === 503) return outlookError('notFound', lookup.reason, 503);
    return outlookError(lookup.status === 404 ? 'notFound' : 'invalidRequest', lookup.reason);
  }
  const reader = readerOf(exchange);
  // Thunderbird's Autodiscover reader goes through the same JXON as its autoconfig reader.
  const provider = reader === 'thunderbird' ? forThunderbird(lookup) : lookup.provider;
  const usable = reader === 'thunderbird' ? capabilities(provider).thunderbirdAutodiscover : capabilities(provider).outlook;
  // A client that can use no server of one direction gets the error document,
  // so it offers manual set-up, never an account that cannot receive or send.
  if (usable.missing !== undefined) return outlookError('noSettings', `the provider has no ${usable.missing} server ${reader === 'thunderbird' ? 'Thunderbird' : 'Outlook'} can use through Autodiscover (its sign-in method or TLS port)`);
  const worded = loginNameInWords(provider);
  const language = worded && reader === 'thunderbird' ? preferredLanguage(exchange, { fromQuery: false }) : 'en';
  return {
    status: 200,
    headers: worded ? WORDED_HEADERS : SETTINGS_HEADERS,
    body: renderOutlook(provider, lookup.domain, lookup.mailbox, reader, language),
    served: { format: 'outlook', domain: lookup.domain },
  };
}

/** POST /autodiscover/autodiscover.xml: the POX request in the body. */
export function outlookPost(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  const parsed = parseOutlookRequest(exchange.body ?? '');
  if (!parsed.ok) return outlookError(parsed.error, parsed.reason);
  const mailbox = mailboxFrom(parsed.address);
  if (mailbox instanceof Refusal) return outlookError('notFound', mailbox.reason);
  return settle(lookupMailbox(context, mailbox, exchange.host), (lookup) => settings(exchange, lookup));
}

/**
 * GET /autodiscover/autodiscover.xml: with ?emailaddress= (or Email=) the
 * settings for that mailbox; without, those of the Host's domain with no LoginName.
 */
export function outlookGet(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  return settle(lookupRequest(context, exchange, ['emailaddress', 'email']), (lookup) => settings(exchange, lookup));
}

/**
 * Autodiscover v2 (/autodiscover/autodiscover.json?Email=&Protocol=, or
 * /autodiscover/autodiscover.json/v1.0/<address>, the address as the
 * exchange's tail): tells "new" clients where the POX endpoint is. Without
 * one in the path, the address comes from ?Email=.
 */
export function outlookJson(context: ServerContext, exchange: Exchange, address: string | undefined = exchange.tail): Answer | Promise<Answer> {
  const json = (status: number, cacheControl: string, value: object, domain?: string): Answer => ({
    status,
    headers: { 'content-type': JSON_TYPE, 'cache-control': cacheControl },
    body: JSON.stringify(value),
    served: { format: 'outlook-json', ...(domain !== undefined ? { domain } : {}), ...(status >= 400 ? { reason: (value as { ErrorMessage: string }).ErrorMessage } : {}) },
  });
  const error = (status: number, code: string, message: string) => json(status, 'no-store', { ErrorCode: code, ErrorMessage: message });
  if (address === undefined) {
    const given = queryParameter(exchange.query, ['email']);
    if (given instanceof Refusal) return error(400, 'InvalidUser', given.reason);
    address = given;
  }
  const protocol = queryParameter(exchange.query, ['protocol']);
  if (protocol instanceof Refusal) return error(400, 'InvalidProtocol', protocol.reason);
  if (protocol === undefined || protocol.toLowerCase() !== 'autodiscoverv1') {
    return error(400, 'InvalidProtocol', 'only Protocol=AutodiscoverV1 is served here');
  }
  if (address === undefined || address === '') return error(400, 'InvalidUser', 'the Email parameter is missing');
  const mailbox = mailboxFrom(address);
  if (mailbox instanceof Refusal) return error(400, 'InvalidUser', mailbox.reason);
  // Only where the settings are: no log-in name is looked up for this one.
  return settle(findProvider(context, mailbox.domain, exchange.host, mailbox), (lookup) => {
    if (lookup instanceof Refusal) return error(lookup.status === 503 ? 503 : 404, 'InvalidUser', lookup.reason);
    const base = publicBase(context, exchange);
    if (base instanceof Refusal) return error(400, 'InvalidRequest', base.reason);
    return json(200, 'private, max-age=300', { Protocol: 'AutodiscoverV1', Url: `${base}/autodiscover/autodiscover.xml` }, lookup.domain);
  });
}

/** The https base URL clients should use: configured, or this request's host. */
function publicBase(context: ServerContext, exchange: Exchange): string | Refusal {
  if (context.publicBaseUrl) return context.publicBaseUrl;
  const host = exchange.host === undefined ? undefined : hostWithoutPort(exchange.host);
  const domain = domainFromHost(host);
  if (domain instanceof Refusal || !host) return new Refusal(400, 'the Host header is not a domain name');
  return `https://${host.toLowerCase()}`;
}
