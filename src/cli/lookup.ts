/**
 * lookup <address>: what the provider's directory lookup (issue 22) returns
 * for an address, and how long it took, for admins setting one up. The
 * answers will ask the same LoginLookup, so what this prints is what they
 * would get. Exit 0 found, 1 not found or failed (the reason is printed),
 * 2 usage.
 */
import { performance } from 'node:perf_hooks';
import { loadCatalog } from '../catalog/catalog.js';
import { createLoginLookup } from '../directory/lookup.js';
import { parseAddress } from '../mailbox.js';
import type { Output } from './commands.js';
import { UsageError } from './options.js';

export async function lookup(addressInput: string, providers: readonly string[], env: Readonly<Record<string, string | undefined>>, json: boolean, io: Output): Promise<number> {
  const parsed = parseAddress(addressInput);
  if (!parsed.ok) throw new UsageError(`invalid e-mail address: ${parsed.reason}`);
  const { address, domain } = parsed.value;
  const catalog = await loadCatalog(providers);
  const provider = catalog.byDomain(domain);
  if (provider === undefined) {
    io.err(`no provider serves ${domain} in ${providers.join(', ')}\n`);
    return 1;
  }
  if (provider.lookup === undefined) {
    io.err(`provider ${provider.id} (${provider.source}) has no lookup; its log-in names come from the username template\n`);
    return 1;
  }
  const warnings: string[] = [];
  const loginLookup = createLoginLookup(provider.lookup, {
    name: `lookup of ${provider.source}`,
    env,
    log: { info: () => {}, warn: (message) => warnings.push(message) },
  });
  const started = performance.now();
  const found = await loginLookup.find(address);
  const ms = performance.now() - started;
  const state = loginLookup.state();
  await loginLookup.close();
  const failed = !state.ok;
  if (json) {
    io.out(`${JSON.stringify({
      address,
      provider: provider.id,
      directory: state.directory,
      result: found !== undefined ? 'found' : failed ? 'failed' : 'not found',
      ...(found !== undefined ? { login: found.login, ...(found.displayName !== undefined ? { displayName: found.displayName } : {}) } : {}),
      ...(state.lastError !== undefined ? { reason: state.lastError } : {}),
      milliseconds: Math.round(ms * 10) / 10,
    }, null, 2)}\n`);
  } else if (found !== undefined) {
    io.out(`${address}: log-in name ${found.login}${found.displayName !== undefined ? `, display name ${found.displayName}` : ''} (${ms.toFixed(1)} ms, ${state.directory})\n`);
  } else if (failed) {
    io.out(`${address}: the lookup failed, so answers carry the username template instead: ${state.lastError ?? 'unknown reason'} (${ms.toFixed(1)} ms, ${state.directory})\n`);
  } else {
    io.out(`${address}: not found${state.lastError !== undefined ? ` (${state.lastError})` : ''}, so answers carry the username template (${ms.toFixed(1)} ms, ${state.directory})\n`);
  }
  return found !== undefined ? 0 : 1;
}
