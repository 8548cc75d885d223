/**
 * What every answer reads from a request, with a one-line reason for a
 * person when it is unusable: the mailbox from a query parameter, or the
 * mail domain from the host the client asked for, and the provider serving it.
 */
import type { Provider } from '../catalog/model.js';
import { normalizeDomain, parseAddress, type Mailbox } from '../mailbox.js';
import { message } from '../messages.js';
import { matchMx } from '../sources/mx.js';
import type { ServerContext } from './context.js';
import { withLoginName } from './login-names.js';
import { hostWithoutPort, queryParameter, Refusal, type Exchange } from './exchange.js';

export interface Lookup {
  readonly provider: Provider;
  readonly domain: string;
  readonly mailbox?: Mailbox;
}

export function mailboxFrom(raw: string): Mailbox | Refusal {
  const parsed = parseAddress(raw);
  return parsed.ok ? parsed.value : new Refusal(400, message('en', 'address.invalid', { reason: parsed.reason }));
}

/** A lookup's result, at once when the catalog knows the domain, later when DNS must be asked. */
export type Found = Lookup | Refusal | Promise<Lookup | Refusal>;

/** `then` for a value that may or may not be a promise: the common case stays synchronous. */
export function settle<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<Awaited<R>> {
  return value instanceof Promise ? value.then(next) as Promise<Awaited<R>> : next(value);
}

/**
 * The provider serving `domain`, in the order a hoster needs (issue: hosters
 * at scale): a listed domain (the YAML, its domain file) in one probe, then
 * the domains from a database, then the host the client asked on when it
 * is a provider's service host (autoconfig.hoster.example answers for any
 * address, as the autoconfig draft says such a server SHOULD, so it tells
 * nobody which domains exist; without an address only when the provider's
 * document is the same for every domain), then the domain's MX host against the
 * providers' MX patterns (a cached DNS lookup; 503 when DNS cannot tell).
 */
export function findProvider(context: ServerContext, domain: string, host: string | undefined, mailbox?: Mailbox): Found {
  const catalog = context.catalog();
  const listed = catalog.byDomain(domain) ?? context.domainSources?.byDomain(domain, catalog);
  if (listed !== undefined) return found(listed, domain, mailbox);
  const service = host === undefined ? undefined : catalog.byServiceHost(hostWithoutPort(host).toLowerCase());
  if (service !== undefined && (mailbox !== undefined || sameForEveryDomain(service))) return found(service, domain, mailbox);
  const notServed = new Refusal(404, `no mail provider is configured here for ${domain}`, undefined, domain);
  if (context.mx === undefined || catalog.mxIndex.size === 0) return notServed;
  return context.mx.resolve(domain).then((answer) => {
    const match = matchMx(answer, catalog.mxIndex);
    if (match.kind === 'matched') return found(match.owner, domain, mailbox);
    if (match.kind === 'noMatch' || match.kind === 'nxdomain') return notServed;
    return new Refusal(503, `the mail servers of ${domain} cannot be looked up now (${match.reason}); try again later`, match.kind === 'busy' ? match.retryAfterSeconds : 30, domain);
  });
}

/**
 * Whether a provider's document is the same for every customer domain: its
 * server names do not contain %EMAILDOMAIN% (a hoster's own TLS hosts,
 * sslmailpool.hoster.example). Thunderbird for Android's MX step asks
 * autoconfig.<MX base domain> without an address, so on a service host
 * nothing says which customer domain is meant; such a document is right
 * for every one of them, and Android fills the user-name templates itself.
 */
export function sameForEveryDomain(provider: Provider): boolean {
  return ![...provider.incoming, ...provider.outgoing].some((s) => s.host.includes('%EMAILDOMAIN%'));
}

function found(provider: Provider, domain: string, mailbox: Mailbox | undefined): Lookup {
  return mailbox === undefined ? { provider, domain } : { provider, domain, mailbox };
}

/** Find the provider for a mailbox, and the mailbox's log-in name where the provider looks them up. */
export function lookupMailbox(context: ServerContext, mailbox: Mailbox, host: string | undefined): Found {
  return settle(findProvider(context, mailbox.domain, host, mailbox), (found) => withLoginName(context, found));
}

/** Host names that stand for the mail domain after their first label (ua-auto-config: PACC). */
const SERVICE_PREFIXES = ['autoconfig.', 'autodiscover.', 'ua-auto-config.'];

/**
 * The mail domain a client means by the Host it connects to: autoconfig.<d>,
 * autodiscover.<d>, ua-auto-config.<d> or <d> itself (Thunderbird for Android and KMail send no
 * address, so the Host header is all there is).
 */
export function domainFromHost(hostHeader: string | undefined): string | Refusal {
  if (!hostHeader) return new Refusal(400, 'the request has no Host header and no e-mail address');
  if (hostHeader.startsWith('[')) return new Refusal(400, 'the Host header is an IP address; add ?emailaddress= to the URL');
  const host = hostWithoutPort(hostHeader);
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

export function lookupDomain(context: ServerContext, domain: string, host: string | undefined): Found {
  return findProvider(context, domain, host);
}

/**
 * The provider for a request that may carry an address in one of
 * `parameterNames`; without one, the domain comes from the Host header.
 */
export function lookupRequest(context: ServerContext, exchange: Exchange, parameterNames: readonly string[]): Found {
  const raw = queryParameter(exchange.query, parameterNames);
  if (raw instanceof Refusal) return raw;
  if (raw !== undefined) {
    const mailbox = mailboxFrom(raw);
    return mailbox instanceof Refusal ? mailbox : lookupMailbox(context, mailbox, exchange.host);
  }
  const domain = domainFromHost(exchange.host);
  // By Host alone the host names the domain; on a service host findProvider decides whether it answers without an address.
  return domain instanceof Refusal ? domain : lookupDomain(context, domain, exchange.host);
}
