/**
 * What every answer reads from a request, with a one-line reason for a
 * person when it is unusable: the mailbox from a query parameter, or the
 * mail domain from the host the client asked for, and the provider serving it.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Provider } from '../catalog/model.js';
import { normalizeDomain, parseAddress, type Mailbox } from '../mailbox.js';
import { message } from '../messages.js';
import { queryParameter, Refusal, type Exchange } from './exchange.js';

export interface Lookup {
  readonly provider: Provider;
  readonly domain: string;
  readonly mailbox?: Mailbox;
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
export function lookupRequest(catalog: Catalog, exchange: Exchange, parameterNames: readonly string[]): Lookup | Refusal {
  const raw = queryParameter(exchange.query, parameterNames);
  if (raw instanceof Refusal) return raw;
  if (raw !== undefined) {
    const mailbox = mailboxFrom(raw);
    return mailbox instanceof Refusal ? mailbox : lookupMailbox(catalog, mailbox);
  }
  const domain = domainFromHost(exchange.host);
  return domain instanceof Refusal ? domain : lookupDomain(catalog, domain);
}
