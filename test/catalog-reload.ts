import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatProblem } from '../src/catalog/problems.js';
import { CatalogStore } from '../src/catalog/store.js';
import { request, startServer } from './helpers/server.js';
import { thunderbirdServers } from './helpers/xml.js';

const provider = (port: number, extra = '') => `id: reload
name: Reload Mail
domains: [reload.example]
incoming:
  - { type: imap, host: imap.reload.example, port: ${port} }
outgoing:
  - { host: smtp.reload.example }
${extra}`;
const BROKEN = 'id: reload\nname: [unclosed\n';

async function servedPort(url: string): Promise<number | undefined> {
  const response = await request(`${url}/v1.1/reload.example`);
  return response.status === 200 ? thunderbirdServers(response.text).incoming[0]!.port : undefined;
}

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

t.test('a change is served after reload; a broken edit keeps the last good version', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reload-'));
  const file = join(dir, 'reload.yaml');
  writeFileSync(file, provider(993));
  const store = await CatalogStore.open([dir]);
  const { url } = await startServer(t, { store });
  t.equal(await servedPort(url), 993);

  writeFileSync(file, provider(1993));
  await store.reload();
  t.equal(await servedPort(url), 1993, 'the change is served');

  writeFileSync(file, BROKEN);
  const outcome = await store.reload();
  t.same(outcome.staleFiles, [file]);
  t.equal(await servedPort(url), 1993, 'the broken edit does not take the provider down');
  const ready = JSON.parse((await request(`${url}/readyz`)).text);
  t.equal(ready.status, 'degraded');
  // Public readiness names the files; the problems are in the log (and behind the metrics token).
  t.same(ready.catalog.problemFiles, ['reload.yaml']);
  t.same(ready.catalog.staleFiles, ['reload.yaml']);
  t.match(store.current().problems.map(formatProblem), [new RegExp(`^${file.replaceAll('/', '\\/')}:3:1: error: YAML`)]);
  t.match(ready.warnings, [/broken; their last good version is served/]);
  t.equal(ready.reload.reloads, 3);

  writeFileSync(join(dir, 'never.yaml'), BROKEN.replace('reload', 'never'));
  await store.reload();
  t.equal(store.current().providers.length, 1, 'a file that never loaded stays absent');

  writeFileSync(file, provider(2993));
  await store.reload();
  t.equal(await servedPort(url), 2993, 'fixed again');
  t.same(store.lastReload?.staleFiles, []);
});

t.test('file changes are picked up by watching the folder, also a ConfigMap-style symlink swap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'watch-'));
  // Kubernetes: good.yaml -> ..data/good.yaml, ..data -> ..v1 (swapped atomically on update).
  mkdirSync(join(dir, '..v1'));
  writeFileSync(join(dir, '..v1', 'reload.yaml'), provider(993));
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync(join('..data', 'reload.yaml'), join(dir, 'reload.yaml'));
  const store = await CatalogStore.open([dir]);
  await store.watch(50);
  t.teardown(() => store.close());
  const { url } = await startServer(t, { store });
  t.equal(await servedPort(url), 993);

  mkdirSync(join(dir, '..v2'));
  writeFileSync(join(dir, '..v2', 'reload.yaml'), provider(1993));
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  t.ok(await eventually(async () => (await servedPort(url)) === 1993), 'the swapped ConfigMap is served');

  writeFileSync(join(dir, 'plain.yaml'), provider(3993).replace('id: reload', 'id: plain').replace('reload.example]', 'plain.example]'));
  t.ok(await eventually(async () => (await request(`${url}/v1.1/plain.example`)).status === 200), 'a new file is served');
});

t.test('20 reloads (good and broken alternating) under steady load: no request fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'load-'));
  const file = join(dir, 'reload.yaml');
  writeFileSync(file, provider(993));
  const store = await CatalogStore.open([dir]);
  const { url } = await startServer(t, { store });
  let stop = false;
  let served = 0;
  const failures: string[] = [];
  const client = async () => {
    while (!stop) {
      const response = await request(`${url}/mail/config-v1.1.xml?emailaddress=a%40reload.example`).catch((e: Error) => ({ status: 0, text: e.message }));
      if (response.status !== 200) failures.push(`${response.status} ${response.text.slice(0, 80)}`);
      served++;
    }
  };
  const clients = [client(), client(), client(), client()];
  for (let i = 0; i < 20; i++) {
    writeFileSync(file, i % 2 === 0 ? BROKEN : provider(1000 + i));
    await store.reload();
    await new Promise((r) => setTimeout(r, 25));
  }
  stop = true;
  await Promise.all(clients);
  t.same(failures, [], `no failed request among ${served}`);
  t.ok(served > 100, `${served} requests during the reloads`);
  t.equal(store.reloads, 21);
});
