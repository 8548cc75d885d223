import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AUTODISCOVER_SCHEMA_DIR, sharedMissing } from './helpers/shared.js';
import { parseXml } from './helpers/xml.js';
import { request, startServer } from './helpers/server.js';

const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
const SCHEMA_2006A = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const MOBILESYNC = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';

function pox(inner: string, namespace = REQUEST_NS): string {
  return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="${namespace}"><Request>${inner}</Request></Autodiscover>`;
}
const forAddress = (address: string, schema = SCHEMA_2006A) =>
  pox(`<EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema>`);

const work = mkdtempSync(join(tmpdir(), 'autodiscover-'));
let counter = 0;
const SCHEMAS_MISSING = sharedMissing('autodiscover-schema');
if (SCHEMAS_MISSING) t.comment(SCHEMAS_MISSING);

/** xmllint --schema; returns its stderr when invalid, '' when valid (and '' when the schemas are not here: see above). */
function xmllint(xml: string, schema: string): string {
  if (SCHEMAS_MISSING) return '';
  const file = join(work, `r${counter++}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', join(AUTODISCOVER_SCHEMA_DIR, schema), file], { stdio: 'pipe' });
    return '';
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error);
  }
}

const post = (url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' }) =>
  request(`${url}/autodiscover/autodiscover.xml`, { method: 'POST', body, headers });

t.test('the bundled example: exactly the TLS pairs Outlook needs, valid against the schema', async (t) => {
  const { url } = await startServer(t);
  const response = await post(url, forAddress('alice@example.com'));
  t.equal(response.status, 200);
  t.equal(response.headers['content-type'], 'application/xml; charset=utf-8');
  t.equal(xmllint(response.text, 'OutlookPoxResponse.xsd'), '', 'OutlookPoxResponse.xsd');
  const doc = parseXml(response.text).Autodiscover;
  t.equal(doc['@xmlns'], 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
  t.equal(doc.Response['@xmlns'], SCHEMA_2006A);
  const account = doc.Response.Account;
  t.equal(account.AccountType, 'email');
  t.equal(account.Action, 'settings');
  const rows = account.Protocol.map((p: any) => [p.Type, p.Server, p.Port, p.SSL, p.Encryption, p.SPA, p.AuthRequired, p.DomainRequired, p.LoginName, p.UsePOPAuth, p.SMTPLast]);
  t.same(rows, [
    ['IMAP', 'imap.example.com', '993', 'on', 'SSL', 'off', 'on', 'off', 'alice@example.com', undefined, undefined],
    ['POP3', 'pop.example.com', '995', 'on', 'SSL', 'off', 'on', 'off', 'alice@example.com', undefined, undefined],
    ['SMTP', 'smtp.example.com', '465', 'on', 'SSL', 'off', 'on', 'off', 'alice@example.com', 'on', 'off'],
    ['SMTP', 'smtp.example.com', '587', 'off', 'TLS', 'off', 'on', 'off', 'alice@example.com', 'on', 'off'],
  ]);
  t.notMatch(response.text, /<(\w+)><\/\1>|<\w+\/>/, 'no empty values');
});

t.test('path casings, any host, GET and POST, odd content types', async (t) => {
  const { url } = await startServer(t);
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml', '/AutoDiscover/AutoDiscover.xml', '/AUTODISCOVER/AUTODISCOVER.XML']) {
    for (const contentType of ['text/xml; charset=utf-8', 'application/xml', 'application/octet-stream', 'application/json', undefined]) {
      const response = await request(url + path, {
        method: 'POST',
        host: 'autodiscover.example.com',
        body: forAddress('alice@example.com'),
        headers: contentType ? { 'content-type': contentType } : {},
      });
      t.equal(response.status, 200, `${path} ${contentType ?? '(no content type)'}`);
    }
  }
  const get = await request(`${url}/Autodiscover/Autodiscover.xml`, { host: 'autodiscover.example.net' });
  t.equal(get.status, 200, 'GET by Host');
  t.equal(xmllint(get.text, 'OutlookPoxResponse.xsd'), '');
  t.notMatch(get.text, /LoginName/, 'no address, no LoginName: Outlook asks');
  const getAddress = await request(`${url}/autodiscover/autodiscover.xml?Email=bob%40example.net`);
  t.match(getAddress.text, '<LoginName>bob@example.net</LoginName>');
});

t.test('escaped addresses are decoded: a&b@example.com', async (t) => {
  const { url } = await startServer(t);
  const response = await post(url, forAddress('a&amp;b&#64;example.com'));
  t.equal(response.status, 200);
  t.match(response.text, '<LoginName>a&amp;b@example.com</LoginName>');
});

t.test('LegacyDN wins over EMailAddress; https namespace spelling accepted', async (t) => {
  const { url } = await startServer(t);
  const both = await post(url, pox(`<EMailAddress>alice@example.com</EMailAddress><LegacyDN>bob@example.net</LegacyDN><AcceptableResponseSchema>${SCHEMA_2006A}</AcceptableResponseSchema>`));
  t.match(both.text, '<LoginName>bob@example.net</LoginName>');
  const https = await post(url, pox(`<EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>${SCHEMA_2006A.replace('http:', 'https:')}</AcceptableResponseSchema>`, REQUEST_NS.replace('http:', 'https:')));
  t.equal(https.status, 200);
});

t.test('not derivable user names: no LoginName; the hoster uses STARTTLS first', async (t) => {
  const { url } = await startServer(t);
  const response = await post(url, forAddress('kunde@bücher.example'));
  t.equal(response.status, 200);
  t.equal(xmllint(response.text, 'OutlookPoxResponse.xsd'), '');
  t.notMatch(response.text, /LoginName/);
  const smtp = parseXml(response.text).Autodiscover.Response.Account.Protocol.filter((p: any) => p.Type === 'SMTP');
  t.same(smtp.map((p: any) => [p.Port, p.SSL, p.Encryption]), [['587', 'off', 'TLS'], ['465', 'on', 'SSL']]);
});

const THUNDERBIRD_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Thunderbird/153.8.0';
const OUTLOOK_UA = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)';

const RESTRICTED = `id: restricted
name: Restricted
domains: [cram.example]
incoming:
  - { type: imap, host: imap.cram.example, port: 993 }
  - { type: imap, host: imap.cram.example, port: 10143, socketType: starttls }
outgoing:
  - { host: smtp.cram.example, port: 587, socketType: starttls, authentication: password-encrypted }
`;

t.test('Thunderbird gets STARTTLS it reads as STARTTLS; Outlook\'s bytes stay as they were', async (t) => {
  const { url } = await startServer(t);
  const asOutlook = await post(url, forAddress('kunde@bücher.example'), { 'content-type': 'text/xml', 'user-agent': OUTLOOK_UA });
  const asNobody = await post(url, forAddress('kunde@bücher.example'));
  t.ok(asOutlook.body.equals(asNobody.body), 'Outlook (and any other client) gets the documented pair');
  const asThunderbird = await post(url, forAddress('kunde@bücher.example'), { 'content-type': 'text/xml; charset=utf-8', 'user-agent': THUNDERBIRD_UA });
  t.equal(asThunderbird.status, 200);
  // (The hoster's log-in name is a hint in words for Thunderbird: its language counts too.)
  for (const response of [asOutlook, asThunderbird]) t.equal(response.headers.vary, 'User-Agent, Accept-Language', 'caches keep the variants apart');
  t.notMatch(asOutlook.text, 'LoginName', 'Outlook asks for the customer number itself');
  t.match(asThunderbird.text, '<LoginName>Enter your user name</LoginName>', 'Thunderbird would take the address: it is told in words');
  const protocols = (text: string) => parseXml(text).Autodiscover.Response.Account.Protocol.map((p: any) => `${p.Type} ${p.Port} SSL=${p.SSL} ${p.Encryption}`);
  t.same(protocols(asOutlook.text).filter((p: string) => p.startsWith('SMTP')), ['SMTP 587 SSL=off TLS', 'SMTP 465 SSL=on SSL']);
  // Thunderbird reads SSL=off as no TLS at all, and otherwise 587 as STARTTLS.
  t.same(protocols(asThunderbird.text).filter((p: string) => p.startsWith('SMTP')), ['SMTP 587 SSL=on TLS', 'SMTP 465 SSL=on SSL']);
  t.notMatch(asThunderbird.text, '<SSL>off</SSL>', 'nothing Thunderbird would take for plain text');
  t.equal(xmllint(asThunderbird.text, 'OutlookPoxResponse.xsd'), '');
});

t.test('a client that can use no server of one direction is refused, never half configured', async (t) => {
  const { url } = await startServer(t, { sources: [{ file: 'restricted.yaml', text: RESTRICTED }] });
  const outlook = await post(url, forAddress('alice@cram.example'), { 'content-type': 'text/xml', 'user-agent': OUTLOOK_UA });
  t.equal(outlook.status, 404, 'Outlook cannot do CRAM-MD5: an error document, so it offers manual set-up');
  t.not(outlook.status, 401);
  t.equal(Number(parseXml(outlook.text).Autodiscover.Response.Error.ErrorCode), 501);
  t.match(outlook.headers['x-autodiscover-reason'], /no outgoing server Outlook can use/);
  const thunderbird = await post(url, forAddress('alice@cram.example'), { 'content-type': 'text/xml', 'user-agent': THUNDERBIRD_UA });
  t.equal(thunderbird.status, 200, 'Thunderbird can: SPA on is its "secure password" (CRAM-MD5)');
  const protocols = parseXml(thunderbird.text).Autodiscover.Response.Account.Protocol;
  t.same(protocols.map((p: any) => `${p.Type} ${p.Port} SPA=${p.SPA}`), ['IMAP 993 SPA=off', 'SMTP 587 SPA=on'], 'STARTTLS on 10143 left out: Thunderbird would read that port as implicit TLS');
});

t.test('errors: documents in the root namespace (a 4xx status, but 200 for another schema), valid against the official schema', async (t) => {
  const { url } = await startServer(t);
  const cases: [string, string | Buffer, number, number][] = [
    ['unknown domain', forAddress('alice@unknown.example'), 404, 500],
    ['malformed XML', '<Autodiscover><Request>', 400, 600],
    ['not XML at all', 'hello', 400, 600],
    ['empty body', '', 400, 600],
    ['wrong namespace', forAddress('alice@example.com').replace(REQUEST_NS, 'urn:other'), 400, 600],
    ['no address', pox(`<AcceptableResponseSchema>${SCHEMA_2006A}</AcceptableResponseSchema>`), 400, 600],
    ['invalid address', forAddress('not-an-address'), 404, 500],
    // New Outlook probes with ActiveSync's schema; Error 601 at 200 makes it go on (Stalwart answers so).
    ['ActiveSync mobilesync schema', forAddress('alice@example.com', MOBILESYNC), 200, 601],
    ['other schema', forAddress('alice@example.com', 'urn:whatever'), 200, 601],
  ];
  for (const [name, body, status, code] of cases) {
    const response = await post(url, body);
    t.equal(response.status, status, `${name}: HTTP status`);
    t.not(response.status, 401, 'never 401');
    t.equal(response.headers['content-type'], 'application/xml; charset=utf-8');
    const error = parseXml(response.text).Autodiscover.Response.Error;
    t.equal(Number(error.ErrorCode), code, `${name}: error code`);
    t.match(error['@Time'], /^\d\d:\d\d:\d\d\.\d{7}$/);
    t.match(error['@Id'], /^\d+$/);
    t.equal(xmllint(response.text, 'AutodiscoverResponse.xsd'), '', `${name}: official schema`);
    t.equal(xmllint(response.text, 'OutlookPoxResponse.xsd'), '', `${name}: derived schema`);
    t.notMatch(response.text, /mobilesync|urn:/, 'the client namespace is never echoed');
  }
});

t.test('attack bodies get a fast 4xx and the server keeps answering', async (t) => {
  const { url } = await startServer(t);
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>&lol3;</EMailAddress></Request></Autodiscover>`;
  const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>`;
  const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
  const deep = `<Autodiscover xmlns="${REQUEST_NS}">${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</Autodiscover>`;
  const deepUnderLimit = `<Autodiscover xmlns="${REQUEST_NS}">${'<a>'.repeat(1000)}${'</a>'.repeat(1000)}</Autodiscover>`;
  const proto = pox(`<EMailAddress>alice@example.com</EMailAddress><__proto__><polluted>yes</polluted></__proto__><constructor>x</constructor><AcceptableResponseSchema>${SCHEMA_2006A}</AcceptableResponseSchema>`);
  const numericRefs = pox(`<EMailAddress>${'&#97;'.repeat(1500)}@example.com</EMailAddress>`);
  for (const [name, body, status] of [['billion laughs', laughs, 400], ['external entity', xxe, 400], ['10 MiB body', huge, 413], ['10 000-deep nesting', deep, 413], ['1 000-deep nesting', deepUnderLimit, 400], ['numeric references', numericRefs, 404]] as const) {
    const started = Date.now();
    const response = await post(url, body).catch((error: Error) => ({ status: -1, text: error.message }));
    t.equal(response.status, status, `${name}: status`);
    t.ok(Date.now() - started < 2000, `${name}: answered fast (${Date.now() - started} ms)`);
    t.notMatch(response.text, /root:|lollol/, `${name}: nothing expanded`);
  }
  const prototype = await post(url, proto);
  t.equal(prototype.status, 400, '__proto__ element names are refused');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  const normal = await post(url, forAddress('alice@example.com'));
  t.equal(normal.status, 200, 'still answering normally');
});

t.test('Autodiscover v2 JSON', async (t) => {
  const { url } = await startServer(t);
  for (const query of ['Email=alice%40example.com&Protocol=AutodiscoverV1', 'email=alice@example.com&protocol=autodiscoverv1', 'Email=alice%40example.com&Protocol=Autodiscoverv1']) {
    const response = await request(`${url}/autodiscover/autodiscover.json?${query}`, { host: 'autodiscover.example.com' });
    t.equal(response.status, 200, query);
    t.match(response.headers['content-type'], /^application\/json/);
    t.same(JSON.parse(response.text), { Protocol: 'AutodiscoverV1', Url: 'https://autodiscover.example.com/autodiscover/autodiscover.xml' });
  }
  const path = await request(`${url}/Autodiscover/Autodiscover.json/v1.0/alice@example.com?Protocol=AutodiscoverV1`, { host: 'example.com' });
  t.same(JSON.parse(path.text), { Protocol: 'AutodiscoverV1', Url: 'https://example.com/autodiscover/autodiscover.xml' });
  const ews = await request(`${url}/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=Ews`, { host: 'example.com' });
  t.equal(ews.status, 400);
  t.equal(JSON.parse(ews.text).ErrorCode, 'InvalidProtocol');
  const unknown = await request(`${url}/autodiscover/autodiscover.json?Email=a%40unknown.example&Protocol=AutodiscoverV1`, { host: 'example.com' });
  t.equal(unknown.status, 404);

  const { url: configured } = await startServer(t, { publicBaseUrl: 'https://autoconfig.hoster.example' });
  const fixed = await request(`${configured}/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1`, { host: 'evil.example' });
  t.equal(JSON.parse(fixed.text).Url, 'https://autoconfig.hoster.example/autodiscover/autodiscover.xml', 'the configured public URL wins over Host');
});
