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
import { domainFromHost, lookupDomain, lookupMailbox, mailboxFrom, queryParameter, Refusal, type Lookup } from '../request.js';

const ERROR_STATUS: Record<AutodiscoverErrorKind, number> = {
  invalidRequest: 400,
  notFound: 404,
  // The request is fine, but asks for a response schema we do not serve.
  providerUnavailable: 406,
  noSettings: 404,
};

export function outlookRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    // Clients send text/xml, application/xml, or odd and missing types:
    // read every body of this plugin as a string, capped.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_REQUEST_BYTES }, (_request, body, done) => done(null, body));

    const fail = (request: FastifyRequest, reply: FastifyReply, kind: AutodiscoverErrorKind, reason: string, status = ERROR_STATUS[kind]) => {
      request.served = { format: 'outlook' };
      request.log.debug({ reason }, 'autodiscover error');
      return reply
        .code(status)
        .type(OUTLOOK_CONTENT_TYPE)
        .header('Cache-Control', 'no-store')
        .header('X-Autodiscover-Reason', reason)
        .send(renderOutlookError(kind));
    };

    // Body too large, broken chunking and the like: still an Autodiscover answer.
    app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const reason = status === 413 ? `the request body is larger than ${MAX_REQUEST_BYTES} bytes` : 'the request could not be read';
      return fail(request, reply, 'invalidRequest', reason, status);
    });

    const settings = (request: FastifyRequest, reply: FastifyReply, lookup: Lookup | Refusal) => {
      if (lookup instanceof Refusal) {
        return fail(request, reply, lookup.status === 404 ? 'notFound' : 'invalidRequest', lookup.reason);
      }
      if (outlookServers(lookup.provider).length === 0) {
        return fail(request, reply, 'noSettings', 'the provider has no server Outlook can use with a password (OAuth2 only)');
      }
      request.served = { format: 'outlook', domain: lookup.domain };
      return reply
        .type(OUTLOOK_CONTENT_TYPE)
        .header('Cache-Control', 'private, no-store')
        .send(renderOutlook(lookup.provider, lookup.domain, lookup.mailbox));
    };

    app.post('/autodiscover/autodiscover.xml', async (request, reply) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const parsed = parseOutlookRequest(body);
      if (!parsed.ok) return fail(request, reply, parsed.error, parsed.reason);
      const mailbox = mailboxFrom(parsed.address);
      if (mailbox instanceof Refusal) return fail(request, reply, 'notFound', mailbox.reason);
      return settings(request, reply, lookupMailbox(context.catalog(), mailbox));
    });

    // GET: with ?emailaddress= (or Email=) the settings for that mailbox;
    // without, the settings of the Host's domain with no LoginName.
    app.get('/autodiscover/autodiscover.xml', async (request, reply) => {
      const raw = queryParameter(request, ['emailaddress', 'email']);
      if (raw instanceof Refusal) return fail(request, reply, 'invalidRequest', raw.reason);
      if (raw !== undefined) {
        const mailbox = mailboxFrom(raw);
        if (mailbox instanceof Refusal) return fail(request, reply, 'invalidRequest', mailbox.reason);
        return settings(request, reply, lookupMailbox(context.catalog(), mailbox));
      }
      const domain = domainFromHost(request.headers.host);
      return settings(request, reply, domain instanceof Refusal ? domain : lookupDomain(context.catalog(), domain));
    });

    // Autodiscover v2: tells "new" clients where the POX endpoint is.
    const json = (request: FastifyRequest, reply: FastifyReply, address: string | undefined) => {
      request.served = { format: 'outlook-json' };
      const error = (status: number, code: string, message: string) =>
        reply.code(status).header('Cache-Control', 'no-store').send({ ErrorCode: code, ErrorMessage: message });
      const protocol = queryParameter(request, ['protocol']);
      if (protocol instanceof Refusal) return error(400, 'InvalidProtocol', protocol.reason);
      if (protocol === undefined || protocol.toLowerCase() !== 'autodiscoverv1') {
        return error(400, 'InvalidProtocol', 'only Protocol=AutodiscoverV1 is served here');
      }
      if (address === undefined || address === '') return error(400, 'InvalidUser', 'the Email parameter is missing');
      const mailbox = mailboxFrom(address);
      if (mailbox instanceof Refusal) return error(400, 'InvalidUser', mailbox.reason);
      const lookup = lookupMailbox(context.catalog(), mailbox);
      if (lookup instanceof Refusal) return error(404, 'InvalidUser', lookup.reason);
      request.served = { format: 'outlook-json', domain: lookup.domain };
      const base = publicBase(context, request);
      if (base instanceof Refusal) return error(400, 'InvalidRequest', base.reason);
      return reply.header('Cache-Control', 'private, max-age=300').send({ Protocol: 'AutodiscoverV1', Url: `${base}/autodiscover/autodiscover.xml` });
    };
    app.get('/autodiscover/autodiscover.json', async (request, reply) => {
      const address = queryParameter(request, ['email']);
      if (address instanceof Refusal) return reply.code(400).send({ ErrorCode: 'InvalidUser', ErrorMessage: address.reason });
      return json(request, reply, address);
    });
    app.get<{ Params: { address: string } }>('/autodiscover/autodiscover.json/v1.0/:address', async (request, reply) =>
      json(request, reply, request.params.address),
    );
  };
}

/** The https base URL clients should use: configured, or this request's host. */
function publicBase(context: ServerContext, request: FastifyRequest): string | Refusal {
  if (context.publicBaseUrl) return context.publicBaseUrl;
  const host = request.headers.host?.replace(/:\d*$/, '');
  const domain = domainFromHost(host);
  if (domain instanceof Refusal || !host) return new Refusal(400, 'the Host header is not a domain name');
  return `https://${host.toLowerCase()}`;
}
