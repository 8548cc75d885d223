/**
 * The Autodiscover request reader's shortcut for the shape clients send
 * agrees with the full reading (validator and parser) on every body it
 * takes, and leaves every other body to it.
 */
import fc from 'fast-check';
import t from 'tap';
import { parseOutlookRequest, readCanonicalRequest, readRequestInFull } from '../src/formats/outlook.js';

const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
const SCHEMA_2006A = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const OUTLOOK_2016 = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>${SCHEMA_2006A}</AcceptableResponseSchema></Request></Autodiscover>`;

t.test('the request Outlook sends is read by the shortcut', async (t) => {
  t.same(readCanonicalRequest(OUTLOOK_2016), { ok: true, address: 'alice@example.com' });
  const pretty = `<?xml version="1.0" encoding="utf-8"?>\r\n<Autodiscover xmlns="${REQUEST_NS}">\r\n  <Request>\r\n    <EMailAddress>alice@example.com</EMailAddress>\r\n    <AcceptableResponseSchema>${SCHEMA_2006A}</AcceptableResponseSchema>\r\n  </Request>\r\n</Autodiscover>\r\n`;
  t.same(readCanonicalRequest(pretty), { ok: true, address: 'alice@example.com' }, 'indented with CRLF, as older Outlook versions send it');
});

t.test('other shapes are left to the full reading', async (t) => {
  for (const body of [
    OUTLOOK_2016.replace('alice@example.com', 'a&amp;b@example.com'),
    OUTLOOK_2016.replace('<Request>', '<Request><LegacyDN>/o=x</LegacyDN>'),
    OUTLOOK_2016.replace('<Autodiscover xmlns=', '<a:Autodiscover xmlns:a=').replace('</Autodiscover>', '</a:Autodiscover>'),
    OUTLOOK_2016.replace('<Request>', '<!-- c --><Request>'),
    OUTLOOK_2016.replace('<Request>', '<Request>\u00a0'),
    `<!DOCTYPE x [<!ENTITY a "b">]>${OUTLOOK_2016}`,
    ` ${OUTLOOK_2016}`,
  ]) {
    t.equal(readCanonicalRequest(body), undefined, body.slice(0, 80));
  }
});

// Bodies near the canonical shape: the whitespace, quotes, declaration,
// namespace and texts vary, including characters XML forbids.
const space = fc.oneof({ arbitrary: fc.constantFrom('', ' ', '\n', '\r\n  ', '\t'), weight: 40 }, { arbitrary: fc.constantFrom('\u00a0', '\u2028'), weight: 1 });
const quote = fc.constantFrom('"', "'");
const text = fc.oneof(
  fc.constantFrom('alice@example.com', ' alice@example.com ', '', '   ', 'x\u0000y@example.com', 'a"b@example.com', "o'neil@example.com", 'ü@bücher.example', '\ufeffa@example.com', 'a]]>b'),
  fc.string({ maxLength: 30 }),
);
const namespace = fc.constantFrom(REQUEST_NS, REQUEST_NS.replace('http:', 'https:'), REQUEST_NS.toUpperCase(), ` ${REQUEST_NS} `, 'urn:other', '');
const schema = fc.oneof(fc.constantFrom(SCHEMA_2006A, ` ${SCHEMA_2006A}\n`, SCHEMA_2006A.replace('http:', 'https:'), 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006', ''), text);
const declaration = fc.oneof(
  fc.constant(''),
  fc.tuple(quote, quote, fc.constantFrom('utf-8', 'UTF-8', 'us-ascii', '1x'), fc.boolean(), space).map(([q1, q2, encoding, withEncoding, s]) => `<?xml version=${q1}1.0${q1}${withEncoding ? ` encoding=${q2}${encoding}${q2}` : ''}${s}?>`),
  fc.constantFrom('<?xml version="1.1"?>', '<?xml?>', '<?xml version="1.0" standalone="yes"?>'),
);
const body = fc
  .tuple(declaration, fc.array(space, { minLength: 10, maxLength: 10 }), quote, namespace, text, schema)
  .map(([decl, s, q, ns, address, responseSchema]) =>
    `${decl ? '' : s[0]}${decl}${s[1]}<Autodiscover xmlns=${q}${ns}${q}${s[2]}>${s[3]}<Request>${s[4]}<EMailAddress>${address}</EMailAddress>${s[5]}<AcceptableResponseSchema>${responseSchema}</AcceptableResponseSchema>${s[6]}</Request>${s[7]}</Autodiscover>${s[8]}`,
  );

t.test('on every body the shortcut takes, both readings agree', async (t) => {
  let taken = 0;
  let checked = 0;
  const disagreements: unknown[] = [];
  fc.assert(
    fc.property(body, (b) => {
      checked++;
      const quick = readCanonicalRequest(b);
      if (quick === undefined) return true;
      taken++;
      const full = readRequestInFull(b);
      if (JSON.stringify(quick) !== JSON.stringify(full)) disagreements.push({ body: b, quick, full });
      return true;
    }),
    { numRuns: 5000, seed: 424242 },
  );
  t.same(disagreements.slice(0, 3), [], 'no body is read differently');
  t.ok(taken > checked / 4, `the shortcut took ${taken} of ${checked} generated bodies`);
  t.same(parseOutlookRequest(OUTLOOK_2016), readRequestInFull(OUTLOOK_2016), 'the reader in service gives the same reading');
});
