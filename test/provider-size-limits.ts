/**
 * Item 2 of issue 20: provider files and their texts have size limits,
 * checked before parsing; nothing a file contains takes the service down.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { CatalogStore } from '../src/catalog/store.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { productionNodeFlags } from '../bench/production.mjs';
import { BIN } from './helpers/process.js';
import { providerFolder, providerYaml } from './helpers/providers.js';
import { request } from './helpers/server.js';

const MiB = 1024 * 1024;

t.test('a file over the size limit is refused before it is read, naming file and limit', async (t) => {
  const dir = providerFolder({ 'good.yaml': providerYaml('good', 'good.example'), 'padded.yaml': `${providerYaml('padded', 'padded.example')}${'# padding padding padding padding padding padding padding\n'.repeat(Math.ceil((40 * MiB) / 58))}` });
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  t.ok(store.current().byDomain('good.example'), 'the good file is served');
  t.notOk(store.current().byDomain('padded.example'), 'the padded file is not');
  t.match(store.current().problems, [{ file: /padded\.yaml$/, line: 1, column: 1, severity: 'error', message: /larger than the limit of \d+ MiB/ }]);
});

t.test('the YAML of a provider (outside a plain domain list) has its own, smaller limit', async (t) => {
  const notes = 'n'.repeat(3 * MiB);
  const result = loadProvider('notes.yaml', providerYaml('notes', 'notes.example', `notes: ${notes}\n`));
  t.equal(result.provider, undefined);
  t.match(result.problems, [{ file: 'notes.yaml', message: /YAML .*larger than the limit of \d+ (KiB|MiB)/ }]);
});

t.test('texts have a length limit', async (t) => {
  const result = loadProvider('notes.yaml', providerYaml('notes', 'notes.example', `notes: ${'n'.repeat(20_000)}\n`));
  t.equal(result.provider, undefined);
  t.match(result.problems, [{ message: /notes.*longer than \d+ characters/ }]);
});

t.test('a domain list longer than the limit is refused', async (t) => {
  const domains = Array.from({ length: 11 }, (_, i) => `  - d${i}.example`).join('\n');
  const text = providerYaml('many', 'x.example').replace('domains: [x.example]', `domains:\n${domains}`);
  t.ok(loadProvider('many.yaml', text, { maxDomains: 11 }).provider, 'at the limit');
  t.match(loadProvider('many.yaml', text, { maxDomains: 10 }).problems, [{ message: /11 domains; at most 10/ }]);
});

t.test('a 7 MB text and a 50 MB file dropped into the folder do not take the service down', async (t) => {
  const example = readFileSync(join(PROJECT_ROOT, 'providers', 'example.yaml'), 'utf8');
  const dir = providerFolder({ 'example.yaml': example });
  const child = spawn(process.execPath, [...productionNodeFlags(), BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--providers', dir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  writeFileSync(join(dir, 'notes.yaml'), providerYaml('notes', 'notes.example', `notes: ${'n'.repeat(7 * 1000 * 1000)}\n`));
  writeFileSync(join(dir, 'padded.yaml'), `${providerYaml('padded', 'padded.example')}${'#'.repeat(1023)}\n`.padEnd(50 * MiB, `${'#'.repeat(1023)}\n`));
  let exited = false;
  child.on('exit', () => (exited = true));
  await new Promise((r) => setTimeout(r, 8000));
  t.notOk(exited, `the process is still running${exited ? `: ${output.slice(-500)}` : ''}`);
  if (exited) return;
  t.equal((await request(`${url}/v1.1/example.com`)).status, 200, 'the good provider is still served');
  const ready = JSON.parse((await request(`${url}/readyz`)).text);
  t.equal(ready.catalog.skippedFiles, 2, 'both files are skipped');
});
