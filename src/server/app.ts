/**
 * The Fastify application: routes of every client family over one shared
 * context, one log line per request (format, domain, status, duration;
 * never the address or the Authorization header), and errors that are a
 * clear 4xx line for bad input, never a stack trace.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import proxyAddr from 'proxy-addr';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { normalizeDomain } from '../mailbox.js';
import { bearerMatches } from './bearer.js';
import { applyConnectionPolicy, serverOptions, type ConnectionLimits } from './connections.js';
import type { ServerContext } from './context.js';
import { INTERNAL_ERROR_LINE, PLAIN_TEXT } from './exchange.js';
import { answerFrameworkError } from './framework-errors.js';
import { createFront, type Front } from './front.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { logRequest, wantsHsts } from './observe.js';
import { RateLimiter } from './rate-limit.js';
import { appleAnswer, appleRoutes } from './routes/apple.js';
import { opsRoutes } from './routes/ops.js';
import { outlookRoutes } from './routes/outlook.js';
import { thunderbirdRoutes } from './routes/thunderbird.js';
import { webRoutes } from './routes/web.js';

function noSchemas(): never {
  throw new Error('routes here declare no JSON schemas (schemaController in app.ts)');
}

export interface AppOptions {
  readonly logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: string; readonly key: string };
  /**
   * The plain-HTTP companion of an HTTPS service: autoconfig, Autodiscover
   * and health are served directly (Thunderbird and Outlook fall back to
   * HTTP), everything else is redirected to HTTPS on this port.
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

/** Paths served over plain HTTP too (clients' HTTP fallbacks, health probes). */
const DIRECT_OVER_HTTP = /^\/(?:mail\/config-v1\.1\.xml|\.well-known\/autoconfig\/mail\/config-v1\.1\.xml|v1\.1\/[^/]+|autodiscover\/autodiscover\.(?:xml|json)(?:\/.*)?|healthz|readyz|caddy\/ask|metrics)$/i;

export async function buildApp(context: ServerContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const trust = options.trustedProxies?.length ? proxyAddr.compile([...options.trustedProxies]) : undefined;
  // Fastify's own reading of X-Forwarded-Host (the last entry, from a trusted proxy only).
  const hostname = (raw: IncomingMessage): string => {
    const forwarded = [raw.headers['x-forwarded-host']].flat().at(-1);
    const host = forwarded && trust?.(raw.socket.remoteAddress ?? '', 0) ? forwarded.slice(forwarded.lastIndexOf(',') + 1).trim() : (raw.headers.host ?? '');
    return host.replace(/:\d*$/, '');
  };
  let front: Front | undefined;
  const app = Fastify({
    logger: options.logger ?? false,
    // Only for the URLs Fastify logs; the server itself comes from serverFactory.
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key } } : {}),
    ...(options.trustedProxies?.length ? { trustProxy: [...options.trustedProxies] } : {}),
    // The clients' own requests are answered by the front before Fastify (front.ts).
    serverFactory: (fastifyListener) => {
      const listener: RequestListener = (request, response) => {
        if (!front?.(request, response)) fastifyListener(request, response);
      };
      const connectionOptions = serverOptions(options.connectionLimits);
      const server = options.https ? createHttpsServer({ cert: options.https.cert, key: options.https.key, ...connectionOptions }, listener) : createServer(connectionOptions, listener);
      applyConnectionPolicy(server, options.connectionLimits, (address) => trust?.(address, 0) ?? false);
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
    frameworkErrors: answerFrameworkError,
    // At shutdown, requests that still arrive on open connections are served
    // rather than answered 503; idle keep-alive connections are closed.
    return503OnClosing: false,
    // No route declares a JSON schema. Fastify otherwise loads and sets up ajv and
    // fast-json-stringify when the instance is made, about 60-80 ms of start-up
    // (measured, 5 starts each way); a schema added later fails at start with this line.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('served', null);

  const apple = appleAnswer(context);
  // Per client address (the forwarded one behind trusted proxies), taken by
  // the front for every request; the proxies' own requests (health checks,
  // Caddy's ask) are never limited.
  const rateLimiter = options.rateLimitPerMinute ? new RateLimiter(options.rateLimitPerMinute) : undefined;
  front = createFront(context, apple, {
    log: app.log,
    metrics: context.metrics,
    rateLimiter,
    client: (raw) => {
      const address = trust ? proxyAddr(raw, trust) : (raw.socket.remoteAddress ?? '');
      return { address, isProxy: trust?.(address, 0) ?? false };
    },
    hostname,
    https: options.https !== undefined,
    plainCompanion: options.redirectToHttpsPort !== undefined,
  });

  if (options.redirectToHttpsPort !== undefined) {
    const port = options.redirectToHttpsPort;
    app.addHook('onRequest', async (request, reply) => {
      if (DIRECT_OVER_HTTP.test(request.url.split('?')[0]!)) return;
      const host = request.hostname;
      if (normalizeDomain(host) === null && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
        return reply.code(400).type(PLAIN_TEXT).send('the Host header is not a host name; use https\n');
      }
      // 308 keeps the method and body; path and query are kept as sent.
      return reply.code(308).header('Location', `https://${host}${port === 443 ? '' : `:${port}`}${request.url}`).send();
    });
  }
  if (options.https) {
    app.addHook('onSend', async (request, reply) => {
      if (wantsHsts(hostname(request.raw))) reply.header('Strict-Transport-Security', 'max-age=31536000');
    });
  }
  if (options.metricsToken !== undefined && context.metrics) {
    const metrics = context.metrics;
    const token = options.metricsToken;
    app.get('/metrics', async (request, reply) => {
      request.served = { format: 'ops' };
      if (!bearerMatches(request.headers.authorization, token)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').type(PLAIN_TEXT).send('a bearer token is required for /metrics\n');
      }
      return reply.type(METRICS_CONTENT_TYPE).header('Cache-Control', 'no-store').send(await metrics.registry.metrics());
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    logRequest(request.log, context.metrics, request.method, request.url, request.served, reply.statusCode, reply.elapsedTime);
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).type(PLAIN_TEXT).send(INTERNAL_ERROR_LINE);
    }
    return reply.code(status).type(PLAIN_TEXT).send(`${oneLine(error.message ?? 'bad request')}\n`);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type(PLAIN_TEXT).send(`nothing here: ${request.method} ${safePath(request.url)}\n`),
  );

  await app.register(thunderbirdRoutes(context));
  await app.register(outlookRoutes(context));
  await app.register(appleRoutes(apple));
  await app.register(opsRoutes(context, options.metricsToken));
  await app.register(webRoutes(context));
  return app;
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

/** The path only, without query, limited to harmless characters. */
function safePath(url: string): string {
  return url.split('?')[0]!.slice(0, 100).replace(/[^A-Za-z0-9/._~%-]/g, '?');
}
