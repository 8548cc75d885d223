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
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { DavServer, Provider, Server, SocketType } from '../catalog/model.js';
import { PACC_HOST_LABEL, paccTxtValue, renderPacc } from '../formats/pacc.js';
import { fillDomain } from '../mailbox.js';

export interface DnsRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: 'CNAME' | 'A' | 'AAAA' | 'SRV' | 'TXT';
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
  const hostRecord = (name: string): DnsRecord =>
    isIPv4(target) ? { name, ttl, type: 'A', data: target } : isIPv6(target) ? { name, ttl, type: 'AAAA', data: target } : { name, ttl, type: 'CNAME', data: `${target}.` };
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
  const width = Math.max(...records.map((r) => r.name.length));
  return `; ${comment}\n${notes.map((note) => `; ${note}\n`).join('')}${records.map((r) => `${r.name.padEnd(width)} ${r.ttl} IN ${r.type.padEnd(5)} ${r.data}`).join('\n')}\n`;
}
