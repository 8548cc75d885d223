/**
 * Thunderbird autoconfig: the provider's own URLs
 * (autoconfig.<domain>/mail/config-v1.1.xml, <domain>/.well-known/...) and the
 * ISPDB layout (/v1.1/<domain>) that mailnews.auto_config_url can point at.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { THUNDERBIRD_CONTENT_TYPE, thunderbirdResponse } from '../../formats/thunderbird.js';
import { normalizeDomain } from '../../mailbox.js';
import type { ServerContext } from '../context.js';
import { cacheableAnswer, Refusal, refusalAnswer, type Answer, type Exchange } from '../exchange.js';
import { lookupDomain, lookupRequest, type Lookup } from '../request.js';
import { exchangeOf, sendAnswer } from './adapt.js';

const HEADERS = {
  'content-type': THUNDERBIRD_CONTENT_TYPE,
  // Config changes should reach clients within minutes.
  'cache-control': 'public, max-age=300',
  // The data is public (draft-ietf-mailmaint-autoconfig: configs MUST be public); web mail clients may read it.
  'access-control-allow-origin': '*',
};
// With an address the document carries the user's login: for that mailbox only (SECURITY.md).
const MAILBOX_HEADERS = { ...HEADERS, 'cache-control': 'private, max-age=300' };
const ADDRESS_PARAMETERS = ['emailaddress'];

function answer(exchange: Exchange, lookup: Lookup | Refusal): Answer {
  if (lookup instanceof Refusal) return refusalAnswer(lookup, { format: 'thunderbird' });
  const { body, etag } = thunderbirdResponse(lookup.provider, lookup.domain, lookup.mailbox);
  return cacheableAnswer(exchange, lookup.mailbox ? MAILBOX_HEADERS : HEADERS, body, etag, { format: 'thunderbird', domain: lookup.domain });
}

/** /mail/config-v1.1.xml and the .well-known path: the mailbox from ?emailaddress, else the domain from Host. */
export function thunderbirdByRequest(context: ServerContext, exchange: Exchange): Answer {
  return answer(exchange, lookupRequest(context.catalog(), exchange, ADDRESS_PARAMETERS));
}

/** /v1.1/<domain>, with the path's last segment already decoded. */
export function thunderbirdByDomain(context: ServerContext, exchange: Exchange, rawDomain: string): Answer {
  const domain = normalizeDomain(rawDomain);
  if (domain === null) return refusalAnswer(new Refusal(400, 'the path does not end in a domain name (/v1.1/<domain>)'), { format: 'thunderbird' });
  return answer(exchange, lookupDomain(context.catalog(), domain));
}

export function thunderbirdRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const byRequest = async (request: FastifyRequest, reply: FastifyReply) =>
      sendAnswer(request, reply, thunderbirdByRequest(context, exchangeOf(request)));
    app.get('/mail/config-v1.1.xml', byRequest);
    app.get('/.well-known/autoconfig/mail/config-v1.1.xml', byRequest);
    app.get<{ Params: { domain: string } }>('/v1.1/:domain', async (request, reply) =>
      sendAnswer(request, reply, thunderbirdByDomain(context, exchangeOf(request), request.params.domain)),
    );
  };
}
