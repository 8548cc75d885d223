/**
 * check --hoster: what a hoster publishes once, and with --domain what one
 * customer domain publishes, checked in DNS and against the running
 * deployment (issue 21). The records are those `dns --hoster` prints:
 *
 * - each service host resolves, and the deployment answers on it for any
 *   address with this provider's settings (over https the certificate for
 *   that name is checked too: Thunderbird's MX step asks over https only),
 *   and without an address, as Thunderbird for Android's MX step asks, when
 *   the provider's servers are the same for every customer domain;
 * - for each MX pattern, one of the names Thunderbird's MX step asks
 *   (mx-step.ts) is such a working service host;
 * - a customer domain's MX host belongs to this provider, autoconfig. and
 *   autodiscover. point at a service host, _autodiscover._tcp names one,
 *   and the deployment answers for the domain.
 *
 * A record the customer need not publish (the MX step finds the service
 * without autoconfig.<domain>) is a warning when missing, a failure when
 * it points elsewhere.
 */
import { Resolver } from 'node:dns/promises';
import type { Catalog } from '../catalog/catalog.js';
import { sameForEveryDomain } from '../answers/lookup.js';
import type { Provider } from '../catalog/model.js';
import { fillDomain } from '../mailbox.js';
import { matchMx, MxResolver } from '../sources/mx.js';
import { deploymentGet, statusProblem, thunderbirdServers, XML_TYPE, type CheckOptions, type CheckRow, type DeploymentGet } from './check.js';
import { mxHostOf } from './dns.js';
import { mxStepOfPattern, thunderbirdMxStep, type MxStep } from './mx-step.js';

export interface HosterCheckOptions extends CheckOptions {
  /** A customer domain whose records are checked too. */
  readonly domain?: string;
}

/** The domain a service host is asked for: reserved (RFC 2606), so it can be nobody's customer. */
const PROBE_DOMAIN = 'mail-autoconfig-check.invalid';

/** What the DNS said about a name: its addresses, or the resolver's code (ENOTFOUND, ENODATA, ETIMEOUT…). */
type Addresses = { readonly addresses: readonly string[] } | { readonly code: string };

export async function checkHoster(base: string, catalog: Catalog, provider: Provider, options: HosterCheckOptions = {}): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const add = (check: string, ok: boolean, detail: string, warning = false): void => void rows.push({ check, ok, detail, ...(warning ? { warning: true as const } : {}) });
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (options.dnsServers?.length) resolver.setServers([...options.dnsServers]);
  const get = deploymentGet(base, options.insecure);
  const hint = `mail-autoconfig dns --hoster ${provider.id}`;

  // The once-records: each service host resolves and answers.
  const working = new Map<string, readonly string[]>();
  const broken = new Map<string, string>();
  if (provider.serviceHosts.length === 0) add('service hosts', true, `provider ${provider.id} has none: customers need autoconfig.<domain> records, and Thunderbird's MX step finds nothing`, true);
  for (const host of provider.serviceHosts) {
    const found = await addressesOf(resolver, host);
    if ('code' in found) {
      add(`DNS ${host}`, false, `does not resolve (${found.code}): publish it (${hint})`);
      broken.set(host, 'does not resolve');
    } else {
      add(`DNS ${host}`, true, found.addresses.join(', '));
    }
    const answer = await answersFor(get, provider, host, `check@${PROBE_DOMAIN}`, PROBE_DOMAIN);
    add(`Thunderbird ${host} (any address)`, answer.ok, answer.detail);
    if (!answer.ok) broken.set(host, broken.get(host) ?? 'does not answer as it should');
    else if (!('code' in found)) working.set(host, found.addresses);
    // Thunderbird for Android's MX step asks the same URL without an address (research/thunderbird.md §2.2).
    const android = `Thunderbird for Android ${host} (no address)`;
    if (sameForEveryDomain(provider)) {
      const bare = await answersFor(get, provider, host, undefined, PROBE_DOMAIN);
      add(android, bare.ok, bare.detail);
    } else {
      add(android, true, `not answered: the servers of provider ${provider.id} name the customer's domain (%EMAILDOMAIN%) and Android sends no address; its users need autoconfig.<domain>`, true);
    }
  }

  // Thunderbird's MX step must reach one of them for a customer found by MX.
  for (const pattern of provider.mxPatterns) {
    const step = mxStepOfPattern(pattern);
    const check = `Thunderbird MX step, MX ${mxHostOf(pattern)}`;
    if ('perHost' in step) add(check, true, step.perHost, true);
    else {
      const row = mxStepRow(step, provider, working, broken, hint);
      add(check, row.ok, row.detail);
    }
  }

  if (options.domain !== undefined) await checkCustomer(options.domain, catalog, provider, { resolver, get, add, working, broken, hint, dnsServers: options.dnsServers ?? [] });

  if (!/^https:/i.test(base)) {
    add('certificates', true, `not checked: --url is http; Thunderbird's MX step asks https://<service host>/ only (check again with --url https://…)`, true);
  } else if (options.insecure) {
    add('certificates', true, 'not checked (--insecure)', true);
  }
  return rows;
}

interface CustomerContext {
  readonly resolver: Resolver;
  readonly get: DeploymentGet;
  readonly add: (check: string, ok: boolean, detail: string, warning?: boolean) => void;
  /** Service hosts that resolved and answered, with their addresses. */
  readonly working: ReadonlyMap<string, readonly string[]>;
  readonly broken: ReadonlyMap<string, string>;
  readonly hint: string;
  readonly dnsServers: readonly string[];
}

/** One customer domain: its MX, the MX step from it, its records, and the deployment's answer. */
async function checkCustomer(domain: string, catalog: Catalog, provider: Provider, context: CustomerContext): Promise<void> {
  const { resolver, add, working, broken } = context;
  const listed = catalog.byDomain(domain) === provider;
  const mx = await new MxResolver(context.dnsServers.length ? { servers: [...context.dnsServers] } : {}).resolve(domain);
  const match = matchMx(mx, catalog.mxIndex);
  const own = match.kind === 'matched' && match.owner === provider;
  const found = match.kind === 'matched'
    ? own ? `${match.mxHost}: a host of provider ${provider.id}` : `${match.mxHost} belongs to provider ${match.owner.id} (Thunderbird's MX step finds theirs)`
    : match.kind === 'noMatch' ? `${match.mxHost ?? 'no MX host'}${provider.mxPatterns.length ? `, matching none of ${provider.mxPatterns.join(', ')}` : ''}` : match.reason;
  const mxCheck = `MX of ${domain}`;
  if (own) add(mxCheck, true, found);
  else if (listed) add(mxCheck, true, `${found}; listed by provider ${provider.id}, which wins`, true);
  else if (provider.domainsQuery) add(mxCheck, true, `${found}; not in the YAML or domain file of provider ${provider.id}, perhaps in its database (domainsQuery), which this check does not read`, true);
  else add(mxCheck, false, `${found}; not in the lists of provider ${provider.id} either`);
  if (own && mx.kind === 'mx') {
    const row = mxStepRow(thunderbirdMxStep(mx.host, domain), provider, working, broken, context.hint);
    // The step is Thunderbird's fallback: without it autoconfig.<domain> must do.
    add(`Thunderbird MX step for ${domain}`, row.ok || row.skipped, row.detail, row.skipped);
  }

  await pointsAtService(resolver, `autoconfig.${domain}`, provider, working, add, 'no record: Thunderbird falls back to its MX step (and asks the user to confirm its answer)');
  await pointsAtService(resolver, `autodiscover.${domain}`, provider, working, add, 'no record: Outlook goes on to _autodiscover._tcp');
  const srvName = `_autodiscover._tcp.${domain}`;
  try {
    const records = await resolver.resolveSrv(srvName);
    const good = records.find((r) => provider.serviceHosts.includes(r.name.toLowerCase()) && r.port === 443);
    add(`SRV ${srvName}`, good !== undefined, good ? `${good.name}:443` : `${records.map((r) => `${r.name}:${r.port}`).join(', ')}: not a service host of provider ${provider.id} on port 443`);
  } catch (error) {
    add(`SRV ${srvName}`, true, `no record (${codeOf(error)}): Outlook finds Autodiscover only at autodiscover.${domain}`, true);
  }

  const answer = await answersFor(context.get, provider, `autoconfig.${domain}`, `postmaster@${domain}`, domain);
  add(`Thunderbird autoconfig.${domain}`, answer.ok, answer.detail);
}

/**
 * Whether the names Thunderbird's MX step asks reach a working service
 * host: `skipped` when Thunderbird does not take the step at all.
 */
function mxStepRow(step: MxStep, provider: Provider, working: ReadonlyMap<string, unknown>, broken: ReadonlyMap<string, string>, hint: string): { ok: boolean; skipped: boolean; detail: string } {
  if ('skipped' in step) return { ok: false, skipped: true, detail: step.skipped };
  const asks = `asks ${step.asked.join(', then ')}`;
  const good = step.asked.find((name) => working.has(name));
  if (good !== undefined) return { ok: true, skipped: false, detail: `${asks}: ${good} answers` };
  const failing = step.asked.find((name) => broken.has(name));
  if (failing !== undefined) return { ok: false, skipped: false, detail: `${asks}: ${failing} is a service host but ${broken.get(failing)} (above)` };
  return { ok: false, skipped: false, detail: `${asks}: none is a service host of provider ${provider.id}; add ${step.asked.at(-1)} to serviceHosts and publish it (${hint})` };
}

/** A customer name pointing at the service: a CNAME to a service host, or the addresses of a working one. */
async function pointsAtService(resolver: Resolver, name: string, provider: Provider, working: ReadonlyMap<string, readonly string[]>, add: CustomerContext['add'], missing: string): Promise<void> {
  const check = `DNS ${name}`;
  let cname: string | undefined;
  try {
    cname = (await resolver.resolveCname(name))[0]?.toLowerCase();
  } catch (error) {
    if (codeOf(error) !== 'ENODATA') return add(check, true, `${missing} (${codeOf(error)})`, true);
  }
  if (cname !== undefined) {
    return provider.serviceHosts.includes(cname)
      ? add(check, true, `CNAME ${cname}`)
      : add(check, false, `CNAME ${cname}: not a service host of provider ${provider.id} (${provider.serviceHosts.join(', ') || 'it has none'})`);
  }
  // No CNAME: the name's own addresses must be those of a service host.
  const found = await addressesOf(resolver, name);
  if ('code' in found) return add(check, true, `${missing} (${found.code})`, true);
  const same = [...working].find(([, addresses]) => sameSet(addresses, found.addresses));
  add(check, same !== undefined, same ? `${found.addresses.join(', ')}, the addresses of ${same[0]} (a CNAME to it would follow a move)` : `${found.addresses.join(', ')}: not the addresses of a service host of provider ${provider.id}`);
}

/** A Thunderbird answer on `host` for `address` (or for none): this provider's servers, or what is wrong. */
async function answersFor(get: DeploymentGet, provider: Provider, host: string, address: string | undefined, domain: string): Promise<{ ok: boolean; detail: string }> {
  const response = await get(`/mail/config-v1.1.xml${address === undefined ? '' : `?emailaddress=${encodeURIComponent(address)}`}`, host);
  const problem = statusProblem(response, XML_TYPE);
  if (problem !== undefined) return { ok: false, detail: problem };
  const read = thunderbirdServers(response.text);
  if ('problem' in read) return { ok: false, detail: read.problem };
  // The provider's first incoming server tells its settings from another provider's.
  const expected = fillDomain(provider.incoming[0]!.host, domain);
  return read.servers.some((s) => s.includes(` ${expected}:`))
    ? { ok: true, detail: `${read.servers.length} servers, first ${read.servers[0]}` }
    : { ok: false, detail: `another provider's settings (first ${read.servers[0]}; provider ${provider.id} has ${expected})` };
}

async function addressesOf(resolver: Resolver, name: string): Promise<Addresses> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (addresses.length > 0) return { addresses };
  return { code: codeOf(v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined) };
}

function codeOf(error: unknown): string {
  return (error as { code?: string } | undefined)?.code ?? 'no address';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
