/**
 * PACC, "Automatic Configuration of Email, Calendar, and Contact Server
 * Settings": the JSON document clients fetch from
 * https://ua-auto-config.<domain>/.well-known/user-agent-configuration.json
 * and check against the SHA-256 digest in the TXT record
 * _ua-auto-config.<domain> ("v=UAAC1; a=sha256; d=<base64>").
 *
 * Wire format: draft-ietf-mailmaint-pacc-03 as implemented by automx 3.0
 * (croessner/automx src/automx/renderers/pacc.py, dns_contracts.py);
 * draft-ietf-mailmaint-pacc-04 exists, its text is not yet reviewed
 * (https://datatracker.ietf.org/doc/draft-ietf-mailmaint-pacc/). In -03 the
 * submission key is `submit` (it was `smtp` in -02 and in Stalwart).
 *
 * The digest pins the exact bytes, so they must be deterministic: the
 * document is one object built in a fixed member order and written by
 * JSON.stringify without indentation, with no date or request data in it;
 * only the mail domain (host names with %EMAILDOMAIN%) is filled in. Any
 * change of the provider's PACC-visible data changes the bytes and so the
 * digest: the domain owner must publish the new TXT record.
 */
import { createHash } from 'node:crypto';
import { localize, type Provider } from '../catalog/model.js';
import { capabilities, type PaccServers } from '../clients/capabilities.js';
import { HoleMarkers, PreparedCache, PreparedDocument } from './prepared.js';

/** RFC 8259 §11 defines no charset parameter; the body is UTF-8. */
export const PACC_CONTENT_TYPE = 'application/json';
export const PACC_PATH = '/.well-known/user-agent-configuration.json';
/** The host label clients ask (ua-auto-config.<domain>) and the TXT owner's (_ua-auto-config.<domain>). */
export const PACC_HOST_LABEL = 'ua-auto-config';

/** A filled-in value inside a JSON string: what JSON.stringify would have written. */
function escapeJsonString(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function buildDocument(provider: Provider, servers: PaccServers): PreparedDocument {
  const holes = new HoleMarkers();
  const host = (template: string) => ({ host: holes.domain(template) });
  const protocols: Record<string, unknown> = {};
  if (servers.imap) protocols.imap = host(servers.imap.host);
  if (servers.pop3) protocols.pop3 = host(servers.pop3.host);
  protocols.submit = host(servers.submit.host);
  if (servers.caldav) protocols.caldav = { url: servers.caldav.url };
  if (servers.carddav) protocols.carddav = { url: servers.carddav.url };
  const help = provider.documentation[0] ? { help: { documentation: provider.documentation[0].url } } : {};
  const document = {
    protocols,
    // Only servers with a password method are taken (capabilities.ts).
    authentication: { password: true },
    // name ≤ 60 and shortName ≤ 20 characters: the loader's and the schema's limits are PACC's.
    info: { provider: { name: localize(provider.name, 'en'), shortName: provider.shortName }, ...help },
  };
  return new PreparedDocument(JSON.stringify(document), holes, escapeJsonString);
}

const cache = new PreparedCache();

export type PaccResult = { ok: true; body: Buffer; etag: string } | { ok: false; reason: string };

/** The document for mail domain `domain` (ASCII), or why the provider has none. */
export function renderPacc(provider: Provider, domain: string): PaccResult {
  const choice = capabilities(provider).pacc;
  if (!choice.ok) return choice;
  const prepared = cache.get(provider, '', () => buildDocument(provider, choice.servers));
  return { ok: true, body: prepared.render({ domain, mailbox: undefined }), etag: prepared.etag(domain, undefined) };
}

/** Standard base64 (RFC 4648 §4, with padding) of the SHA-256 of the exact body bytes. */
export function paccDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

/** The TXT record's value, exactly as automx writes it (pacc_digest_record). */
export function paccTxtValue(body: Buffer): string {
  return `v=UAAC1; a=sha256; d=${paccDigest(body)}`;
}

/**
 * The digests a TXT record names, or why it is not a PACC record: tags
 * separated by ";" (a trailing one allowed), white space around them
 * ignored, unknown tags ignored, a duplicate v, a or d invalid, d 32 bytes
 * of standard base64 (-03 §5.2.2.2 as automx reads it). Strings of one
 * record are joined with nothing between them.
 */
export function parsePaccTxt(record: string): { ok: true; digest: string } | { ok: false; reason: string } {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const tag = part.trim();
    if (tag === '') continue;
    const at = tag.indexOf('=');
    if (at < 1) return { ok: false, reason: `"${tag}" is not a tag=value pair` };
    const name = tag.slice(0, at).trim();
    if (tags.has(name)) return { ok: false, reason: `the tag ${name} is given twice` };
    tags.set(name, tag.slice(at + 1).trim());
  }
  if (tags.get('v') !== 'UAAC1') return { ok: false, reason: 'not v=UAAC1' };
  if (tags.get('a') !== 'sha256') return { ok: false, reason: 'not a=sha256' };
  const digest = tags.get('d') ?? '';
  if (!/^[A-Za-z0-9+/]{43}=$/.test(digest)) return { ok: false, reason: 'd is not the standard base64 of 32 bytes' };
  return { ok: true, digest };
}
