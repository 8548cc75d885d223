/**
 * Thunderbird autoconfig: the provider's own URLs
 * (autoconfig.<domain>/mail/config-v1.1.xml, <domain>/.well-known/...) and the
 * ISPDB layout (/v1.1/<domain>) that mailnews.auto_config_url can point at.
 */
import { loginNameInWords } from '../clients/capabilities.js';
import { THUNDERBIRD_CONTENT_TYPE, thunderbirdResponse } from '../formats/thunderbird.js';
import { normalizeDomain } from '../mailbox.js';
import type { ServerContext } from './context.js';
import { cacheableAnswer, Refusal, refusalAnswer, type Answer, type Exchange } from './exchange.js';
import { preferredLanguage } from './language.js';
import { forThunderbird } from './login-names.js';
import { lookupDomain, lookupRequest, settle, type Lookup } from './lookup.js';

const HEADERS = {
  'content-type': THUNDERBIRD_CONTENT_TYPE,
  // Config changes should reach clients within minutes.
  'cache-control': 'public, max-age=300',
  // The data is public (draft-ietf-mailmaint-autoconfig: configs MUST be public); web mail clients may read it.
  'access-control-allow-origin': '*',
};
// With an address the document carries the user's login: for that mailbox only (SECURITY.md).
const MAILBOX_HEADERS = { ...HEADERS, 'cache-control': 'private, max-age=300' };
/** A hint in words where the log-in name goes: in the client's language (Thunderbird sends Accept-Language). */
const WORDED_HEADERS = { ...HEADERS, vary: 'Accept-Language' };
const MAILBOX_WORDED_HEADERS = { ...MAILBOX_HEADERS, vary: 'Accept-Language' };
const ADDRESS_PARAMETERS = ['emailaddress'];


function answer(exchange: Exchange, lookup: Lookup | Refusal): Answer {
  if (lookup instanceof Refusal) return refusalAnswer(lookup, { format: 'thunderbird' });
  const provider = forThunderbird(lookup);
  const worded = loginNameInWords(provider);
  const language = worded ? preferredLanguage(exchange, { fromQuery: false }) : 'en';
  const { body, etag } = thunderbirdResponse(provider, lookup.domain, lookup.mailbox, language);
  const headers = lookup.mailbox ? (worded ? MAILBOX_WORDED_HEADERS : MAILBOX_HEADERS) : worded ? WORDED_HEADERS : HEADERS;
  return cacheableAnswer(exchange, headers, body, etag, { format: 'thunderbird', domain: lookup.domain });
}

/** /mail/config-v1.1.xml and the .well-known path: the mailbox from ?emailaddress, else the domain from the host. */
export function thunderbirdByRequest(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  return settle(lookupRequest(context, exchange, ADDRESS_PARAMETERS), (lookup) => answer(exchange, lookup));
}

/** /v1.1/<domain>, with the path's last segment decoded (the exchange's tail). */
export function thunderbirdByDomain(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  const domain = normalizeDomain(exchange.tail ?? '');
  if (domain === null) return refusalAnswer(new Refusal(400, 'the path does not end in a domain name (/v1.1/<domain>)'), { format: 'thunderbird' });
  return settle(lookupDomain(context, domain, undefined), (lookup) => answer(exchange, lookup));
}
