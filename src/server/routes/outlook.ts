/**
 * Outlook Autodiscover routes: POX on /autodiscover/autodiscover.xml (POST,
 * and GET for clients that probe with it) and the v2 JSON redirect document.
 * Paths are matched case-insensitively by the router (clients send
 * /Autodiscover/Autodiscover.xml and /AutoDiscover/AutoDiscover.xml).
 *
 * Errors go out as Autodiscover error documents with a 4xx status: Outlook
 * treats any non-200 as "try the next URL", and never gets a 401 (that makes
 * it prompt for a password).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  MAX_REQUEST_BYTES,
  OUTLOOK_CONTENT_TYPE,
  outlookServers,
  parseOutlookRequest,
  renderOutlook,
  renderOutlookError,
  type AutodiscoverErrorKind,
} from '../../formats/outlook.js';
import type { ServerContext } from '../context.js';
import { queryParameter, Refusal, type Answer, type Exchange } from '../exchange.js';
import { domainFromHost, lookupMailbox, lookupRequest, mailboxFrom, type Lookup } from '../request.js';
import { exchangeOf, sendAnswer } from './adapt.js';

const ERROR_STATUS: Record<AutodiscoverErrorKind, number> = {
  invalidRequest: 400,
  notFound: 404,
  // The request is fine, but asks for a response schema we do not serve.
  providerUnavailable: 406,
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

function settings(lookup: Lookup | Refusal): Answer {
  if (lookup instanceof Refusal) return outlookError(lookup.status === 404 ? 'notFound' : 'invalidRequest', lookup.reason);
  if (outlookServers(lookup.provider).length === 0) {
    return outlookError('noSettings', 'the provider has no server Outlook can use with a password (OAuth2 only)');
  }
  return {
    status: 200,
    headers: { 'content-type': OUTLOOK_CONTENT_TYPE, 'cache-control': 'private, no-store' },
    body: renderOutlook(lookup.provider, lookup.domain, lookup.mailbox),
    served: { format: 'outlook', domain: lookup.domain },
  };
}

/** POST /autodiscover/autodiscover.xml: the POX request in the body. */
export function outlookPost(context: ServerContext, exchange: Exchange): Answer {
  const parsed = parseOutlookRequest(exchange.body ?? '');
  if (!parsed.ok) return outlookError(parsed.error, parsed.reason);
  const mailbox = mailboxFrom(parsed.address);
  if (mailbox instanceof Refusal) return outlookError('notFound', mailbox.reason);
  return settings(lookupMailbox(context.catalog(), mailbox));
}

/**
 * GET /autodiscover/autodiscover.xml: with ?emailaddress= (or Email=) the
 * settings for that mailbox; without, those of the Host's domain with no LoginName.
 */
export function outlookGet(context: ServerContext, exchange: Exchange): Answer {
  return settings(lookupRequest(context.catalog(), exchange, ['emailaddress', 'email']));
}

/**
 * Autodiscover v2 (/autodiscover/autodiscover.json?Email=&Protocol=, or
 * /autodiscover/autodiscover.json/v1.0/<address>): tells "new" clients where
 * the POX endpoint is. `address` undefined: take it from ?Email=.
 */
export function outlookJson(context: ServerContext, exchange: Exchange, address?: string): Answer {
  const json = (status: number, cacheControl: string, value: object, domain?: string): Answer => ({
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': cacheControl },
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
  const lookup = lookupMailbox(context.catalog(), mailbox);
  if (lookup instanceof Refusal) return error(404, 'InvalidUser', lookup.reason);
  const base = publicBase(context, exchange);
  if (base instanceof Refusal) return error(400, 'InvalidRequest', base.reason);
  return json(200, 'private, max-age=300', { Protocol: 'AutodiscoverV1', Url: `${base}/autodiscover/autodiscover.xml` }, lookup.domain);
}

/** The https base URL clients should use: configured, or this request's host. */
function publicBase(context: ServerContext, exchange: Exchange): string | Refusal {
  if (context.publicBaseUrl) return context.publicBaseUrl;
  const host = exchange.host?.replace(/:\d*$/, '');
  const domain = domainFromHost(host);
  if (domain instanceof Refusal || !host) return new Refusal(400, 'the Host header is not a domain name');
  return `https://${host.toLowerCase()}`;
}

export function outlookRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    // Clients send text/xml, application/xml, or odd and missing types:
    // read every body of this plugin as a string, capped.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_REQUEST_BYTES }, (_request, body, done) => done(null, body));

    // Body too large, broken chunking and the like: still an Autodiscover answer.
    app.setErrorHandler((error: { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const reason = status === 413 ? `the request body is larger than ${MAX_REQUEST_BYTES} bytes` : 'the request could not be read';
      return sendAnswer(request, reply, outlookError('invalidRequest', reason, status));
    });

    const send = (answer: (exchange: Exchange) => Answer) => async (request: FastifyRequest, reply: FastifyReply) => sendAnswer(request, reply, answer(exchangeOf(request)));
    app.post('/autodiscover/autodiscover.xml', send((exchange) => outlookPost(context, exchange)));
    app.get('/autodiscover/autodiscover.xml', send((exchange) => outlookGet(context, exchange)));
    app.get('/autodiscover/autodiscover.json', send((exchange) => outlookJson(context, exchange)));
    app.get<{ Params: { address: string } }>('/autodiscover/autodiscover.json/v1.0/:address', async (request, reply) =>
      sendAnswer(request, reply, outlookJson(context, exchangeOf(request), request.params.address)),
    );
  };
}
