/** Prepared documents are built once per provider and key, and a provider keeps a bounded number of them. */
import t from 'tap';
import { HoleMarkers, PreparedCache, PreparedDocument } from '../src/formats/prepared.js';

function counting() {
  let built = 0;
  const prepare = (text: string) => () => {
    built++;
    return new PreparedDocument(`<a>${text}</a>`, new HoleMarkers());
  };
  return { prepare, built: () => built };
}

t.test('the same provider and key give the same prepared document', async (t) => {
  const cache = new PreparedCache(4);
  const { prepare, built } = counting();
  const provider = {};
  const first = cache.get(provider, 'example.com', prepare('x'));
  t.equal(cache.get(provider, 'example.com', prepare('x')), first);
  t.equal(built(), 1, 'built once');
  t.not(cache.get({}, 'example.com', prepare('x')), first, 'a reloaded provider (another object) is prepared anew');
});

t.test('a provider keeps its most recently used documents, not every domain ever asked for', async (t) => {
  const cache = new PreparedCache(4);
  const { prepare, built } = counting();
  const provider = {};
  for (const domain of ['a.example', 'b.example', 'c.example', 'd.example']) cache.get(provider, domain, prepare(domain));
  cache.get(provider, 'a.example', prepare('a'));
  cache.get(provider, 'e.example', prepare('e'));
  t.equal(built(), 5);
  cache.get(provider, 'a.example', prepare('a'));
  t.equal(built(), 5, 'a recently used domain stays');
  cache.get(provider, 'b.example', prepare('b'));
  t.equal(built(), 6, 'the least recently used one was let go and is prepared again');
  for (let i = 0; i < 1000; i++) cache.get(provider, `d${i}.example`, prepare(String(i)));
  t.equal(built(), 1006, 'a thousand new domains are each prepared once');
  cache.get(provider, 'a.example', prepare('a'));
  t.equal(built(), 1007, 'and pushed the earlier ones out: the provider keeps four');
});
