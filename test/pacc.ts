/**
 * PACC (draft-ietf-mailmaint-pacc-03 wire format, as automx 3.0 implements
 * it): the document's shape and bytes, the subset rule (every bundled
 * provider gets a document or a 404 naming why), the digest, and the
 * TXT-record reader.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { buildCatalog, loadCatalog } from '../src/catalog/catalog.js';
import { capabilities } from '../src/clients/capabilities.js';
import { paccDigest, paccTxtValue, parsePaccTxt, renderPacc } from '../src/formats/pacc.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { request, startServer } from './helpers/server.js';

const PATH = '/.well-known/user-agent-configuration.json';
const bundled = await loadCatalog([BUNDLED_PROVIDERS_DIR]);

/** -03's shape (automx's renderer): `submit`, not -02's `smtp` that pacc-schema/example-section-4.1.json still has. */
const EXAMPLE_COM = {
  protocols: {
    imap: { host: 'imap.example.com' },
    pop3: { host: 'pop.example.com' },
    submit: { host: 'smtp.example.com' },
    caldav: { url: 'https://dav.example.com/calendars/' },
    carddav: { url: 'https://dav.example.com/contacts/' },
  },
  authentication: { password: true },
  info: { provider: { name: 'Example Mail', shortName: 'Example' }, help: { documentation: 'https://www.example.com/help/mail-setup' } },
};

t.test('ua-auto-config.<domain>: the -03 document, application/json, deterministic bytes', async (t) => {
  const { url } = await startServer(t);
  const first = await request(`${url}${PATH}`, { host: 'ua-auto-config.example.com' });
  t.equal(first.status, 200, first.text);
  t.equal(first.headers['content-type'], 'application/json');
  t.equal(first.headers['content-encoding'], undefined, 'never compressed: the digest covers these bytes');
  t.strictSame(JSON.parse(first.text), EXAMPLE_COM);
  t.equal(first.text, JSON.stringify(EXAMPLE_COM), 'compact JSON in this member order');
  t.notOk('smtp' in JSON.parse(first.text).protocols, 'no -02 smtp key');
  const again = await request(`${url}${PATH}`, { host: 'UA-AUTO-CONFIG.example.com:443' });
  t.same(again.body, first.body, 'the same bytes for the same domain');
  const other = await request(`${url}${PATH}`, { host: 'ua-auto-config.example.net' });
  t.same(other.body, first.body, 'the provider\'s other domain: the same document (no domain in its hosts)');
  const head = await request(`${url}${PATH}`, { method: 'HEAD', host: 'ua-auto-config.example.com' });
  t.equal(head.status, 200);
  t.equal(head.headers['content-length'], String(first.body.length));
  const unknown = await request(`${url}${PATH}`, { host: 'ua-auto-config.unknown.example' });
  t.equal(unknown.status, 404);
  t.equal(unknown.text, 'no mail provider is configured here for unknown.example\n');
});

t.test('every bundled provider: a document, or 404 with its reason in one line', async (t) => {
  const { url } = await startServer(t);
  const expected: Record<string, RegExp | 'document'> = {
    example: 'document',
    'hoster-example': /^PACC \(draft-ietf-mailmaint-pacc-03\) describes only .*; no incoming server fits: IMAP secure-imap\.hoster\.example:993 \(the log-in name is not the address\), IMAP secure-imap\.hoster\.example:143 \(STARTTLS\), POP3 secure-pop\.hoster\.example:995 \(the log-in name is not the address\)\n$/,
  };
  t.same(bundled.providers.map((p) => p.id).sort(), Object.keys(expected).sort(), 'every bundled provider has an expectation here');
  for (const provider of bundled.providers) {
    const response = await request(`${url}${PATH}`, { host: `ua-auto-config.${provider.domains[0]}` });
    const want = expected[provider.id]!;
    if (want === 'document') {
      t.equal(response.status, 200, provider.id);
    } else {
      t.equal(response.status, 404, provider.id);
      t.match(response.text, want, `${provider.id}: why`);
      t.equal(response.text.split('\n').length, 2, 'one line');
    }
  }
});

const provider = (id: string, body: string) => buildCatalog([{ file: `${id}.yaml`, text: `id: ${id}\nname: ${id}\ndomains: [${id}.example]\n${body}\n` }]).providers[0]!;

t.test('the subset: the most preferred server of each protocol that PACC can say', async (t) => {
  const mixed = provider('mixed', [
    'incoming:',
    '  - { type: imap, host: starttls.mixed.example, socketType: starttls }',
    '  - { type: imap, host: odd-port.mixed.example, port: 10993 }',
    '  - { type: imap, host: imap.mixed.example }',
    '  - { type: imap, host: second.mixed.example }',
    'outgoing:',
    '  - { host: smtp.mixed.example, socketType: starttls }',
    '  - { host: submit.%EMAILDOMAIN% }',
  ].join('\n'));
  const document = renderPacc(mixed, 'mixed.example');
  t.ok(document.ok);
  if (!document.ok) return;
  t.strictSame(JSON.parse(document.body.toString()).protocols, { imap: { host: 'imap.mixed.example' }, submit: { host: 'submit.mixed.example' } }, 'no POP3, STARTTLS and port 10993 left out, %EMAILDOMAIN% filled');

  const oauth = provider('oauth', 'authentication: oauth2\nincoming:\n  - { type: imap, host: imap.oauth.example }\noutgoing:\n  - { host: smtp.oauth.example }');
  t.match(capabilities(oauth).pacc, { ok: false, reason: /no incoming server fits: IMAP imap\.oauth\.example:993 \(no password log-in\)/ });
  const localPart = provider('local', 'username: "%EMAILLOCALPART%"\nincoming:\n  - { type: pop3, host: pop.local.example }\noutgoing:\n  - { host: smtp.local.example }');
  t.match(capabilities(localPart).pacc, { ok: false, reason: /the log-in name is not the address/ });
  const noSubmit = provider('nosubmit', 'incoming:\n  - { type: imap, host: imap.nosubmit.example }\noutgoing:\n  - { host: smtp.nosubmit.example, socketType: starttls }');
  t.match(capabilities(noSubmit).pacc, { ok: false, reason: /no outgoing server fits: SMTP smtp\.nosubmit\.example:587 \(STARTTLS\)$/ });
  const davLogin = provider('davlogin', 'incoming:\n  - { type: imap, host: imap.davlogin.example }\noutgoing:\n  - { host: smtp.davlogin.example }\ncaldav: { url: "https://dav.davlogin.example/cal/", username: "%EMAILLOCALPART%" }\ncarddav: { url: "https://dav.davlogin.example:8443/card/" }');
  const davDocument = renderPacc(davLogin, 'davlogin.example');
  t.ok(davDocument.ok && !/dav/.test(Object.keys(JSON.parse(davDocument.body.toString()).protocols).join()), 'a DAV service with another log-in name or an explicit port is left out');
});

t.test('the digest: standard base64 of SHA-256 of the body; it changes when, and only when, the document does', async (t) => {
  const base = 'incoming:\n  - { type: imap, host: imap.d.example }\noutgoing:\n  - { host: smtp.d.example }';
  const digestOf = (body: string, domain = 'd.example') => {
    const result = renderPacc(provider('d', body), domain);
    if (!result.ok) throw new Error(result.reason);
    return { digest: paccDigest(result.body), body: result.body };
  };
  const one = digestOf(base);
  t.equal(one.digest, createHash('sha256').update(one.body).digest('base64'));
  t.match(one.digest, /^[A-Za-z0-9+/]{43}=$/, '44 characters, padded');
  t.equal(paccTxtValue(one.body), `v=UAAC1; a=sha256; d=${one.digest}`);
  t.equal(digestOf(base).digest, one.digest, 'the same provider loaded again: the same digest');
  t.equal(digestOf(`${base}\nnotes: only for people\nwebmail: https://webmail.d.example/\npop3: { leaveMessagesOnServer: true }`).digest, one.digest, 'edits PACC does not carry: unchanged');
  t.equal(digestOf(`${base}\n  - { host: smtp2.d.example, socketType: starttls }`).digest, one.digest, 'a server PACC leaves out: unchanged');
  const changed = [
    ['another IMAP host', base.replace('imap.d.example', 'mail.d.example')],
    ['a CalDAV service', `${base}\ncaldav: { url: "https://dav.d.example/cal/" }`],
    ['a help page', `${base}\ndocumentation:\n  - { url: "https://d.example/help", description: Help }`],
    ['another short name', `${base}\nshortName: D`],
  ];
  for (const [what, body] of changed) t.not(digestOf(body!).digest, one.digest, `${what}: a new digest`);
});

t.test('the TXT reader: -03 §5.2.2.2 as automx parses it', async (t) => {
  const d = 'JRnYE6b1pyLQKxDJZy3U947fDcNAFc+ZBeKKa9SBIFA=';
  t.same(parsePaccTxt(`v=UAAC1; a=sha256; d=${d}`), { ok: true, digest: d });
  t.same(parsePaccTxt(` a=sha256;v=UAAC1 ;x=ignored; d=${d};`), { ok: true, digest: d }, 'order, white space, unknown tags, a trailing ";"');
  t.match(parsePaccTxt(`v=UAAC1; a=sha256; d=${d}; d=${d}`), { ok: false, reason: /twice/ });
  t.match(parsePaccTxt(`v=spf1; a=sha256; d=${d}`), { ok: false });
  t.match(parsePaccTxt('v=UAAC1; a=sha256; d=abc='), { ok: false, reason: /32 bytes/ });
  t.match(parsePaccTxt(`v=UAAC1; a=sha256; d=${d.replace('+', '-')}`), { ok: false }, 'not base64url');
});
