/**
 * check: fetch every format from a running deployment the way clients do,
 * and report what passed and what a client would trip over.
 */
import { Resolver } from 'node:dns/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parsePlist } from 'plist';
import { OUTLOOK_RESPONSE_NS } from '../formats/outlook.js';
import { PACC_HOST_LABEL, PACC_PATH, paccDigest, parsePaccTxt } from '../formats/pacc.js';
import { XML_DECLARATION, xmlBuilder } from '../formats/prepared.js';
import { unwrapSignedProfile } from '../formats/signing.js';
import { httpFetch, type HttpResponse } from '../http-client.js';
import type { Mailbox } from '../mailbox.js';

export interface CheckRow {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Passed, but something a client may still trip over that this check cannot decide (no TXT record found). */
  readonly warning?: true;
}

export interface CheckOptions {
  readonly insecure?: boolean;
  /** DNS servers (address or address:port) for the PACC TXT lookup; default the system's. */
  readonly dnsServers?: readonly string[];
}

/** A server as every format can state it: where, and which TLS mode. */
type Endpoint = string;

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (n) => ['incomingServer', 'outgoingServer', 'Protocol'].includes(n) });

/** A request to the deployment at `base`, with the Host a client would send; a failure is status 0 with the reason as text. */
export type DeploymentGet = (path: string, host?: string, init?: { method?: string; body?: string; headers?: Record<string, string> }) => Promise<HttpResponse>;

export function deploymentGet(base: string, insecure: boolean | undefined): DeploymentGet {
  const origin = base.replace(/\/+$/, '');
  return (path, host, init = {}) =>
    httpFetch(`${origin}${path}`, { ...init, ...(host ? { host } : {}), ...(insecure ? { insecure: true } : {}) }).catch(
      (error: Error) => ({ status: 0, headers: {}, body: Buffer.alloc(0), text: error.message }) as HttpResponse,
    );
}

/** Why a client could not use an answer (status, content type), or undefined when it can. */
export function statusProblem(response: HttpResponse, contentType: RegExp): string | undefined {
  if (response.status !== 200) return response.status === 0 ? `no answer: ${response.text}` : `HTTP ${response.status}: ${response.text.trim().split('\n')[0]!.slice(0, 100)}`;
  const type = response.headers['content-type'] ?? '(none)';
  return contentType.test(type) ? undefined : `Content-Type ${type}: clients will not read it`;
}

export const XML_TYPE = /^(text|application)\/xml/;

/**
 * The servers of a Thunderbird document as "imap host:993 TLS", and whether
 * one is plain (Thunderbird for Android rejects the document), or why it
 * has none a client could use.
 */
export function thunderbirdServers(text: string): { servers: string[]; plain: boolean } | { problem: string } {
  if (XMLValidator.validate(text) !== true) return { problem: 'not well-formed XML' };
  const provider = (xml.parse(text) as any).clientConfig?.emailProvider;
  if (!provider?.incomingServer?.length || !provider?.outgoingServer?.length) return { problem: 'no incoming or outgoing server' };
  const all = [...provider.incomingServer, ...provider.outgoingServer];
  return {
    servers: all.map((s: any) => `${s['@type']} ${s.hostname}:${s.port} ${s.socketType === 'SSL' ? 'TLS' : s.socketType === 'STARTTLS' ? 'STARTTLS' : 'none'}`),
    plain: all.some((s: any) => s.socketType === 'plain' && s['@type'] !== 'pop3'),
  };
}

export async function checkDeployment(base: string, mailbox: Mailbox, options: CheckOptions = {}): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const get = deploymentGet(base, options.insecure);
  const query = `emailaddress=${encodeURIComponent(mailbox.address)}`;
  const add = (check: string, ok: boolean, detail: string) => rows.push({ check, ok, detail });
  const expectStatus = (check: string, response: HttpResponse, contentType: RegExp): boolean => {
    const problem = statusProblem(response, contentType);
    if (problem !== undefined) add(check, false, problem);
    return problem === undefined;
  };

  // Thunderbird: the four ways it asks, all must agree.
  const thunderbird: { check: string; path: string; host?: string }[] = [
    { check: `Thunderbird autoconfig.${mailbox.domain} ?emailaddress`, path: `/mail/config-v1.1.xml?${query}`, host: `autoconfig.${mailbox.domain}` },
    { check: `Thunderbird autoconfig.${mailbox.domain} (Android, KMail)`, path: '/mail/config-v1.1.xml', host: `autoconfig.${mailbox.domain}` },
    { check: `Thunderbird ${mailbox.domain}/.well-known`, path: `/.well-known/autoconfig/mail/config-v1.1.xml?${query}`, host: mailbox.domain },
    { check: 'Thunderbird ISPDB /v1.1/<domain>', path: `/v1.1/${mailbox.domain}` },
  ];
  let tbServers: Endpoint[] | undefined;
  for (const lookup of thunderbird) {
    const response = await get(lookup.path, lookup.host);
    if (!expectStatus(lookup.check, response, XML_TYPE)) continue;
    const read = thunderbirdServers(response.text);
    if ('problem' in read) {
      add(lookup.check, false, read.problem);
      continue;
    }
    const { servers, plain } = read;
    tbServers ??= servers;
    const agrees = servers.join('|') === tbServers.join('|');
    add(lookup.check, agrees, `${servers.length} servers, first ${servers[0]}${plain ? '; a plain entry: Thunderbird for Android rejects the document' : ''}${agrees ? '' : '; differs from the first Thunderbird answer'}`);
  }

  // Outlook: POST on the casings clients use.
  const request = xmlBuilder().build({
    ...XML_DECLARATION,
    Autodiscover: {
      '@xmlns': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006',
      Request: { EMailAddress: mailbox.address, AcceptableResponseSchema: OUTLOOK_RESPONSE_NS },
    },
  }) as string;
  let outlookServers: Endpoint[] | undefined;
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml', '/AutoDiscover/AutoDiscover.xml']) {
    const check = `Outlook POST ${path}`;
    const response = await get(path, `autodiscover.${mailbox.domain}`, { method: 'POST', body: request, headers: { 'content-type': 'text/xml; charset=utf-8' } });
    if (!expectStatus(check, response, XML_TYPE)) continue;
    const protocols = (xml.parse(response.text) as any).Autodiscover?.Response?.Account?.Protocol as any[] | undefined;
    if (!protocols?.length) {
      add(check, false, 'no Protocol in the response');
      continue;
    }
    const mode = (p: any) => (p.Encryption === 'SSL' || (p.Encryption === undefined && p.SSL !== 'off') ? 'TLS' : p.Encryption === 'TLS' ? 'STARTTLS' : 'none');
    const bad = protocols.filter((p) => (p.SSL === 'on' && p.Encryption === 'TLS') || !['IMAP', 'POP3', 'SMTP'].includes(p.Type));
    outlookServers ??= protocols.map((p) => `${String(p.Type).toLowerCase()} ${p.Server}:${p.Port} ${mode(p)}`);
    add(check, bad.length === 0, bad.length ? 'SSL on with Encryption TLS on an implicit-TLS port, or an unknown Type: Outlook fails' : `${protocols.length} protocols`);
  }
  const json = await get(`/autodiscover/autodiscover.json?Email=${encodeURIComponent(mailbox.address)}&Protocol=AutodiscoverV1`, `autodiscover.${mailbox.domain}`);
  if (expectStatus('Outlook v2 autodiscover.json', json, /^application\/json/)) {
    let url: unknown;
    try {
      url = (JSON.parse(json.text) as { Url?: unknown }).Url;
    } catch {
      url = undefined;
    }
    add('Outlook v2 autodiscover.json', typeof url === 'string' && url.startsWith('https://'), `Url ${String(url)}`);
  }

  // Apple.
  const apple = await get(`/mobileconfig?${query}`);
  let appleServers: Endpoint[] | undefined;
  if (expectStatus('Apple profile', apple, /^application\/x-apple-aspen-config/)) {
    const signed = apple.body[0] === 0x30;
    const content = signed ? await unwrapSignedProfile(apple.body) : apple.body;
    try {
      const payload = (parsePlist(content?.toString('utf8') ?? '') as any).PayloadContent[0];
      appleServers = [
        `${payload.EmailAccountType === 'EmailTypeIMAP' ? 'imap' : 'pop3'} ${payload.IncomingMailServerHostName}:${payload.IncomingMailServerPortNumber}`,
        `smtp ${payload.OutgoingMailServerHostName}:${payload.OutgoingMailServerPortNumber}`,
      ];
      const disposition = apple.headers['content-disposition'] ?? '';
      add('Apple profile', /\.mobileconfig"?$/.test(disposition), `${signed ? 'signed' : 'unsigned (the device shows "Not Signed")'}; ${appleServers.join(', ')}${/\.mobileconfig/.test(disposition) ? '' : '; no .mobileconfig file name: iOS saves it as a file'}`);
    } catch {
      add('Apple profile', false, signed ? 'signed, but the content is not a profile' : 'not a property list');
    }
  }

  await checkPacc(mailbox.domain, (host) => get(PACC_PATH, host), options.dnsServers, rows);

  // Agreement: the preferred servers of every format exist in Thunderbird's list with the same TLS mode.
  if (tbServers) {
    const missing = (outlookServers ?? []).filter((s) => !tbServers!.includes(s));
    add('Outlook agrees with Thunderbird', outlookServers !== undefined && missing.length === 0, missing.length ? `not in Thunderbird's answer: ${missing.join(', ')}` : outlookServers ? 'same servers, ports and TLS modes' : 'no Outlook answer');
    const appleMissing = (appleServers ?? []).filter((s) => !tbServers!.some((t) => t.startsWith(`${s} `)));
    add('Apple agrees with Thunderbird', appleServers !== undefined && appleMissing.length === 0, appleMissing.length ? `not in Thunderbird's answer: ${appleMissing.join(', ')}` : appleServers ? 'same servers and ports' : 'no Apple answer');
  }
  return rows;
}

/**
 * PACC as a client fetches it: the document from ua-auto-config.<domain>
 * (twice: the bytes must not vary), and its digest against the
 * _ua-auto-config.<domain> TXT records, any of which may match (rollover).
 * A 404 with the service's reason is a pass: the provider is outside
 * PACC's subset and clients go on to other lookups.
 */
async function checkPacc(domain: string, get: (host: string) => Promise<HttpResponse>, dnsServers: readonly string[] | undefined, rows: CheckRow[]): Promise<void> {
  const check = `PACC ${PACC_HOST_LABEL}.${domain}`;
  const host = `${PACC_HOST_LABEL}.${domain}`;
  const response = await get(host);
  if (response.status === 404 && response.text.startsWith('PACC (')) {
    rows.push({ check, ok: true, detail: `not offered: ${response.text.trim().slice(0, 200)}` });
    return;
  }
  const fail = (detail: string): void => void rows.push({ check, ok: false, detail });
  const problem = statusProblem(response, /^application\/json(;|$)/);
  if (problem !== undefined) return fail(problem);
  if (response.headers['content-encoding'] !== undefined) return fail(`Content-Encoding ${response.headers['content-encoding']}: the digest covers the identity-encoded bytes`);
  let protocols: Record<string, unknown> | undefined;
  try {
    protocols = (JSON.parse(response.text) as { protocols?: Record<string, unknown> }).protocols;
  } catch {
    return fail('not JSON');
  }
  if (!protocols || !('submit' in protocols) || !('imap' in protocols || 'pop3' in protocols)) return fail('no submit, or neither imap nor pop3, in protocols');
  const digest = paccDigest(response.body);
  const again = await get(host);
  if (!again.body.equals(response.body)) return fail('two fetches gave different bytes: no digest can match both');
  rows.push({ check, ok: true, detail: `${Object.keys(protocols).join(', ')}; d=${digest}` });

  const txtCheck = `PACC digest in _${PACC_HOST_LABEL}.${domain} TXT`;
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (dnsServers?.length) resolver.setServers([...dnsServers]);
  let records: string[][];
  try {
    records = await resolver.resolveTxt(`_${PACC_HOST_LABEL}.${domain}`);
  } catch (error) {
    rows.push({ check: txtCheck, ok: true, warning: true, detail: `no TXT record could be read (${(error as { code?: string }).code ?? 'error'}); clients reject the document without one: publish "v=UAAC1; a=sha256; d=${digest}"` });
    return;
  }
  // The strings of one record are joined with nothing between them.
  const parsed = records.map((strings) => parsePaccTxt(strings.join('')));
  const digests = parsed.flatMap((p) => (p.ok ? [p.digest] : []));
  if (digests.includes(digest)) rows.push({ check: txtCheck, ok: true, detail: `d=${digest} matches the bytes served` });
  else if (digests.length === 0) rows.push({ check: txtCheck, ok: true, warning: true, detail: `no PACC record among ${records.length} TXT record(s) (${parsed.map((p) => (p.ok ? '' : p.reason)).join('; ')}); publish "v=UAAC1; a=sha256; d=${digest}"` });
  else rows.push({ check: txtCheck, ok: false, detail: `the TXT names d=${digests.join(', d=')}, the bytes served hash to d=${digest}: clients reject the document; publish the new record (mail-autoconfig dns ${domain})` });
}

export function formatCheckTable(rows: readonly CheckRow[]): string {
  const width = Math.max(...rows.map((r) => r.check.length));
  const lines = rows.map((r) => `${r.ok ? (r.warning ? 'warn' : 'pass') : 'FAIL'}  ${r.check.padEnd(width)}  ${r.detail}`);
  const failed = rows.filter((r) => !r.ok).length;
  const warned = rows.filter((r) => r.warning).length;
  return `${lines.join('\n')}\n${rows.length - failed} passed, ${failed} failed${warned ? `, ${warned} with a warning` : ''}\n`;
}
