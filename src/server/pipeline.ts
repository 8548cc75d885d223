/**
 * The policy every request goes through, whichever transport reads it: the
 * node:http front and Fastify both call this one pipeline, so they cannot
 * differ in what they admit or how they answer.
 *
 * - Admission: the rate limit (per client address, the forwarded one
 *   behind trusted proxies; the proxies' own requests are never limited),
 *   and the host and scheme the client used, read once: X-Forwarded-Host
 *   and X-Forwarded-Proto count only from a trusted proxy (as Fastify reads
 *   them: the last entry), else the Host header and the socket.
 * - Completion: headers as a flat list, HSTS where wanted, Content-Length,
 *   no body for HEAD, the one 500 line for an answer that failed, one log
 *   line and the metrics per request.
 */
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import proxyAddr from 'proxy-addr';
import type { RequestMetrics } from '../answers/context.js';
import { hostWithoutPort, lineAnswer, PLAIN_TEXT, type Answer, type Exchange, type Query, type Respond } from '../answers/exchange.js';
import { normalizeDomain } from '../mailbox.js';
import { logRequest, wantsHsts } from './observe.js';
import type { RateLimiter } from './rate-limit.js';

export interface PipelineOptions {
  readonly log: FastifyBaseLogger;
  readonly metrics?: RequestMetrics | undefined;
  readonly rateLimiter?: RateLimiter | undefined;
  /** Proxies whose X-Forwarded-For/Host/Proto are believed. */
  readonly trustedProxies?: readonly string[] | undefined;
  /** The listener serves HTTPS: Strict-Transport-Security where wanted. */
  readonly https: boolean;
  /** The plain-HTTP companion of an HTTPS listener on this port: what it does not serve is redirected there. */
  readonly redirectToHttpsPort?: number | undefined;
}

/** What admission decided about one request. */
export interface Admission {
  /** performance.now() when the request was admitted. */
  readonly started: number;
  /** The host the client asked for, with its port as sent (see Exchange.host). */
  readonly host: string | undefined;
  readonly secure: boolean;
  /** Set when the request is answered without routing (the rate limit). */
  readonly refusal: Answer | undefined;
}

/** The admission of a request that the front handed to Fastify (taken once per request). */
const ADMITTED = Symbol('admission');
type Admitted = IncomingMessage & { [ADMITTED]?: Admission };

/** The one line a request gets when answering it failed; the error itself goes to the log. */
export function internalError(): Answer {
  return lineAnswer(500, 'internal error; the problem has been logged', null);
}

const HSTS = 'max-age=31536000';

export class Pipeline {
  private readonly trust: ((address: string, hop: number) => boolean) | undefined;

  constructor(private readonly options: PipelineOptions) {
    this.trust = options.trustedProxies?.length ? proxyAddr.compile([...options.trustedProxies]) : undefined;
  }

  /** Whether `address` is one of the trusted proxies (their connections and requests are not limited). */
  isTrustedProxy(address: string): boolean {
    return this.trust?.(address, 0) ?? false;
  }

  get plainCompanion(): boolean {
    return this.options.redirectToHttpsPort !== undefined;
  }

  admit(request: IncomingMessage): Admission {
    const started = performance.now();
    const trusted = this.trust !== undefined && this.trust(request.socket?.remoteAddress ?? '', 0);
    const headers = request.headers;
    const forwardedHost = trusted ? headers['x-forwarded-host'] : undefined;
    const forwardedProto = trusted ? headers['x-forwarded-proto'] : undefined;
    const host = forwardedHost ? lastEntry(forwardedHost) : headers.host;
    const secure = forwardedProto ? lastEntry(forwardedProto) === 'https' : (request.socket as TLSSocket | undefined)?.encrypted === true;
    return { started, host, secure, refusal: this.rateLimit(request) };
  }

  /**
   * The exchange an answer reads, built in one place for both transports:
   * one literal with every field (the same hidden class for every request;
   * see front.ts), the host and scheme as admission read them.
   */
  exchange(request: IncomingMessage, admission: Admission, query: Query, tail: string | undefined, body: string | undefined): Exchange {
    return { method: request.method ?? '', query, host: admission.host, secure: admission.secure, headers: request.headers, tail, body };
  }

  /** The admission the front took for a request it handed over, or a new one (requests injected in tests). */
  admission(request: IncomingMessage): Admission {
    return (request as Admitted)[ADMITTED] ?? this.admit(request);
  }

  /** Keep the admission with a request the front leaves to Fastify (false: the front did not answer). */
  handOver(request: IncomingMessage, admission: Admission): false {
    (request as Admitted)[ADMITTED] = admission;
    return false;
  }

  private rateLimit(request: IncomingMessage): Answer | undefined {
    const limiter = this.options.rateLimiter;
    if (limiter === undefined) return undefined;
    const address = this.trust ? proxyAddr(request, this.trust) : (request.socket?.remoteAddress ?? '');
    if (this.trust?.(address, 0)) return undefined;
    const wait = limiter.take(address);
    if (wait <= 0) return undefined;
    const reason = `too many requests from your address; try again in ${wait} s`;
    return lineAnswer(429, reason, null, { 'content-type': PLAIN_TEXT, 'retry-after': String(wait) });
  }

  /** Answer `exchange` with `respond` and complete the request; a failure gets the 500 line. */
  respond(request: IncomingMessage, response: ServerResponse, respond: Respond, exchange: Exchange, admission: Admission): void {
    try {
      const answer = respond(exchange);
      if (answer instanceof Promise) answer.then((a) => this.deliver(request, response, a, admission), (error) => this.fail(request, response, error, admission));
      else this.deliver(request, response, answer, admission);
    } catch (error) {
      this.fail(request, response, error, admission);
    }
  }

  deliver(request: IncomingMessage, response: ServerResponse, answer: Answer, admission: Admission): void {
    const body = answer.body;
    // Headers as a flat [name, value, ...] list: node:http walks a header
    // object with for...in, which is slow once it has seen objects of many
    // shapes (every answer's, Fastify's).
    const headers: OutgoingHttpHeader[] = [];
    for (const name in answer.headers) headers.push(name, answer.headers[name]!);
    if (answer.etag !== undefined) headers.push('etag', answer.etag);
    // RFC 9110 8.6: a 304 carries no Content-Length unless it is that of the 200.
    if (answer.status !== 304) headers.push('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
    if (this.wantsHsts(admission)) headers.push('strict-transport-security', HSTS);
    response.writeHead(answer.status, headers);
    // HEAD: Content-Length that of GET, no body.
    response.end(request.method === 'HEAD' ? undefined : body);
    this.log(request, answer.served, answer.status, admission);
  }

  fail(request: IncomingMessage, response: ServerResponse, error: unknown, admission: Admission): void {
    this.options.log.error({ err: error }, 'request failed');
    if (!response.headersSent) this.deliver(request, response, internalError(), admission);
  }

  /** Strict-Transport-Security on an HTTPS listener, never on autoconfig.<d>/autodiscover.<d> (observe.ts). */
  wantsHsts(admission: Admission): boolean {
    return this.options.https && wantsHsts(hostWithoutPort(admission.host ?? ''));
  }

  log(request: IncomingMessage, served: Answer['served'], status: number, admission: Admission): void {
    logRequest(this.options.log, this.options.metrics, request.method ?? '', request.url ?? '', admission.host, served, status, performance.now() - admission.started);
  }

  /** On the plain-HTTP companion: the same URL over HTTPS (308 keeps the method and body). */
  redirectToHttps(request: IncomingMessage, admission: Admission): Answer {
    const host = hostWithoutPort(admission.host ?? '');
    if (normalizeDomain(host) === null && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
      return lineAnswer(400, 'the Host header is not a host name; use https', null);
    }
    const port = this.options.redirectToHttpsPort;
    return { status: 308, headers: { location: `https://${host}${port === 443 ? '' : `:${port}`}${originPath(request.url ?? '/')}` }, body: '', served: null };
  }
}

/** The answer for a path (or method) no row serves. */
export function notFound(method: string, url: string): Answer {
  return lineAnswer(404, `nothing here: ${method} ${safePath(url)}`, null);
}

/** The last entry of a header a proxy chain appends to ("a, b" or given twice). */
function lastEntry(value: string | string[]): string {
  const text = Array.isArray(value) ? value.at(-1)! : value;
  const comma = text.lastIndexOf(',');
  return (comma < 0 ? text : text.slice(comma + 1)).trim();
}


/**
 * The path and query of a request target: an absolute-form target
 * (`GET http://host/path`, RFC 9112 3.2.2) gives its path, so a redirect
 * never carries a second scheme and host.
 */
function originPath(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}

/** The path only, without query, limited to harmless characters. */
function safePath(url: string): string {
  return url.split('?')[0]!.slice(0, 100).replace(/[^A-Za-z0-9/._~%-]/g, '?');
}
