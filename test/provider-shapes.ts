/**
 * The providers a catalog serves are fast objects of one shape in V8. Every
 * request reads several of their properties: a provider in dictionary mode
 * turns each read into a hash lookup in a table of its own, and providers with
 * a hidden class each make those reads megamorphic misses for a hoster's
 * 2,000 of them (catalog/store.ts, withPackedDomains). V8's own test
 * functions say which it is, in a child with --allow-natives-syntax and this
 * test's loader.
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
  // Thirty providers with listed domains, thirty with a domain file: one hidden class for each kind.
  for (let i = 0; i < 30; i++) {
    writeFileSync(join(dir, `l${i}.yaml`), provider(`l${i}`, `domains: [l${i}.example, l${i}b.example]`));
    writeFileSync(join(dir, `f${i}.yaml`), provider(`f${i}`, `domainsFile: f${i}.txt`));
    writeFileSync(join(dir, `f${i}.txt`), `f${i}.example\nf${i}b.example\n`);
  }
  const store = pathToFileURL(join(import.meta.dirname, '..', 'src', 'catalog', 'store.ts')).href;
  const script = join(dir, 'shapes.mjs');
  writeFileSync(script, `
    const { CatalogStore } = await import(${JSON.stringify(store)});
    const fast = new Function('o', 'return %HasFastProperties(o)');
    const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
    const store = await CatalogStore.open([${JSON.stringify(dir)}]);
    const providers = store.current().providers;
    const kinds = (prefix) => {
      const of = providers.filter((p) => p.id.startsWith(prefix));
      const maps = [];
      for (const p of of) if (!maps.some((m) => sameMap(m, p))) maps.push(p);
      return { count: of.length, slow: of.filter((p) => !fast(p)).length, maps: maps.length };
    };
    const c = store.current().byId('f3');
    console.log(JSON.stringify({ listed: kinds('l'), files: kinds('f'), domains: [store.current().byId('l3').domains, c.domains, { ...c }.domains] }));
    store.close();
  `);
  const child = spawnSync(process.execPath, [...process.execArgv, '--allow-natives-syntax', script], { encoding: 'utf8', timeout: 60_000 });
  t.equal(child.status, 0, child.stderr);
  const seen = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { listed: unknown; files: unknown; domains: string[][] };
  t.same(seen.listed, { count: 30, slow: 0, maps: 1 }, 'listed domains: no provider in dictionary mode, one hidden class');
  t.same(seen.files, { count: 30, slow: 0, maps: 1 }, 'a domain file: no provider in dictionary mode, one hidden class');
  t.same(seen.domains, [['l3.example', 'l3b.example'], ['f3.example', 'f3b.example'], ['f3.example', 'f3b.example']], 'domains from the packed index, also in a copy');
});
