/**
 * One request as the answers read it, and one answer as a transport sends
 * it. Every answer (Thunderbird, Outlook, Apple, the setup page, operations)
 * is written once against these two types; the route table
 * (server/table.ts) names which answer serves which path, and both
 * transports (the node:http front and Fastify) only build an Exchange and
 * send the Answer through the same pipeline (server/pipeline.ts), so the hot
 * path and the full application cannot give different answers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseQueryString } from 'fast-querystring';

export interface Exchange {
  readonly method: string;
  /** The query string, parsed once; a key given twice has an array. */
  readonly query: Query;
  /**
   * The host the client asked for, with its port as sent: the Host header,
   * or behind a trusted proxy its X-Forwarded-Host (pipeline.ts). Every
   * answer reads the host from here, never from the headers.
   */
  readonly host: string | undefined;
  /** Whether the client used HTTPS (behind a trusted proxy: its X-Forwarded-Proto). */
  readonly secure: boolean;
  /** The request's headers as received (names in lower case). */
  readonly headers: IncomingHttpHeaders;
  /** The rest of the path after a route's prefix (/v1.1/<domain>), decoded. */
  readonly tail: string | undefined;
  /** The request body as text (POST routes only). */
  readonly body: string | undefined;
}

export type Query = Readonly<Record<string, string | string[] | undefined>>;

/** A host as a client sends it (Exchange.host: `name:port`, `[v6]:port`), without the port. */
export function hostWithoutPort(host: string): string {
  return host.replace(/:\d*$/, '');
}

/** What a request served, for the one log line per request (never the address). */
export interface Served {
  format: 'thunderbird' | 'outlook' | 'outlook-json' | 'apple' | 'guide' | 'pacc' | 'dav' | 'ops';
  domain?: string;
  /** Why the request was refused (one line for a person; never the address). */
  reason?: string;
}

export interface Answer {
  readonly status: number;
  /** Header names in lower case; Content-Length is added by the pipeline. */
  readonly headers: Readonly<Record<string, string>>;
  /** The ETag header, apart so that shared header objects need no copy per request. */
  readonly etag?: string;
  readonly body: Buffer | string;
  /** For the request's log line and metrics (never the address); null: no format served. */
  readonly served: Served | null;
}

/** What answers a request; synchronous unless it has to wait (signing, the setup page's first load). */
export type Respond = (exchange: Exchange) => Answer | Promise<Answer>;

/** The query of a raw request URL (`/path?a=1`), parsed as Fastify parses it (fast-querystring). */
export function queryOf(url: string): Query {
  const at = url.indexOf('?');
  return at < 0 ? {} : (parseQueryString(url.slice(at + 1)) as Query);
}

/** A refusal with the HTTP status and the one-line reason to send. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
    /** Seconds after which asking again may succeed (503: a DNS lookup could not be made now). */
    readonly retryAfter?: number,
    /** The mail domain the refusal is about, for the log line (no provider for it, its DNS failed). */
    readonly domain?: string,
  ) {}
}

/**
 * The value of the first present query parameter among `names` (matched
 * case-insensitively: clients send emailaddress, Email, email...).
 * Undefined when absent; a Refusal when given twice.
 */
export function queryParameter(query: Query, names: readonly string[]): string | undefined | Refusal {
  for (const key in query) {
    if (!Object.hasOwn(query, key) || !names.includes(key.toLowerCase())) continue;
    const value = query[key];
    if (Array.isArray(value)) return new Refusal(400, `the parameter ${key} is given more than once`);
    if (typeof value === 'string') return value;
  }
  return undefined;
}

export const PLAIN_TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json; charset=utf-8';

const REFUSAL_HEADERS = { 'content-type': PLAIN_TEXT, 'cache-control': 'no-store' };

/** A refusal as one line of plain text. */
export function refusalAnswer(refusal: Refusal, served: Served): Answer {
  return {
    status: refusal.status,
    headers: refusal.retryAfter === undefined ? REFUSAL_HEADERS : { ...REFUSAL_HEADERS, 'retry-after': String(refusal.retryAfter) },
    body: `${refusal.reason}\n`,
    // Not `{ ...served, reason }`: see front.ts on spreads and hidden classes.
    served: { format: served.format, domain: served.domain ?? refusal.domain, reason: refusal.reason },
  };
}

/** One line of plain text with a status (operations, the pipeline's own answers). */
export function lineAnswer(status: number, line: string, served: Served | null, headers: Readonly<Record<string, string>> = PLAIN_TEXT_HEADERS): Answer {
  return { status, headers, body: `${line}\n`, served };
}
const PLAIN_TEXT_HEADERS = { 'content-type': PLAIN_TEXT };

/** A value as JSON (JSON.stringify is the builder), as Fastify would send an object. */
export function jsonAnswer(status: number, value: unknown, served: Served | null, cacheControl = 'no-store'): Answer {
  return { status, headers: { 'content-type': JSON_TYPE, 'cache-control': cacheControl }, body: JSON.stringify(value), served };
}

/** 304 when the client already has this body (If-None-Match), else the body with its ETag. */
export function cacheableAnswer(exchange: Exchange, headers: Readonly<Record<string, string>>, body: Buffer, etag: string, served: Served): Answer {
  const match = exchange.headers['if-none-match'];
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    // RFC 9110 15.4.5: the validators and caching headers, no content headers.
    const { 'content-type': _type, ...kept } = headers;
    return { status: 304, headers: kept, etag, body: '', served };
  }
  return { status: 200, headers, etag, body, served };
}
