/**
 * One request as the client-format answers read it, and one answer as a
 * listener sends it. The answers (Thunderbird, Outlook, Apple) are written
 * once against these two types; Fastify's routes and the raw node:http
 * front (front.ts) only translate, so the hot path and the full
 * application cannot give different answers to the same request.
 */
import { parse as parseQueryString } from 'fast-querystring';
import type { Served } from './context.js';

export interface Exchange {
  readonly method: string;
  /** The query string, parsed once; a key given twice has an array. */
  readonly query: Query;
  /** The Host header as sent (with port). */
  readonly host: string | undefined;
  readonly ifNoneMatch: string | undefined;
  /** The request body as text (Autodiscover POST only). */
  readonly body?: string | undefined;
}

export type Query = Readonly<Record<string, string | string[] | undefined>>;

export interface Answer {
  readonly status: number;
  /** Header names in lower case; Content-Length is added by the listener. */
  readonly headers: Readonly<Record<string, string>>;
  /** The ETag header, apart so that shared header objects need no copy per request. */
  readonly etag?: string;
  readonly body: Buffer | string;
  /** For the request's log line and metrics (never the address); null: no format served. */
  readonly served: Served | null;
}

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

/** The one line a request gets when answering it failed; the error itself goes to the log. */
export const INTERNAL_ERROR_LINE = 'internal error; the problem has been logged\n';

/** A refusal as one line of plain text. */
export function refusalAnswer(refusal: Refusal, served: Served): Answer {
  return {
    status: refusal.status,
    headers: { 'content-type': PLAIN_TEXT, 'cache-control': 'no-store' },
    body: `${refusal.reason}\n`,
    // Not `{ ...served, reason }`: see front.ts on spreads and hidden classes.
    served: { format: served.format, domain: served.domain, reason: refusal.reason },
  };
}

/** 304 when the client already has this body (If-None-Match), else the body with its ETag. */
export function cacheableAnswer(exchange: Exchange, headers: Readonly<Record<string, string>>, body: Buffer, etag: string, served: Served): Answer {
  const match = exchange.ifNoneMatch;
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    // RFC 9110 15.4.5: the validators and caching headers, no content headers.
    const { 'content-type': _type, ...kept } = headers;
    return { status: 304, headers: kept, etag, body: '', served };
  }
  return { status: 200, headers, etag, body, served };
}
