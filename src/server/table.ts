/**
 * The route table: every endpoint the service answers, one row each, with
 * its paths, methods, whether it is served over the plain-HTTP companion of
 * an HTTPS listener, and the answer. Both transports are generated from it:
 * the node:http front (front.ts) answers the plain shapes of these requests
 * itself, Fastify (app.ts) registers the same rows for everything unusual
 * (escaped paths, chunked bodies); adding an endpoint is one row here plus
 * its answer in src/answers/.
 */
import { appleAnswer } from '../answers/apple.js';
import type { ServerContext } from '../answers/context.js';
import type { Answer, Respond } from '../answers/exchange.js';
import { davRedirect } from '../answers/dav.js';
import { paccAnswer } from '../answers/pacc.js';
import { caddyAsk, healthz, metricsAnswer, readyz } from '../answers/ops.js';
import { outlookError, outlookGet, outlookJson, outlookPost } from '../answers/outlook.js';
import { indexPage, setupPage } from '../answers/setup.js';
import { thunderbirdByDomain, thunderbirdByRequest } from '../answers/thunderbird.js';
import { MAX_REQUEST_BYTES } from '../formats/outlook.js';
import { PACC_PATH } from '../formats/pacc.js';

export interface Endpoint {
  /** Paths in lower case (clients vary the case: /Autodiscover/Autodiscover.xml). */
  readonly paths: readonly string[];
  /**
   * A row whose paths are prefixes: the rest of the path, decoded, is the
   * exchange's tail. The front takes only tails matching `plainTail` (no
   * escapes to decode); Fastify takes any one-segment tail.
   */
  readonly plainTail?: RegExp;
  readonly get?: Respond;
  /**
   * Methods besides GET and HEAD that `get` answers, their body unread:
   * WebDAV clients start discovery with PROPFIND or OPTIONS (RFC 6764 §5
   * redirects them all alike).
   */
  readonly alsoGet?: readonly WebDavMethod[];
  readonly post?: Respond;
  /** Served over the plain-HTTP companion too (the clients' HTTP fallbacks, probes); else redirected to HTTPS. */
  readonly overPlainHttp: boolean;
  /** POST only: the largest body read, and the answer to a body that is too large or unreadable. */
  readonly body?: { readonly limit: number; refuse(status: number, reason: string): Answer };
}

/** The methods a DAV client discovers with, besides GET and HEAD. */
export type WebDavMethod = 'PROPFIND' | 'OPTIONS';
const DAV_METHODS: readonly WebDavMethod[] = ['PROPFIND', 'OPTIONS'];

/** The answer of a request method: GET and HEAD (and a row's alsoGet) by `get`, POST by `post`. */
export function responderFor(endpoint: Endpoint, method: string): Respond | undefined {
  if (method === 'GET' || method === 'HEAD') return endpoint.get;
  if (method === 'POST') return endpoint.post;
  return endpoint.alsoGet?.includes(method as WebDavMethod) ? endpoint.get : undefined;
}

export interface TableOptions {
  /** Serve /metrics to requests with Authorization: Bearer <token>. */
  readonly metricsToken?: string | undefined;
}

/** The endpoints of one application (one listener); answers with state of their own (signed profiles) are made here. */
export function routeTable(context: ServerContext, options: TableOptions = {}): readonly Endpoint[] {
  const thunderbird: Respond = (x) => thunderbirdByRequest(context, x);
  const apple = appleAnswer(context);
  const table: Endpoint[] = [
    { paths: ['/mail/config-v1.1.xml', '/.well-known/autoconfig/mail/config-v1.1.xml'], get: thunderbird, overPlainHttp: true },
    { paths: ['/v1.1/'], plainTail: /^[a-z0-9.-]{1,253}$/i, get: (x) => thunderbirdByDomain(context, x), overPlainHttp: true },
    {
      paths: ['/autodiscover/autodiscover.xml'],
      get: (x) => outlookGet(context, x),
      post: (x) => outlookPost(context, x),
      overPlainHttp: true,
      // Body too large, broken chunking and the like: still an Autodiscover answer.
      body: {
        limit: MAX_REQUEST_BYTES,
        refuse: (status, reason) => outlookError('invalidRequest', status === 413 ? `the request body is larger than ${MAX_REQUEST_BYTES} bytes` : reason, status),
      },
    },
    { paths: ['/autodiscover/autodiscover.json'], get: (x) => outlookJson(context, x), overPlainHttp: true },
    { paths: ['/autodiscover/autodiscover.json/v1.0/'], plainTail: /^[^/]{1,300}$/, get: (x) => outlookJson(context, x), overPlainHttp: true },
    { paths: ['/mobileconfig', '/email.mobileconfig'], get: apple, overPlainHttp: false },
    // PACC clients use https only (draft-ietf-mailmaint-pacc-03; formats/pacc.ts).
    { paths: [PACC_PATH], get: (x) => paccAnswer(context, x), overPlainHttp: false },
    { paths: ['/.well-known/caldav'], get: (x) => davRedirect(context, x, 'caldav'), alsoGet: DAV_METHODS, overPlainHttp: false },
    { paths: ['/.well-known/carddav'], get: (x) => davRedirect(context, x, 'carddav'), alsoGet: DAV_METHODS, overPlainHttp: false },
    { paths: ['/'], get: indexPage, overPlainHttp: false },
    { paths: ['/setup'], get: (x) => setupPage(context, x), overPlainHttp: false },
    { paths: ['/healthz'], get: healthz, overPlainHttp: true },
    { paths: ['/readyz'], get: (x) => readyz(context, x, options.metricsToken), overPlainHttp: true },
    { paths: ['/caddy/ask'], get: (x) => caddyAsk(context, x), overPlainHttp: true },
  ];
  if (options.metricsToken !== undefined && context.metrics) {
    table.push({ paths: ['/metrics'], get: metricsAnswer(context, options.metricsToken), overPlainHttp: true });
  }
  return table;
}

/** A row found for a path, with the tail after a prefix row's path. */
export interface Match {
  readonly endpoint: Endpoint;
  readonly tail: string | undefined;
}

/**
 * The front's lookup: exact paths in one Map probe, then the few prefix
 * rows. `path` is as sent (its case kept for the tail), without the query.
 */
export function matcher(table: readonly Endpoint[]): (path: string) => Match | undefined {
  const exact = new Map<string, Match>();
  const prefixes: { prefix: string; endpoint: Endpoint; plainTail: RegExp }[] = [];
  for (const endpoint of table) {
    for (const path of endpoint.paths) {
      if (endpoint.plainTail) prefixes.push({ prefix: path, endpoint, plainTail: endpoint.plainTail });
      else exact.set(path, { endpoint, tail: undefined });
    }
  }
  return (path) => {
    const lower = path.toLowerCase();
    const found = exact.get(lower);
    if (found !== undefined) return found;
    for (const { prefix, endpoint, plainTail } of prefixes) {
      if (lower.startsWith(prefix)) {
        const tail = path.slice(prefix.length);
        if (plainTail.test(tail)) return { endpoint, tail };
      }
    }
    return undefined;
  };
}
