/**
 * The Fastify application: the route table's rows (for the requests the
 * front leaves to Fastify: escaped paths, chunked or oversized bodies,
 * other methods), the setup page's style sheet, and Fastify's own errors,
 * all completed by the same pipeline as the front (pipeline.ts). Errors are
 * a clear 4xx line for bad input, never a stack trace.
 */
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { createServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { ServerContext } from '../answers/context.js';
import { lineAnswer, PLAIN_TEXT, queryOf, type Answer } from '../answers/exchange.js';
import { TEMPLATES_DIR } from '../paths.js';
import { createFront, type Front } from './front.js';
import { applyConnectionPolicy, serverOptions, type ConnectionLimits } from './connections.js';
import { frameworkErrorAnswer } from './framework-errors.js';
import { internalError, notFound, Pipeline } from './pipeline.js';
import { RateLimiter } from './rate-limit.js';
import { responderFor, routeTable, type Endpoint } from './table.js';

function noSchemas(): never {
  throw new Error('routes here declare no JSON schemas (schemaController in app.ts)');
}

export interface AppOptions {
  readonly logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: string; readonly key: string };
  /**
   * The plain-HTTP companion of an HTTPS service: the rows served over
   * plain HTTP (autoconfig, Autodiscover, health) are answered directly
   * (Thunderbird and Outlook fall back to HTTP), everything else is
   * redirected to HTTPS on this port.
   */
  readonly redirectToHttpsPort?: number;
  /** Proxies whose X-Forwarded-Proto/Host/For are believed. */
  readonly trustedProxies?: readonly string[];
  /** Serve /metrics on this listener to requests with Authorization: Bearer <token>. */
  readonly metricsToken?: string;
  /** Requests per minute per client address; 0 or absent: no limit. */
  readonly rateLimitPerMinute?: number;
  /** Handshake timeout and open connections per client and in total (connections.ts). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route table's row a Fastify route was made from. */
    endpoint?: Endpoint;
  }
  interface FastifyRequest {
    /** Completed by the pipeline (not by Fastify's own reply). */
    delivered: boolean;
  }
}

export async function buildApp(context: ServerContext, options: AppOptions = {}): Promise<FastifyInstance> {
  let front: Front | undefined;
  let pipeline: Pipeline | undefined;
  const app = Fastify({
    logger: options.logger ?? false,
    // Only for the URLs Fastify logs; the server itself comes from serverFactory.
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key } } : {}),
    // The table's plain requests are answered by the front before Fastify (front.ts).
    serverFactory: (fastifyListener) => {
      const listener: RequestListener = (request, response) => {
        if (!front?.(request, response)) fastifyListener(request, response);
      };
      const connectionOptions = serverOptions(options.connectionLimits);
      const server = options.https ? createHttpsServer({ cert: options.https.cert, key: options.https.key, ...connectionOptions }, listener) : createServer(connectionOptions, listener);
      applyConnectionPolicy(server, options.connectionLimits, (address) => pipeline?.isTrustedProxy(address) ?? false);
      // Idle keep-alive connections close after 5 s; a whole request must
      // arrive within 10 s, its headers too (slow senders, slowloris). No
      // per-socket idle timer besides: re-arming it on every write costs
      // more than these small answers.
      server.keepAliveTimeout = 5_000;
      server.requestTimeout = 10_000;
      server.headersTimeout = 10_000;
      return server;
    },
    // Fastify's own request log lines carry the URL with its query (addresses).
    logController: new LogController({ disableRequestLogging: true }),
    // Autodiscover clients vary the path's case (/Autodiscover/Autodiscover.xml).
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: false, maxParamLength: 300 },
    // Whole requests are small; keep the default limits tight.
    bodyLimit: 64 * 1024,
    clientErrorHandler: rejectUnparsable,
    // Fastify's own refusals (bad percent-encoding, an over-long path segment): one plain line, as every other.
    frameworkErrors: (error, request, reply) => deliver(request, reply, frameworkErrorAnswer(error)),
    // At shutdown, requests that still arrive on open connections are served
    // rather than answered 503; idle keep-alive connections are closed.
    return503OnClosing: false,
    // No route declares a JSON schema. Fastify otherwise loads and sets up ajv and
    // fast-json-stringify when the instance is made, a measurable part of
    // start-up (docs/performance.md); a schema added later fails at start with this line.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('delivered', false);
  // WebDAV's discovery method (RFC 4918 §9.1); Fastify knows only HTTP's own.
  app.addHttpMethod('PROPFIND', { hasBody: true });

  pipeline = new Pipeline({
    log: app.log,
    metrics: context.metrics,
    // Per client address, taken once per request before any routing.
    rateLimiter: options.rateLimitPerMinute ? new RateLimiter(options.rateLimitPerMinute) : undefined,
    trustedProxies: options.trustedProxies,
    https: options.https !== undefined,
    redirectToHttpsPort: options.redirectToHttpsPort,
  });
  const table = routeTable(context, { metricsToken: options.metricsToken });
  front = createFront(table, pipeline);

  /** Complete a Fastify request through the pipeline, as the front would. */
  const deliver = (request: FastifyRequest, reply: FastifyReply, answer: Answer): void => {
    request.delivered = true;
    reply.hijack();
    pipeline!.deliver(request.raw, reply.raw, answer, pipeline!.admission(request.raw));
  };

  // Admission for what the front did not see (requests injected in tests);
  // on the plain-HTTP companion, whatever is not a plain-HTTP row goes to HTTPS.
  app.addHook('onRequest', (request, reply, done) => {
    const admission = pipeline.admission(request.raw);
    if (admission.refusal !== undefined) return deliver(request, reply, admission.refusal);
    if (pipeline.plainCompanion && !request.routeOptions.config?.endpoint?.overPlainHttp) return deliver(request, reply, pipeline.redirectToHttps(request.raw, admission));
    done();
  });
  // Fastify's own replies (the style sheet): the same HSTS and log line.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (pipeline.wantsHsts(pipeline.admission(request.raw))) reply.header('strict-transport-security', 'max-age=31536000');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.delivered) pipeline.log(request.raw, null, reply.statusCode, pipeline.admission(request.raw));
    done();
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    const endpoint = request.routeOptions.config?.endpoint;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return deliver(request, reply, internalError());
    }
    // A body the row could not take (too large, broken chunking): the row's own refusal.
    if (endpoint?.body) return deliver(request, reply, endpoint.body.refuse(status, 'the request could not be read'));
    return deliver(request, reply, lineAnswer(status, oneLine(error.message ?? 'bad request'), null));
  });
  app.setNotFoundHandler((request, reply) => deliver(request, reply, notFound(request.method, request.url)));

  for (const endpoint of table) await app.register(endpointRoutes(endpoint, pipeline));
  await app.register(fastifyStatic, { root: join(TEMPLATES_DIR, 'static'), prefix: '/static/', index: false, maxAge: '1h', serve: true });
  return app;
}

/** One row of the table as Fastify routes (in a scope of its own for a POST row's body parser). */
function endpointRoutes(endpoint: Endpoint, pipeline: Pipeline) {
  return async function plugin(scope: FastifyInstance): Promise<void> {
    if (endpoint.post || endpoint.alsoGet) {
      // Clients send text/xml, application/xml, or odd and missing types:
      // read every body of this row as a string, capped (a PROPFIND's is
      // read and not used, as the front leaves it unread).
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: endpoint.body?.limit ?? 64 * 1024 }, (_request, body, done) => done(null, body));
    }
    const methods = [...(endpoint.get ? ['GET', ...(endpoint.alsoGet ?? [])] : []), ...(endpoint.post ? ['POST'] : [])];
    for (const path of endpoint.paths) {
      scope.route({
        method: methods,
        url: endpoint.plainTail ? `${path}:tail` : path,
        config: { endpoint },
        handler: (request, reply) => {
          request.delivered = true;
          reply.hijack();
          const raw = request.raw;
          const admission = pipeline.admission(raw);
          const respond = responderFor(endpoint, request.method)!;
          const tail = endpoint.plainTail ? (request.params as { tail: string }).tail : undefined;
          const body = request.method === 'POST' && typeof request.body === 'string' ? request.body : undefined;
          pipeline.respond(raw, reply.raw, respond, pipeline.exchange(raw, admission, queryOf(request.url), tail, body), admission);
        },
      });
    }
  };
}

/**
 * Requests Node's HTTP parser refuses (malformed request lines, raw non-ASCII
 * bytes in the URL, oversized headers) get one plain-text line, not JSON.
 */
function rejectUnparsable(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  // With this listener Node leaves closing the socket to it.
  if (!socket.writable) return void socket.destroy();
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'the request took too long']
        : ['400 Bad Request', 'the request is not valid HTTP (non-ASCII characters in a URL must be percent-encoded)'];
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: ${PLAIN_TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 300);
}
