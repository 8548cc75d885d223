/**
 * DNS records a domain owner publishes so that clients find this service
 * and the mail servers:
 * - autoconfig.<domain> and autodiscover.<domain>: CNAME to the service's
 *   public host (or A/AAAA when it is given as an address);
 * - _autodiscover._tcp.<domain> SRV (Outlook's and Thunderbird's SRV step);
 * - RFC 6186 / RFC 8314 SRV records for IMAP, POP3 and submission, with the
 *   target "." (RFC 2782: service decidedly not available) where the
 *   provider offers no such service.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Provider, Server, SocketType } from '../catalog/model.js';
import { fillDomain } from '../mailbox.js';

export interface DnsRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: 'CNAME' | 'A' | 'AAAA' | 'SRV';
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

/** `target` is the service's public host name, or an IPv4/IPv6 address. */
export function dnsRecords(provider: Provider, domain: string, target: string, ttl = 3600): DnsRecord[] {
  const records: DnsRecord[] = [];
  const hostRecord = (name: string): DnsRecord =>
    isIPv4(target) ? { name, ttl, type: 'A', data: target } : isIPv6(target) ? { name, ttl, type: 'AAAA', data: target } : { name, ttl, type: 'CNAME', data: `${target}.` };
  records.push(hostRecord(`autoconfig.${domain}.`), hostRecord(`autodiscover.${domain}.`));
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
  return records;
}

export function formatZone(records: readonly DnsRecord[], comment: string): string {
  const width = Math.max(...records.map((r) => r.name.length));
  return `; ${comment}\n${records.map((r) => `${r.name.padEnd(width)} ${r.ttl} IN ${r.type.padEnd(5)} ${r.data}`).join('\n')}\n`;
}
