/**
 * Thunderbird autoconfig routes: the provider's own URLs
 * (autoconfig.<domain>/mail/config-v1.1.xml, <domain>/.well-known/...) and the
 * ISPDB layout (/v1.1/<domain>) that mailnews.auto_config_url can point at.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderThunderbird, THUNDERBIRD_CONTENT_TYPE } from '../../formats/thunderbird.js';
import type { ServerContext } from '../context.js';
import { etagOf, lookupDomain, lookupRequest, Refusal, refuse, sendCacheable, type Lookup } from '../request.js';
import { normalizeDomain } from '../../mailbox.js';

/** Config changes should reach clients within minutes. */
const CACHE_CONTROL = 'public, max-age=300';
const ADDRESS_PARAMETERS = ['emailaddress'];

export function thunderbirdRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const answer = (request: FastifyRequest, reply: FastifyReply, lookup: Lookup | Refusal): FastifyReply => {
      request.served = { format: 'thunderbird' };
      if (lookup instanceof Refusal) return refuse(reply, lookup);
      request.served = { format: 'thunderbird', domain: lookup.domain };
      const body = renderThunderbird(lookup.provider, lookup.domain, lookup.mailbox);
      reply
        .type(THUNDERBIRD_CONTENT_TYPE)
        .header('Cache-Control', CACHE_CONTROL)
        // The data is public (draft-ietf-mailmaint-autoconfig: configs MUST be public); web mail clients may read it.
        .header('Access-Control-Allow-Origin', '*');
      // Without a mailbox the body is the provider's prepared document, the same for every request.
      return sendCacheable(request, reply, body, etagOf(body, lookup.mailbox === undefined));
    };

    const byRequest = async (request: FastifyRequest, reply: FastifyReply) =>
      answer(request, reply, lookupRequest(context.catalog(), request, ADDRESS_PARAMETERS));

    app.get('/mail/config-v1.1.xml', byRequest);
    app.get('/.well-known/autoconfig/mail/config-v1.1.xml', byRequest);
    app.get<{ Params: { domain: string } }>('/v1.1/:domain', async (request, reply) => {
      const domain = normalizeDomain(request.params.domain);
      if (domain === null) {
        request.served = { format: 'thunderbird' };
        return refuse(reply, new Refusal(400, 'the path does not end in a domain name (/v1.1/<domain>)'));
      }
      return answer(request, reply, lookupDomain(context.catalog(), domain));
    });
  };
}
