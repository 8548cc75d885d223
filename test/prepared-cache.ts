/**
 * Prepared documents are built once per provider and variant, serve every
 * domain of the provider, and a provider keeps a bounded number of them.
 */
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import { capabilities } from '../src/clients/capabilities.js';
import { renderApple } from '../src/formats/apple.js';
import { HoleMarkers, PreparedCache, PreparedDocument } from '../src/formats/prepared.js';
import { renderOutlook } from '../src/formats/outlook.js';
import { thunderbirdResponse } from '../src/formats/thunderbird.js';
import { parseAddress, type Mailbox } from '../src/mailbox.js';

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

t.test('a provider keeps its most recently used variants, a bounded number', async (t) => {
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

function mailbox(address: string): Mailbox {
  const parsed = parseAddress(address);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

t.test('domain holes are filled with or without a mailbox; user names only with one', async (t) => {
  const holes = new HoleMarkers();
  const built = `<d id="${holes.domain('%EMAILDOMAIN%')}"><host>${holes.domain('mail.%EMAILDOMAIN%')}</host><fixed>${holes.domain('imap.example.net')}</fixed><user>${holes.username('%EMAILLOCALPART%')}</user><v>${holes.value('profileUrl')}</v><m>${holes.value('markup')}</m></d>`;
  const document = new PreparedDocument(built, holes);
  t.equal(document.render({ domain: 'a.example', mailbox: undefined }).toString(), '<d id="a.example"><host>mail.a.example</host><fixed>imap.example.net</fixed><user>%EMAILLOCALPART%</user><v></v><m></m></d>', 'by domain: the client fills the user name');
  t.equal(
    document.render({ domain: 'b.example', mailbox: mailbox('x&y@b.example'), values: { profileUrl: 'https://a/?b=1&c=<2>', markup: '<svg/>' } }).toString(),
    '<d id="b.example"><host>mail.b.example</host><fixed>imap.example.net</fixed><user>x&amp;y</user><v>https://a/?b=1&amp;c=&lt;2&gt;</v><m><svg/></m></d>',
    'with a mailbox and values: escaped, markup as it is',
  );
  const tags = [document.etag('a.example', undefined), document.etag('b.example', undefined), document.etag('b.example', mailbox('x@b.example')), document.etag('b.example', mailbox('z@b.example'))];
  t.equal(new Set(tags).size, 4, 'every rendering its own validator');
  t.equal(document.etag('a.example', undefined), tags[0], 'the same rendering, the same validator');
});

t.test('one prepared document per format serves every domain of a hoster', async (t) => {
  const { provider } = loadProvider('hoster.yaml', 'id: hoster\nname: Hoster\ndomains: [one.example, two.example]\nusername: "%EMAILLOCALPART%"\nincoming:\n  - { type: imap, host: "mail.%EMAILDOMAIN%" }\noutgoing:\n  - { host: "smtp.%EMAILDOMAIN%" }\n');
  if (!provider) throw new Error('the fixture does not load');
  const one = thunderbirdResponse(provider, 'one.example', mailbox('a@one.example')).body.toString();
  const two = thunderbirdResponse(provider, 'two.example').body.toString();
  t.match(one, '<emailProvider id="one.example">');
  t.match(one, '<hostname>mail.one.example</hostname>');
  t.match(two, '<domain>two.example</domain>');
  t.match(two, '<hostname>smtp.two.example</hostname>');
  t.match(two, '<username>%EMAILLOCALPART%</username>', 'no address: the template for Thunderbird to fill');
  t.notMatch(two, 'one.example', 'nothing of the domain asked for before');
  t.match(renderOutlook(provider, 'two.example', mailbox('b@two.example')).toString(), '<Server>mail.two.example</Server>');
  t.notMatch(renderOutlook(provider, 'one.example').toString(), 'two.example');
  const choice = capabilities(provider).apple;
  if (!choice.ok) throw new Error('no Apple servers');
  for (const address of ['a@one.example', 'b@two.example', 'c@one.example']) {
    const box = mailbox(address);
    const profile = renderApple(provider, box, choice.servers, { identifierPrefix: 'org.example.test' }).toString();
    t.match(profile, `<string>mail.${box.domain}</string>`, `${address}: the host of its own domain`);
    t.match(profile, `<string>${box.localPart}</string>`, `${address}: its own user name`);
    t.notMatch(profile, box.domain === 'one.example' ? 'two.example' : 'one.example', `${address}: nothing of the other domain`);
  }
});
