/**
 * Providers whose documents differ only in their own texts (host names,
 * display names: a hoster's resellers) share one skeleton of encoded parts,
 * and each document still carries exactly its own texts; text a builder
 * escapes stays in the document as the builder wrote it.
 */
import t from 'tap';
import { loadProvider } from '../src/catalog/load.js';
import type { Provider } from '../src/catalog/model.js';
import { HoleMarkers, PreparedDocument, skeletonsKept } from '../src/formats/prepared.js';
import { thunderbirdResponse } from '../src/formats/thunderbird.js';
import { parseAddress } from '../src/mailbox.js';

function reseller(n: number, name = `Reseller ${n}`): Provider {
  const yaml = `id: r${n}\nname: ${JSON.stringify(name)}\ndomains: [kunde${n}.example]\nincoming:\n  - { type: imap, host: imap.r${n}.example }\noutgoing:\n  - { host: smtp.r${n}.example }\n`;
  const { provider } = loadProvider(`r${n}.yaml`, yaml);
  if (!provider) throw new Error('the fixture does not load');
  return provider;
}

const alice = (n: number) => {
  const parsed = parseAddress(`alice@kunde${n}.example`);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};

t.test('a hundred resellers differing in host and display names share one skeleton, each document its own texts', async (t) => {
  const before = skeletonsKept();
  const bodies = Array.from({ length: 100 }, (_, n) => thunderbirdResponse(reseller(1000 + n), `kunde${1000 + n}.example`, alice(1000 + n)).body.toString());
  t.equal(skeletonsKept() - before, 1, 'one skeleton for all of them');
  for (const [i, body] of bodies.entries()) {
    const n = 1000 + i;
    t.match(body, `<hostname>imap.r${n}.example</hostname>`);
    t.match(body, `<hostname>smtp.r${n}.example</hostname>`);
    t.match(body, `<displayName>Reseller ${n}</displayName>`);
    t.match(body, `<username>alice@kunde${n}.example</username>`);
    t.notMatch(body, new RegExp(`r${n === 1000 ? 1001 : 1000}\\.example|Reseller ${n === 1000 ? 1001 : 1000}<`), 'no other reseller text');
  }
  // The same document as when the own texts were part of the parts: only the names differ.
  t.equal(bodies[1], bodies[0]!.replaceAll('1000', '1001'));
});

t.test('an own text that a builder escapes stays as the builder wrote it', async (t) => {
  const holes = new HoleMarkers();
  for (const text of ['Müller & Söhne', 'a <b>', '"quoted"', "it's", 'back\\slash', 'tab\there', 'Grüße', '']) t.equal(holes.own(text), text, JSON.stringify(text));
  t.equal(holes.own(undefined), undefined);
  t.not(holes.own('imap.example.net'), 'imap.example.net', 'plain ASCII becomes a hole');
  const body = thunderbirdResponse(reseller(2000, 'Müller & Söhne <Mail>'), 'kunde2000.example').body.toString();
  t.match(body, '<displayName>Müller &amp; Söhne &lt;Mail&gt;</displayName>');
  t.match(body, '<hostname>imap.r2000.example</hostname>');
});

t.test('two documents with the same skeleton keep their own validators', async (t) => {
  const [a, b] = [1, 2].map((n) => {
    const holes = new HoleMarkers();
    return new PreparedDocument(`<host>${holes.own(`imap.p${n}.example`)}</host><d>${holes.domain('%EMAILDOMAIN%')}</d>`, holes);
  });
  t.not(a!.etag('kunde.example', undefined), b!.etag('kunde.example', undefined));
  t.equal(a!.render({ domain: 'kunde.example', mailbox: undefined }).toString(), '<host>imap.p1.example</host><d>kunde.example</d>');
  t.equal(b!.render({ domain: 'kunde.example', mailbox: undefined }).toString(), '<host>imap.p2.example</host><d>kunde.example</d>');
  const constant = new HoleMarkers();
  const fixed = new PreparedDocument(`<host>${constant.own('imap.example.net')}</host>`, constant);
  t.equal(fixed.render({ domain: 'x.example', mailbox: undefined }).toString(), '<host>imap.example.net</host>', 'only own texts: the same bytes every request');
  t.equal(fixed.etag('x.example', undefined), fixed.etag('y.example', undefined), 'and one validator');
});

t.test('a document without own texts shares with nobody and is kept in no table', async (t) => {
  const before = skeletonsKept();
  for (let i = 0; i < 50; i++) {
    const holes = new HoleMarkers();
    new PreparedDocument(`<page n="${i}">${holes.domain('%EMAILDOMAIN%')} Müller &amp; Söhne</page>`, holes);
  }
  t.equal(skeletonsKept(), before);
});
