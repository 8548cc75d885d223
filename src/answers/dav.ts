/**
 * RFC 6764 §5: /.well-known/caldav and /.well-known/carddav on the mail
 * domain's host "MUST redirect ... to the actual 'context path'"
 * (https://www.rfc-editor.org/rfc/rfc6764#section-5). The provider's DAV
 * URL is absolute (dav-keys.ts), so the Location is that URL as it is,
 * scheme and host included; clients follow a redirect to another host
 * (HTTP allows it; RFC 6764 does not discuss it).
 *
 * 307 keeps the method and body, so a client's PROPFIND arrives at the
 * target as a PROPFIND (a 301 or 303 may turn it into a GET); it is
 * temporary, and Cache-Control: no-cache, because a provider edit may move
 * the service (RFC 6764 §5: "no-cache" when the target may change).
 */
import type { DavProtocol } from '../catalog/model.js';
import type { ServerContext } from './context.js';
import { Refusal, refusalAnswer, type Answer, type Exchange } from './exchange.js';
import { domainFromHost, lookupDomain, settle } from './lookup.js';

const SERVICE: Record<DavProtocol, string> = { caldav: 'CalDAV (calendar)', carddav: 'CardDAV (contacts)' };

export function davRedirect(context: ServerContext, exchange: Exchange, protocol: DavProtocol): Answer | Promise<Answer> {
  const domain = domainFromHost(exchange.host);
  return settle(domain instanceof Refusal ? domain : lookupDomain(context, domain, undefined), (lookup) => {
    if (lookup instanceof Refusal) return refusalAnswer(lookup, { format: 'dav' });
    const server = lookup.provider[protocol];
    if (server === undefined) return refusalAnswer(new Refusal(404, `no ${SERVICE[protocol]} service is configured for ${lookup.domain}`), { format: 'dav', domain: lookup.domain });
    return { status: 307, headers: { location: server.url, 'cache-control': 'no-cache' }, body: '', served: { format: 'dav', domain: lookup.domain } };
  });
}
