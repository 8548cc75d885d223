/**
 * The Fastify application: routes of every client family over one shared
 * context, one log line per request (format, domain, status, duration;
 * never the address or the Authorization header), and errors that are a
 * clear 4xx line for bad input, never a stack trace.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerContext } from './context.js';
import { appleRoutes } from './routes/apple.js';
import { opsRoutes } from './routes/ops.js';
import { outlookRoutes } from './routes/outlook.js';
import { thunderbirdRoutes } from './routes/thunderbird.js';
import { webRoutes } from './routes/web.js';

export interface AppOptions {
  readonly logger?: FastifyServerOptions['logger'];
}

export async function buildApp(context: ServerContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // Fastify's own request log lines carry the URL with its query (addresses).
    logController: new LogController({ disableRequestLogging: true }),
    // Autodiscover clients vary the path's case (/Autodiscover/Autodiscover.xml).
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: false, maxParamLength: 300 },
    // Whole requests are small; keep the default limits tight.
    bodyLimit: 64 * 1024,
    clientErrorHandler: rejectUnparsable,
    requestTimeout: 10_000,
    connectionTimeout: 10_000,
    keepAliveTimeout: 5_000,
  });
  app.decorateRequest('served', null);

  app.addHook('onResponse', async (request, reply) => {
    const served = request.served;
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0]!.slice(0, 200),
        format: served?.format ?? null,
        domain: served?.domain ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).type('text/plain; charset=utf-8').send('internal error; the problem has been logged\n');
    }
    return reply.code(status).type('text/plain; charset=utf-8').send(`${oneLine(error.message ?? 'bad request')}\n`);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('text/plain; charset=utf-8').send(`nothing here: ${request.method} ${safePath(request.url)}\n`),
  );

  await app.register(thunderbirdRoutes(context));
  await app.register(outlookRoutes(context));
  await app.register(appleRoutes(context));
  await app.register(opsRoutes(context));
  await app.register(webRoutes(context));
  return app;
}

/**
 * Requests Node's HTTP parser refuses (malformed request lines, raw non-ASCII
 * bytes in the URL, oversized headers) get one plain-text line, not JSON.
 */
function rejectUnparsable(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (!socket.writable) return;
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'the request took too long']
        : ['400 Bad Request', 'the request is not valid HTTP (non-ASCII characters in a URL must be percent-encoded)'];
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 300);
}

/** The path only, without query, limited to harmless characters. */
function safePath(url: string): string {
  return url.split('?')[0]!.slice(0, 100).replace(/[^A-Za-z0-9/._~%-]/g, '?');
}
