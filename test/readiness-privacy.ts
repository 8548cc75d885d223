/**
 * Item 4 of issue 20: the loader reads no file outside the provider folders
 * (a symlink to /etc/shadow), the Kubernetes ..data layout still loads, and
 * the public /readyz has counts and file names, never a file's content.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CatalogStore } from '../src/catalog/store.js';
import { buildApp } from '../src/server/app.js';
import { providerFolder, providerYaml } from './helpers/providers.js';
import { IDENTIFIER_PREFIX, request } from './helpers/server.js';

const SECRET = 'root:$6$SECRETHASH:19000:0:99999:7:::';

function secretOutside(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'outside-')), 'shadow');
  writeFileSync(file, `${SECRET}\n`);
  return file;
}

t.test('a symlink out of the provider folder is not followed', async (t) => {
  const dir = providerFolder({ 'good.yaml': providerYaml('good', 'good.example') });
  symlinkSync(secretOutside(), join(dir, 'x.yaml'));
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  t.ok(store.current().byDomain('good.example'));
  t.match(store.current().problems, [{ file: /x\.yaml$/, severity: 'error', message: /outside the provider folder/ }]);
  t.notMatch(JSON.stringify(store.current().problems), /SECRETHASH/);
});

t.test("Kubernetes' ..data symlink layout loads", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'configmap-'));
  mkdirSync(join(dir, '..2024_06_01_12_00_00.123'));
  writeFileSync(join(dir, '..2024_06_01_12_00_00.123', 'k8s.yaml'), providerYaml('k8s', 'k8s.example'));
  symlinkSync('..2024_06_01_12_00_00.123', join(dir, '..data'));
  symlinkSync('..data/k8s.yaml', join(dir, 'k8s.yaml'));
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  t.ok(store.current().byDomain('k8s.example'));
  t.same(store.current().problems, []);
});

t.test('public /readyz: counts and file names; the problems behind the metrics token', async (t) => {
  const dir = providerFolder({ 'good.yaml': providerYaml('good', 'good.example'), 'broken.yaml': `id: broken\nname: [${SECRET}\n` });
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  const token = 'a-metrics-token-of-some-length';
  const app = await buildApp({ catalog: () => store.current(), store, identifierPrefix: IDENTIFIER_PREFIX }, { metricsToken: token });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const open = await request(`${url}/readyz`);
  t.notMatch(open.text, /SECRETHASH|root:/, 'no file content in public readiness');
  const ready = JSON.parse(open.text);
  t.equal(ready.status, 'degraded');
  t.equal(ready.catalog.skippedFiles, 1);
  t.same(ready.catalog.problemFiles, ['broken.yaml'], 'the file names with problems');
  t.equal(ready.catalog.problems, undefined, 'no problem texts');

  const full = JSON.parse((await request(`${url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).text);
  t.match(full.catalog.problems, [/broken\.yaml:\d+:\d+: error: /], 'the operator sees the problems');
  const wrong = JSON.parse((await request(`${url}/readyz`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).text);
  t.equal(wrong.catalog.problems, undefined, 'not with a wrong token');
});
