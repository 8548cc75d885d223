/**
 * What every route reads from a request, with a one-line reason for a
 * person when it is unusable: the mailbox from a query parameter, or the
 * mail domain from the Host header, and the provider serving it.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Catalog } from '../catalog/catalog.js';
import type { Provider } from '../catalog/model.js';
import { normalizeDomain, parseAddress, type Mailbox } from '../mailbox.js';
import { message } from '../messages.js';

/** A refusal with the HTTP status and the one-line reason to send. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

export interface Lookup {
  readonly provider: Provider;
  readonly domain: string;
  readonly mailbox?: Mailbox;
}

/**
 * The value of the first present query parameter among `names` (matched
 * case-insensitively: clients send emailaddress, Email, email...).
 * Undefined when absent; a Refusal when given twice.
 */
export function queryParameter(request: FastifyRequest, names: readonly string[]): string | undefined | Refusal {
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    if (!names.includes(key.toLowerCase())) continue;
    const value = query[key];
    if (Array.isArray(value)) return new Refusal(400, `the parameter ${key} is given more than once`);
    if (typeof value === 'string') return value;
  }
  return undefined;
}

export function mailboxFrom(raw: string): Mailbox | Refusal {
  const parsed = parseAddress(raw);
  return parsed.ok ? parsed.value : new Refusal(400, message('en', 'address.invalid', { reason: parsed.reason }));
}

/** Find the provider for a mailbox. */
export function lookupMailbox(catalog: Catalog, mailbox: Mailbox): Lookup | Refusal {
  const provider = catalog.byDomain(mailbox.domain);
  if (!provider) return new Refusal(404, `no mail provider is configured here for ${mailbox.domain}`);
  return { provider, domain: mailbox.domain, mailbox };
}

/** Host names that stand for the mail domain after their first label. */
const SERVICE_PREFIXES = ['autoconfig.', 'autodiscover.'];

/**
 * The mail domain a client means by the Host it connects to: autoconfig.<d>,
 * autodiscover.<d> or <d> itself (Thunderbird for Android and KMail send no
 * address, so the Host header is all there is).
 */
export function domainFromHost(hostHeader: string | undefined): string | Refusal {
  if (!hostHeader) return new Refusal(400, 'the request has no Host header and no e-mail address');
  if (hostHeader.startsWith('[')) return new Refusal(400, 'the Host header is an IP address; add ?emailaddress= to the URL');
  const host = hostHeader.replace(/:\d*$/, '');
  const domain = normalizeDomain(host);
  if (domain === null) return new Refusal(400, 'the Host header is not a domain name; add ?emailaddress= to the URL');
  for (const prefix of SERVICE_PREFIXES) {
    if (domain.startsWith(prefix)) {
      const rest = domain.slice(prefix.length);
      if (normalizeDomain(rest) !== null) return rest;
    }
  }
  return domain;
}

export function lookupDomain(catalog: Catalog, domain: string): Lookup | Refusal {
  const provider = catalog.byDomain(domain);
  if (!provider) return new Refusal(404, `no mail provider is configured here for ${domain}`);
  return { provider, domain };
}

/**
 * The provider for a request that may carry an address in one of
 * `parameterNames`; without one, the domain comes from the Host header.
 */
export function lookupRequest(catalog: Catalog, request: FastifyRequest, parameterNames: readonly string[]): Lookup | Refusal {
  const raw = queryParameter(request, parameterNames);
  if (raw instanceof Refusal) return raw;
  if (raw !== undefined) {
    const mailbox = mailboxFrom(raw);
    return mailbox instanceof Refusal ? mailbox : lookupMailbox(catalog, mailbox);
  }
  const domain = domainFromHost(request.headers.host);
  return domain instanceof Refusal ? domain : lookupDomain(catalog, domain);
}

/** Send a refusal as one line of plain text. */
export function refuse(reply: FastifyReply, refusal: Refusal): FastifyReply {
  return reply.code(refusal.status).type('text/plain; charset=utf-8').header('Cache-Control', 'no-store').send(`${refusal.reason}\n`);
}

const sharedEtags = new WeakMap<Buffer, string>();
/**
 * A strong validator for a response body. A `shared` body (one prepared
 * document served to many requests) is hashed once; a body made for one
 * request is hashed without remembering it.
 */
export function etagOf(body: Buffer, shared = false): string {
  let etag = shared ? sharedEtags.get(body) : undefined;
  if (etag === undefined) {
    etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`;
    if (shared) sharedEtags.set(body, etag);
  }
  return etag;
}

/** Answer 304 when the client already has this body (If-None-Match), else send it. */
export function sendCacheable(request: FastifyRequest, reply: FastifyReply, body: Buffer, etag: string): FastifyReply {
  reply.header('ETag', etag);
  const match = request.headers['if-none-match'];
  if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
  return reply.send(body);
}
