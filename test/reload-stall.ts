/**
 * Item 3 of issue 20: checking domains is linear, and a reload of a million
 * domains never stops the answers (the longest event-loop stall is measured).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { CatalogStore } from '../src/catalog/store.js';
import { figure } from './helpers/figures.js';
import { providerFolder, providerYaml } from './helpers/providers.js';
import { request, startServer } from './helpers/server.js';

/** A provider file with `count` domains, one a line, as a hoster generates it. */
function hosterFile(count: number, prefix = 'customer'): string {
  const lines = Array.from({ length: count }, (_, i) => `  - ${prefix}${i}.example`);
  return providerYaml('big-hoster', 'x.example').replace('domains: [x.example]', `domains:\n${lines.join('\n')}`);
}

t.test('a domain list of 200,000 is checked in linear time', async (t) => {
  const text = hosterFile(200_000);
  const started = performance.now();
  const result = loadProvider('big.yaml', text);
  const ms = performance.now() - started;
  t.equal(result.provider?.domains.length, 200_000);
  t.ok(ms < 5000, `loaded in ${Math.round(ms)} ms`);
  const twice = loadProvider('twice.yaml', `${text}\n`.replace('  - customer1.example\n', '  - customer0.example\n'));
  t.match(twice.problems, [{ line: 5, column: 5, message: /same entry twice/ }], 'a duplicate is placed on its line');
});

t.test('a reload of 1,000,000 domains: answers go on, the event loop never stalls long', async (t) => {
  const dir = providerFolder({ 'small.yaml': providerYaml('small', 'small.example') });
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  const { url } = await startServer(t, { store });
  writeFileSync(join(dir, 'big.yaml'), hosterFile(1_000_000));

  // The longest gap between ticks of a 2 ms timer: how long the event loop was not there.
  let last = performance.now();
  let stallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 2);
    last = now;
  }, 2);
  let probes = 0;
  let failures = 0;
  let reloading = true;
  // And the longest wait for an answer while the reload runs.
  let slowestMs = 0;
  const probing = (async () => {
    while (reloading) {
      const sent = performance.now();
      const response = await request(`${url}/v1.1/small.example`);
      slowestMs = Math.max(slowestMs, performance.now() - sent);
      if (response.status === 200) probes++;
      else failures++;
    }
  })();
  const started = performance.now();
  const outcome = await store.reload();
  const reloadMs = performance.now() - started;
  reloading = false;
  await probing;
  clearInterval(ticker);
  t.equal(outcome.error, undefined, 'the reload worked');
  t.equal(store.current().domainCount, 1_000_001);
  t.equal((await request(`${url}/v1.1/customer999999.example`)).status, 200, 'the last domain is served');
  t.equal((await request(`${url}/v1.1/customer1000000.example`)).status, 404, 'one past it is not');
  t.equal(failures, 0, `${probes} answers during the reload, none failed`);
  t.ok(stallMs < 100, `longest event-loop stall ${stallMs.toFixed(1)} ms (target below 50 ms)`);
  t.ok(slowestMs < 150, `slowest answer during the reload ${slowestMs.toFixed(1)} ms`);
  figure(`reload of 1,000,000 domains: ${Math.round(reloadMs)} ms in the worker, longest event-loop stall ${stallMs.toFixed(1)} ms, slowest of ${probes} answers meanwhile ${slowestMs.toFixed(1)} ms`);
});
