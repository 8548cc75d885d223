/**
 * The providers a catalog serves are fast objects of one shape in V8. Every
 * request reads several of their properties; a provider in dictionary mode
 * turns each read into a hash lookup in a table of its own, and a hoster's
 * 2,000 of them into 2,000 such tables (catalog/store.ts, withPackedDomains).
 * V8's own test functions say which it is, in a child with
 * --allow-natives-syntax and this test's loader.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';

const provider = (id: string, domains: string): string =>
  [`id: ${id}`, `name: Provider ${id}`, domains, 'incoming:', `  - { type: imap, host: imap.${id}.example }`, 'outgoing:', `  - { host: smtp.${id}.example }`, ''].join('\n');

t.test('served providers have fast properties and share one hidden class; their domains are still read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'provider-shapes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), provider('a', 'domains: [a.example, a2.example]'));
  writeFileSync(join(dir, 'b.yaml'), provider('b', 'domains: [b.example]'));
  writeFileSync(join(dir, 'c.yaml'), provider('c', 'domainsFile: c.txt'));
  writeFileSync(join(dir, 'c.txt'), 'c.example\nc2.example\n');
  writeFileSync(join(dir, 'd.yaml'), provider('d', 'domainsFile: d.txt'));
  writeFileSync(join(dir, 'd.txt'), 'd.example\n');
  const store = pathToFileURL(join(import.meta.dirname, '..', 'src', 'catalog', 'store.ts')).href;
  const script = join(dir, 'shapes.mjs');
  writeFileSync(script, `
    const { CatalogStore } = await import(${JSON.stringify(store)});
    const fast = new Function('o', 'return %HasFastProperties(o)');
    const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
    const store = await CatalogStore.open([${JSON.stringify(dir)}]);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => store.current().byId(id));
    console.log(JSON.stringify({
      fast: [a, b, c, d].map(fast),
      sameMap: [sameMap(a, b), sameMap(c, d)],
      domains: [a.domains, c.domains, { ...c }.domains],
    }));
    store.close();
  `);
  const child = spawnSync(process.execPath, [...process.execArgv, '--allow-natives-syntax', script], { encoding: 'utf8', timeout: 60_000 });
  t.equal(child.status, 0, child.stderr);
  const seen = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { fast: boolean[]; sameMap: boolean[]; domains: string[][] };
  t.same(seen.fast, [true, true, true, true], 'no provider in dictionary mode');
  t.same(seen.sameMap, [true, true], 'one hidden class for providers of the same keys (listed domains; a domain file)');
  t.same(seen.domains, [['a.example', 'a2.example'], ['c.example', 'c2.example'], ['c.example', 'c2.example']], 'domains from the packed index, also in a copy');
});
