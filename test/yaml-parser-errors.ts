/** Item 5 of issue 20: every YAML parser error stays with its file (file:line:column), the other files load. */
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { CatalogStore } from '../src/catalog/store.js';
import { providerFolder, providerYaml } from './helpers/providers.js';

const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
const ALIAS_BOMB = `${providerYaml('bomb', 'bomb.example')}${levels.join('\n')}\n`;

t.test('an alias bomb is a problem of its file, with line and column, not an exception', async (t) => {
  let result;
  t.doesNotThrow(() => (result = loadProvider('bomb.yaml', ALIAS_BOMB)));
  t.equal(result!.provider, undefined);
  t.match(result!.problems, [{ file: 'bomb.yaml', severity: 'error', message: /alias/i, line: Number, column: Number }]);
});

t.test('a reload with an alias bomb in the folder still loads the other files', async (t) => {
  const dir = providerFolder({ 'bomb.yaml': ALIAS_BOMB, 'good.yaml': providerYaml('good', 'good.example') });
  const store = await CatalogStore.open([dir]);
  t.teardown(() => store.close());
  t.equal(store.lastReload?.error, undefined, 'the reload as a whole did not fail');
  t.ok(store.current().byDomain('good.example'), 'the good file is served');
  t.match(store.current().rejectedFiles, [/bomb\.yaml$/]);
  t.match(store.current().problems.map((p) => `${p.file}:${p.line}:${p.column}`), [/bomb\.yaml:\d+:\d+$/]);
});
