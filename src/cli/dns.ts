/**
 * DNS records a domain owner publishes so that clients find this service
 * and the mail servers:
 * - autoconfig.<domain> and autodiscover.<domain>: CNAME to the service's
 *   public host (or A/AAAA when it is given as an address);
 * - _autodiscover._tcp.<domain> SRV (Outlook's and Thunderbird's SRV step);
 * - RFC 6186 / RFC 8314 SRV records for IMAP, POP3 and submission, with the
 *   target "." (RFC 2782: service decidedly not available) where the
 *   provider offers no such service;
 * - PACC (draft-ietf-mailmaint-pacc-03, formats/pacc.ts): the
 *   ua-auto-config.<domain> host record and the _ua-auto-config.<domain>
 *   TXT record with the digest of the exact body this service sends for
 *   the domain, so a provider edit that changes the document means a new
 *   TXT record;
 * - RFC 6764 §3/§4 (RFC 6352 §11 for CardDAV): _caldavs._tcp and
 *   _carddavs._tcp SRV records with a TXT path= record of the context path.
 *
 * A hoster (issue 21: serviceHosts, mxPatterns, domain lists kept outside
 * the YAML) publishes two groups: its own names once (the service hosts,
 * and what Thunderbird's MX step asks for its MX hosts: mx-step.ts), and
 * the records above for each customer domain, printed as a template with
 * <customer-domain> rather than once per domain of a list of millions.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { DavServer, Provider, Server, SocketType } from '../catalog/model.js';
import { PACC_HOST_LABEL, paccTxtValue, renderPacc } from '../formats/pacc.js';
import { fillDomain } from '../mailbox.js';
import { mxStepOfPattern } from './mx-step.js';

export interface DnsRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: 'CNAME' | 'A' | 'AAAA' | 'SRV' | 'TXT' | 'MX';
  readonly data: string;
}

const SERVICES: readonly { label: string; protocol: Server['protocol']; socketType: SocketType }[] = [
  { label: '_imaps._tcp', protocol: 'imap', socketType: 'ssl' },
  { label: '_imap._tcp', protocol: 'imap', socketType: 'starttls' },
  { label: '_pop3s._tcp', protocol: 'pop3', socketType: 'ssl' },
  { label: '_pop3._tcp', protocol: 'pop3', socketType: 'starttls' },
  { label: '_submissions._tcp', protocol: 'smtp', socketType: 'ssl' },
  { label: '_submission._tcp', protocol: 'smtp', socketType: 'starttls' },
];

/** The records, and why a record a client looks for is not among them (for a comment). */
export interface DnsPlan {
  readonly records: DnsRecord[];
  readonly notes: string[];
}

/** `target` is the service's public host name, or an IPv4/IPv6 address. */
export function dnsRecords(provider: Provider, domain: string, target: string, ttl = 3600): DnsPlan {
  const records: DnsRecord[] = [];
  const hostRecord = (name: string): DnsRecord => pointAt(name, target, ttl);
  const notes: string[] = [];
  records.push(hostRecord(`autoconfig.${domain}.`), hostRecord(`autodiscover.${domain}.`));
  const pacc = renderPacc(provider, domain);
  if (pacc.ok) {
    records.push(hostRecord(`${PACC_HOST_LABEL}.${domain}.`), { name: `_${PACC_HOST_LABEL}.${domain}.`, ttl, type: 'TXT', data: `"${paccTxtValue(pacc.body)}"` });
  } else {
    notes.push(`no PACC records: ${pacc.reason}`);
  }
  if (!isIPv4(target) && !isIPv6(target)) {
    records.push({ name: `_autodiscover._tcp.${domain}.`, ttl, type: 'SRV', data: `0 0 443 ${target}.` });
  }
  const servers = [...provider.incoming, ...provider.outgoing];
  for (const service of SERVICES) {
    const matching = servers.filter((s) => s.protocol === service.protocol && s.socketType === service.socketType);
    if (matching.length === 0) {
      records.push({ name: `${service.label}.${domain}.`, ttl, type: 'SRV', data: '0 0 0 .' });
      continue;
    }
    // The provider's order becomes the SRV priority (lower is preferred).
    matching.forEach((s, i) => records.push({ name: `${service.label}.${domain}.`, ttl, type: 'SRV', data: `${i * 10} 1 ${s.port} ${fillDomain(s.host, domain)}.` }));
  }
  for (const [label, server] of [['_caldavs._tcp', provider.caldav], ['_carddavs._tcp', provider.carddav]] as const) records.push(...davRecords(`${label}.${domain}.`, server, ttl));
  return { records, notes };
}

/** A name pointing at a target: A or AAAA for an address, else a CNAME. */
function pointAt(name: string, target: string, ttl: number): DnsRecord {
  return isIPv4(target) ? { name, ttl, type: 'A', data: target } : isIPv6(target) ? { name, ttl, type: 'AAAA', data: target } : { name, ttl, type: 'CNAME', data: `${target}.` };
}

/** Stands for each customer domain in the per-domain template. */
export const CUSTOMER_DOMAIN = '<customer-domain>';
/** Stands for the service's own addresses where nothing names them. */
const SERVICE_ADDRESS = '<address of the service>';

export interface HosterPlan {
  readonly provider: string;
  /** Published once, in the hoster's own zones. */
  readonly once: DnsPlan;
  /** Published for each customer domain; `domain` is CUSTOMER_DOMAIN in the template. */
  readonly perDomain: DnsPlan & { readonly domain: string };
}

/** A pattern as an MX host: itself, or `<name>.` for the labels a wildcard stands for. */
export function mxHostOf(pattern: string): string {
  return pattern.startsWith('*.') ? `<name>${pattern.slice(1)}` : pattern;
}

/**
 * A hoster's records: its own names once, and the per-domain records for
 * `domain`, or as a template with CUSTOMER_DOMAIN. `target` (from
 * --public-url, --target or --address) is where the service hosts point;
 * without one, or when it is a service host itself, the first service host
 * gets the A/AAAA records (their address is left for the reader to fill)
 * and the other names point at it. Customer names point at the first
 * service host, so the hoster moves the service with one record.
 */
export function hosterRecords(provider: Provider, target: string | undefined, domain: string | undefined, ttl = 3600): HosterPlan {
  const hosts = provider.serviceHosts;
  const anchor = target === undefined || hosts.includes(target) ? (target ?? hosts[0]) : undefined;
  const serviceRecord = (host: string): DnsRecord => {
    const to = anchor ?? target;
    return to === undefined || to === host ? { name: `${host}.`, ttl, type: 'A', data: SERVICE_ADDRESS } : pointAt(`${host}.`, to, ttl);
  };
  const once: DnsRecord[] = hosts.map(serviceRecord);
  const onceNotes: string[] = [];
  if (hosts.length === 0) onceNotes.push('no serviceHosts: the customer records below point at the service itself, and Thunderbird\'s MX step finds nothing of this provider');
  else onceNotes.push(`each service host answers for any address and needs a TLS certificate (Thunderbird's MX step asks over https only)${anchor !== undefined ? `; ${anchor} takes the service's A and AAAA records` : ''}`);

  for (const pattern of provider.mxPatterns) {
    const step = mxStepOfPattern(pattern);
    const written = `MX ${mxHostOf(pattern)} (mxPatterns "${pattern}")`;
    if (!('asked' in step)) {
      onceNotes.push(`${written}: ${'perHost' in step ? step.perHost : step.skipped}`);
      continue;
    }
    const served = step.asked.find((name) => hosts.includes(name));
    const where = `Thunderbird's MX step, for a customer whose MX is ${mxHostOf(pattern)} (mxPatterns "${pattern}"), asks https://${step.asked.join('/… then https://')}/…`;
    if (served !== undefined) {
      onceNotes.push(`${where}: ${served} is a service host`);
      continue;
    }
    // The base domain: the one name every MX host under the pattern shares.
    const wanted = step.asked.at(-1)!;
    onceNotes.push(`${where}: neither is a service host; add ${wanted} to serviceHosts (its record is below) and give it a certificate`);
    if (!once.some((r) => r.name === `${wanted}.`)) once.push(serviceRecord(wanted));
  }

  const customer = domain ?? CUSTOMER_DOMAIN;
  // Without a service host the caller must name the service (dns requires a target then).
  const plan = dnsRecords(provider, customer, hosts[0] ?? target!, ttl);
  const records = [...plan.records];
  const notes = [...plan.notes];
  if (domain === undefined) {
    // The digest covers the document; it holds for every domain only when the document never names one.
    const [a, b] = [renderPacc(provider, 'a.invalid'), renderPacc(provider, 'b.invalid')];
    if (a.ok && b.ok && !a.body.equals(b.body)) {
      const txt = records.findIndex((r) => r.type === 'TXT' && r.name === `_${PACC_HOST_LABEL}.${customer}.`);
      if (txt >= 0) records[txt] = { ...records[txt]!, data: '"v=UAAC1; a=sha256; d=<digest of the domain\'s document>"' };
      notes.push(`the PACC document names the domain, so its digest differs from domain to domain: mail-autoconfig dns --hoster ${provider.id} --domain <customer-domain> prints it`);
    }
  }
  if (provider.mxPatterns.length > 0) {
    records.push({ name: `${customer}.`, ttl, type: 'MX', data: `10 ${mxHostOf(provider.mxPatterns[0]!)}.` });
    const matching = provider.mxPatterns.length > 1 ? `any host matching ${provider.mxPatterns.join(', ')}` : provider.mxPatterns[0]!.startsWith('*.') ? '<name> stands for one or more labels' : 'that host';
    notes.push(`MX: ${matching}; the most preferred MX host is the one that counts, here and in Thunderbird's MX step (a listed domain, in domains, domainsFile or domainsQuery, is served whatever its MX)`);
  } else {
    notes.push('no mxPatterns: a customer domain is served when it is listed (domains, domainsFile or domainsQuery)');
  }
  return { provider: provider.id, once: { records: once, notes: onceNotes }, perDomain: { domain: customer, records, notes } };
}

/** RFC 6764 §3 SRV and §4 TXT "path=" (the context path, which clients MUST use when it is there). */
function davRecords(name: string, server: DavServer | undefined, ttl: number): DnsRecord[] {
  if (server === undefined) return [{ name, ttl, type: 'SRV', data: '0 0 0 .' }];
  const url = new URL(server.url);
  return [
    { name, ttl, type: 'SRV', data: `0 1 ${url.port === '' ? 443 : url.port} ${url.hostname}.` },
    { name, ttl, type: 'TXT', data: `"path=${url.pathname}"` },
  ];
}

export function formatZone(records: readonly DnsRecord[], comment: string, notes: readonly string[] = []): string {
  const width = Math.max(0, ...records.map((r) => r.name.length));
  return `; ${comment}\n${notes.map((note) => `; ${note}\n`).join('')}${records.map((r) => `${r.name.padEnd(width)} ${r.ttl} IN ${r.type.padEnd(5)} ${r.data}\n`).join('')}`;
}
