/**
 * The front: a node:http request listener in front of Fastify that answers
 * the clients' own requests (Thunderbird autoconfig, Outlook Autodiscover,
 * Apple profiles) directly, and hands everything else to Fastify.
 *
 * Why: these requests come in bursts from every client of a hoster, and a
 * Fastify request costs several times what the answer itself costs (request
 * and reply objects, hooks, the router, the child logger). The front does
 * what the Fastify route would do with the same answer functions
 * (routes/*.ts), so both give the same bytes (test/front-agreement.ts);
 * it only takes the plain shapes (a path it knows exactly, no percent
 * signs in it, a POST with a Content-Length within the limit) and leaves
 * every unusual request to Fastify, which has the full handling.
 */
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { MAX_REQUEST_BYTES } from '../formats/outlook.js';
import type { Metrics } from './metrics.js';
import type { ServerContext } from './context.js';
import { INTERNAL_ERROR_LINE, PLAIN_TEXT, queryOf, type Answer, type Exchange } from './exchange.js';
import { logRequest, wantsHsts } from './observe.js';
import type { RateLimiter } from './rate-limit.js';
import type { AppleAnswer } from './routes/apple.js';
import { outlookGet, outlookJson, outlookPost } from './routes/outlook.js';
import { thunderbirdByDomain, thunderbirdByRequest } from './routes/thunderbird.js';

export interface FrontOptions {
  readonly log: FastifyBaseLogger;
  readonly metrics?: Metrics | undefined;
  readonly rateLimiter?: RateLimiter | undefined;
  /** The client's address (the forwarded one behind trusted proxies) and whether it is such a proxy itself. */
  readonly client: (request: IncomingMessage) => { address: string; isProxy: boolean };
  /** The host name the client asked for (X-Forwarded-Host behind trusted proxies). */
  readonly hostname: (request: IncomingMessage) => string;
  /** HTTPS listener: send Strict-Transport-Security where wanted. */
  readonly https: boolean;
  /** Plain-HTTP companion of an HTTPS listener: only the answers clients fetch over HTTP. */
  readonly plainCompanion: boolean;
}

type Respond = (exchange: Exchange) => Answer | Promise<Answer>;
interface Route {
  readonly get?: Respond;
  readonly post?: Respond;
  /** Served over the plain-HTTP companion too (clients' HTTP fallbacks). */
  readonly overPlainHttp: boolean;
}

const ignore = (): void => undefined;

/** A request the front does not answer; Fastify does. */
export type Front = (request: IncomingMessage, response: ServerResponse) => boolean;

export function createFront(context: ServerContext, apple: AppleAnswer, options: FrontOptions): Front {
  const thunderbird: Route = { get: (x) => thunderbirdByRequest(context, x), overPlainHttp: true };
  const routes = new Map<string, Route>([
    ['/mail/config-v1.1.xml', thunderbird],
    ['/.well-known/autoconfig/mail/config-v1.1.xml', thunderbird],
    ['/autodiscover/autodiscover.xml', { get: (x) => outlookGet(context, x), post: (x) => outlookPost(context, x), overPlainHttp: true }],
    ['/autodiscover/autodiscover.json', { get: (x) => outlookJson(context, x), overPlainHttp: true }],
    ['/mobileconfig', { get: apple, overPlainHttp: false }],
    ['/email.mobileconfig', { get: apple, overPlainHttp: false }],
  ]);
  const { log, metrics, rateLimiter } = options;

  const send = (request: IncomingMessage, response: ServerResponse, answer: Answer, started: number): void => {
    const body = answer.body;
    // Headers as a flat [name, value, ...] list: node:http walks a header
    // object with for...in, which is slow once it has seen objects of many
    // shapes (every route's, Fastify's); measured about 5 µs per request.
    const headers: OutgoingHttpHeader[] = [];
    for (const name in answer.headers) headers.push(name, answer.headers[name]!);
    if (answer.etag !== undefined) headers.push('etag', answer.etag);
    // RFC 9110 8.6: a 304 carries no Content-Length unless it is that of the 200.
    if (answer.status !== 304) headers.push('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
    if (options.https && wantsHsts(options.hostname(request))) headers.push('strict-transport-security', 'max-age=31536000');
    response.writeHead(answer.status, headers);
    // Node sends no body for HEAD by itself; Content-Length stays that of GET.
    response.end(body);
    logRequest(log, metrics, request.method ?? '', request.url ?? '', answer.served, answer.status, performance.now() - started);
  };
  const fail = (request: IncomingMessage, response: ServerResponse, error: unknown, started: number): void => {
    log.error({ err: error }, 'request failed');
    const answer: Answer = { status: 500, headers: { 'content-type': PLAIN_TEXT }, body: INTERNAL_ERROR_LINE, served: null };
    if (!response.headersSent) send(request, response, answer, started);
  };
  const respond = (request: IncomingMessage, response: ServerResponse, handler: Respond, exchange: Exchange, started: number): void => {
    try {
      const answer = handler(exchange);
      if (answer instanceof Promise) answer.then((a) => send(request, response, a, started), (error) => fail(request, response, error, started));
      else send(request, response, answer, started);
    } catch (error) {
      fail(request, response, error, started);
    }
  };

  return (request, response) => {
    const started = performance.now();
    if (rateLimiter) {
      const client = options.client(request);
      const wait = client.isProxy ? 0 : rateLimiter.take(client.address);
      if (wait > 0) {
        const reason = `too many requests from your address; try again in ${wait} s`;
        send(request, response, { status: 429, headers: { 'content-type': PLAIN_TEXT, 'retry-after': String(wait) }, body: `${reason}\n`, served: null }, started);
        return true;
      }
    }
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    // Paths with escapes, or anything else unusual, are Fastify's (its router decodes them).
    if (path.includes('%')) return false;
    const lower = path.toLowerCase();
    let route = routes.get(lower);
    if (route === undefined && lower.startsWith('/v1.1/') && /^[a-z0-9.-]{1,253}$/.test(lower.slice(6))) {
      const domain = path.slice(6);
      route = { get: (x) => thunderbirdByDomain(context, x, domain), overPlainHttp: true };
    }
    if (route === undefined || (options.plainCompanion && !route.overPlainHttp)) return false;
    const method = request.method ?? '';
    const handler = method === 'GET' || method === 'HEAD' ? route.get : method === 'POST' ? route.post : undefined;
    if (handler === undefined) return false;
    // One literal with every field, the body filled in once it has arrived.
    // Not `{ ...exchange, body }`: on Node 20's V8 a spread followed by a
    // new property makes a new hidden class for every object (about 1 µs
    // each, measured), and those maps live in the old generation: an
    // Autodiscover POST promoted 16 KB per scavenge instead of 1.7 KB, with
    // a 6-7 ms mark-compact every 1.5 s.
    const query = queryOf(url);
    const host = request.headers.host;
    const ifNoneMatch = request.headers['if-none-match'];
    if (method !== 'POST') {
      respond(request, response, handler, { method, query, host, ifNoneMatch, body: undefined }, started);
      return true;
    }
    // A POST body within the limit and of a declared length; chunked or
    // oversized bodies get Fastify's full handling (413 and the like).
    const declared = request.headers['content-length'];
    const length = declared === undefined ? NaN : Number(declared);
    if (request.headers['transfer-encoding'] !== undefined || !(length >= 0 && length <= MAX_REQUEST_BYTES)) return false;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Almost always one chunk: no copy then.
      const body = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      respond(request, response, handler, { method, query, host, ifNoneMatch, body }, started);
    });
    // A client that goes away mid-body gets no answer; nothing else to do.
    request.on('error', ignore);
    return true;
  };
}
