/**
 * PACC: GET https://ua-auto-config.<domain>/.well-known/user-agent-configuration.json.
 * The request carries no address; the Host names the domain, as for
 * autoconfig.<domain>. A provider the draft's subset cannot describe gets
 * 404 with the reason (capabilities.ts, paccChoice), so a client goes on
 * to its other discovery steps instead of configuring half an account.
 */
import { PACC_CONTENT_TYPE, renderPacc } from '../formats/pacc.js';
import type { ServerContext } from './context.js';
import { cacheableAnswer, Refusal, refusalAnswer, type Answer, type Exchange } from './exchange.js';
import { domainFromHost, lookupDomain, settle } from './lookup.js';

const HEADERS = {
  'content-type': PACC_CONTENT_TYPE,
  // As config-v1.1: edits reach clients within minutes. The TXT record must
  // name the new digest before the new body is served (README: a provider
  // edit is a DNS change), and the old one for as long as this max-age.
  'cache-control': 'public, max-age=300',
  // Public data, the same for every address of the domain.
  'access-control-allow-origin': '*',
};

export function paccAnswer(context: ServerContext, exchange: Exchange): Answer | Promise<Answer> {
  const domain = domainFromHost(exchange.host);
  return settle(domain instanceof Refusal ? domain : lookupDomain(context, domain, undefined), (lookup) => {
    if (lookup instanceof Refusal) return refusalAnswer(lookup, { format: 'pacc' });
    const document = renderPacc(lookup.provider, lookup.domain);
    if (!document.ok) return refusalAnswer(new Refusal(404, document.reason), { format: 'pacc', domain: lookup.domain });
    // Never compressed here: the digest covers the identity-encoded bytes.
    return cacheableAnswer(exchange, HEADERS, document.body, document.etag, { format: 'pacc', domain: lookup.domain });
  });
}
