/**
 * The admin commands. Each returns its exit code: 0 success, 1 the checked
 * thing is wrong (invalid file, 4xx answer, failed import), 2 usage error.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadCatalog, listProviderFiles, summarize, type Catalog } from '../catalog/catalog.js';
import type { Provider } from '../catalog/model.js';
import { formatProblem } from '../catalog/problems.js';
import { OUTLOOK_RESPONSE_NS } from '../formats/outlook.js';
import { XML_DECLARATION, xmlBuilder } from '../formats/prepared.js';
import { importConfigV11 } from '../importer/ispdb.js';
import { parseAddress, normalizeDomain } from '../mailbox.js';
import { parseDnsServer } from '../sources/mx.js';
import { checkDeployment, formatCheckTable, type CheckRow } from './check.js';
import { checkHoster } from './check-hoster.js';
import { CUSTOMER_DOMAIN, dnsRecords, formatZone, hosterRecords } from './dns.js';
import { signerFor } from './serve.js';
import { buildApp } from '../server/app.js';
import { UsageError, type RenderFormat, type Settings } from './options.js';

export interface Output {
  out(text: string | Buffer): void;
  err(text: string): void;
}

/** validate: every problem as file:line:column, a summary, exit 1 on any error. */
export async function validate(paths: readonly string[], json: boolean, io: Output): Promise<number> {
  const catalog = await loadCatalog(paths);
  const files = await listProviderFiles(paths);
  const errors = catalog.problems.filter((p) => p.severity === 'error').length;
  if (json) {
    io.out(
      `${JSON.stringify({
        valid: errors === 0 && files.length > 0,
        files: files.length,
        providers: catalog.providers.length,
        domains: catalog.domainCount,
        problems: catalog.problems,
      }, null, 2)}\n`,
    );
  } else {
    for (const problem of catalog.problems) io.out(`${formatProblem(problem)}\n`);
    io.out(files.length === 0 ? `no provider files (*.yaml) in ${paths.join(', ')}\n` : `${summarize(catalog)}\n`);
  }
  return errors === 0 && files.length > 0 ? 0 : 1;
}

const RENDER_PATHS: Record<Exclude<RenderFormat, 'outlook'>, string> = { thunderbird: '/mail/config-v1.1.xml', apple: '/mobileconfig', guide: '/setup' };

/**
 * render: what the server answers, byte for byte, because it is the server
 * answering (an in-process request to the same application).
 */
export async function render(format: RenderFormat, address: string, settings: Settings, io: Output, showHeaders: boolean): Promise<number> {
  const catalog = await loadCatalog(settings.providers);
  const signer = signerFor(settings);
  const app = await buildApp({
    catalog: () => catalog,
    identifierPrefix: settings.identifierPrefix,
    ...(settings.publicBaseUrl ? { publicBaseUrl: settings.publicBaseUrl } : {}),
    ...(signer ? { signer } : {}),
  });
  const query = `emailaddress=${encodeURIComponent(address)}`;
  const response =
    format === 'outlook'
      ? await app.inject({
          method: 'POST',
          url: '/autodiscover/autodiscover.xml',
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          payload: outlookRequestFor(address),
        })
      : await app.inject({ method: 'GET', url: `${RENDER_PATHS[format]}?${query}` });
  await app.close();
  if (showHeaders) {
    io.err(`HTTP ${response.statusCode}\n`);
    for (const [name, value] of Object.entries(response.headers)) io.err(`${name}: ${String(value)}\n`);
  }
  if (response.statusCode >= 400) {
    const reason = response.headers['x-autodiscover-reason'] ?? response.body.trim();
    io.err(`${response.statusCode}: ${String(reason)}\n`);
    return 1;
  }
  io.out(response.rawPayload);
  return 0;
}

/** The request Outlook and Thunderbird send ([MS-OXDSCLI] 2.2.3). */
function outlookRequestFor(address: string): string {
  return xmlBuilder().build({
    ...XML_DECLARATION,
    Autodiscover: {
      '@xmlns': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006',
      Request: { EMailAddress: address, AcceptableResponseSchema: OUTLOOK_RESPONSE_NS },
    },
  }) as string;
}

/** import: config-v1.1 XML files or folders → one provider YAML each in `outDir`. */
export async function importFiles(inputs: readonly string[], outDir: string, force: boolean, io: Output): Promise<number> {
  const files: string[] = [];
  for (const input of inputs) {
    const found = await listXmlFiles(input);
    if (found.length === 0) io.err(`${input}: no .xml files\n`);
    files.push(...found);
  }
  if (files.length === 0) return 1;
  await mkdir(outDir, { recursive: true });
  const taken = new Set<string>();
  let imported = 0;
  let failed = 0;
  let refused = 0;
  for (const [index, file] of files.entries()) {
    const result = importConfigV11(await readFile(file, 'utf8'), basename(file), taken);
    if (!result.yaml || !result.id) {
      failed++;
      io.err(`${file}: not imported: ${result.error ?? 'unknown reason'}\n`);
      continue;
    }
    const target = join(outDir, `${result.id}.yaml`);
    if (!force && existsSync(target)) {
      refused++;
      io.err(`${target}: exists; not overwritten (use --force)\n`);
      continue;
    }
    taken.add(result.id);
    await writeFile(target, result.yaml);
    imported++;
    for (const line of result.notCarried) io.out(`${file}: not carried over: ${line}\n`);
    if (files.length > 20 && (index + 1) % 20 === 0) io.err(`… ${index + 1}/${files.length} files\n`);
  }
  io.out(`imported ${imported} of ${files.length} file(s) into ${outDir}${failed ? `, ${failed} failed` : ''}${refused ? `, ${refused} not overwritten` : ''}\n`);
  return failed > 0 || refused > 0 ? 1 : 0;
}

async function listXmlFiles(input: string): Promise<string[]> {
  const info = await stat(input).catch(() => undefined);
  if (!info) return [];
  if (!info.isDirectory()) return [input];
  return (await readdir(input)).filter((f) => f.toLowerCase().endsWith('.xml')).sort().map((f) => join(input, f));
}

/** The catalog of `paths` and its provider `id`, or undefined once it has said there is none. */
async function loadHoster(paths: readonly string[], id: string, io: Output): Promise<{ catalog: Catalog; provider: Provider } | undefined> {
  const catalog = await loadCatalog(paths);
  const provider = catalog.byId(id);
  if (provider) return { catalog, provider };
  io.err(`no provider "${id}" in ${paths.join(', ')}\n`);
  return undefined;
}

/** What `dns` is asked for: one domain's records, or a hoster's (with one customer domain's, or the template). */
export type DnsRequest = { readonly domain: string } | { readonly hoster: string; readonly customerDomain?: string };

const DNS_LEGEND = '"." = service not offered (RFC 2782, RFC 6186, RFC 6764); re-publish _ua-auto-config after every provider edit (its digest covers the document)';

/** dns: the records a domain owner (or a hoster, and its customers) publishes, in zone-file syntax or JSON. */
export async function dns(request: DnsRequest, settings: Settings, target: string | undefined, json: boolean, io: Output): Promise<number> {
  const domainOf = (input: string): string => {
    const domain = normalizeDomain(input);
    if (domain === null) throw new UsageError(`"${input}" is not a domain name`);
    return domain;
  };
  const given = (target ?? (settings.publicBaseUrl ? new URL(settings.publicBaseUrl).hostname : undefined))?.replace(/^\[|\]$/g, '').toLowerCase();
  const noTarget = (why: string): UsageError => new UsageError(`${why}: give the public host of this service: --public-url https://autoconfig.example.net, or --target/--address`);
  if ('hoster' in request) {
    const customer = request.customerDomain === undefined ? undefined : domainOf(request.customerDomain);
    const found = await loadHoster(settings.providers, request.hoster, io);
    if (!found) return 1;
    const { provider } = found;
    if (provider.serviceHosts.length === 0 && given === undefined) throw noTarget(`provider ${provider.id} has no serviceHosts`);
    const plan = hosterRecords(provider, given, customer);
    const perDomain = customer === undefined
      ? `Per customer domain: replace ${CUSTOMER_DOMAIN} (mail-autoconfig dns --hoster ${provider.id} --domain <d> prints them for one); ${DNS_LEGEND}`
      : `DNS records for ${customer} (a customer of provider ${provider.id}); ${DNS_LEGEND}`;
    io.out(json
      ? `${JSON.stringify(plan, null, 2)}\n`
      : `${formatZone(plan.once.records, `Published once by the hoster (provider ${provider.id}), in its own zones`, plan.once.notes)}\n${formatZone(plan.perDomain.records, perDomain, plan.perDomain.notes)}`);
    return 0;
  }
  const domain = domainOf(request.domain);
  const catalog = await loadCatalog(settings.providers);
  const provider = catalog.byDomain(domain);
  if (!provider) {
    const hosters = catalog.providers.filter((p) => p.serviceHosts.length > 0 || p.mxPatterns.length > 0 || p.domainsFile || p.domainsQuery).map((p) => p.id);
    io.err(`no provider lists ${domain} in ${settings.providers.join(', ')}${hosters.length ? `; a hoster's customer domain: mail-autoconfig dns --hoster <${hosters.join('|')}> --domain ${domain}` : ''}\n`);
    return 1;
  }
  // A hoster's listed domain points at its first service host unless told otherwise.
  const host = given ?? provider.serviceHosts[0];
  if (!host) throw noTarget('no public host given');
  const { records, notes } = dnsRecords(provider, domain, host);
  io.out(
    json
      ? `${JSON.stringify({ domain, provider: provider.id, records, notes }, null, 2)}\n`
      : formatZone(records, `DNS records for ${domain} (provider ${provider.id}); ${DNS_LEGEND}`, notes),
  );
  return 0;
}

/** What `check` is asked for: one address's formats, or a hoster's records (and one customer domain's). */
export type CheckRequest = { readonly address: string } | { readonly hoster: string; readonly customerDomain?: string; readonly providers: readonly string[] };

/** check: every format from a running deployment, as clients fetch it; or a hoster's records in DNS and at the deployment. */
export async function check(request: CheckRequest, base: string, insecure: boolean, json: boolean, io: Output, dnsServers: readonly string[] = []): Promise<number> {
  try {
    new URL(base);
  } catch {
    throw new UsageError(`--url "${base}" is not a URL`);
  }
  for (const server of dnsServers) if (parseDnsServer(server) === null) throw new UsageError(`--dns "${server}" is not an address or address:port`);
  let rows: CheckRow[];
  let subject: Record<string, string>;
  if ('hoster' in request) {
    const domain = request.customerDomain === undefined ? undefined : normalizeDomain(request.customerDomain);
    if (domain === null) throw new UsageError(`"${request.customerDomain}" is not a domain name`);
    const found = await loadHoster(request.providers, request.hoster, io);
    if (!found) return 1;
    const { catalog, provider } = found;
    rows = await checkHoster(base, catalog, provider, { insecure, dnsServers, ...(domain !== undefined ? { domain } : {}) });
    subject = { hoster: provider.id, ...(domain !== undefined ? { domain } : {}) };
  } else {
    const parsed = parseAddress(request.address);
    if (!parsed.ok) throw new UsageError(`invalid e-mail address: ${parsed.reason}`);
    rows = await checkDeployment(base, parsed.value, { insecure, dnsServers });
    subject = { address: parsed.value.address };
  }
  io.out(json ? `${JSON.stringify({ url: base, ...subject, rows }, null, 2)}\n` : formatCheckTable(rows));
  return rows.every((r) => r.ok) ? 0 : 1;
}
