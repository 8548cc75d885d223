/**
 * Item 10 of issue 20: characters no document may carry, header and body
 * timeouts that hold, Fastify's own refusals as one line, addresses kept
 * out of the log whatever their length, and per-mailbox answers private.
 */
import { connect } from 'node:net';
import { pino } from 'pino';
import t from 'tap';
import type { FastifyBaseLogger } from 'fastify';
import { parseAddress } from '../src/mailbox.js';
import { logRequest } from '../src/server/observe.js';
import { request, startServer } from './helpers/server.js';

t.test('noncharacters, lone surrogates and replacement characters make an address malformed', async (t) => {
  for (const raw of ['a\uffff@example.com', 'a\ufffe@example.com', 'a\ud800@example.com', 'a\udc00b@example.com', 'a\ufdd0@example.com', 'a\u{1ffff}@example.com', 'a\ufffd@example.com', 'alice@exa\uffffmple.com']) {
    const parsed = parseAddress(raw);
    t.equal(parsed.ok, false, JSON.stringify(raw));
  }
  t.equal(parseAddress('jörg@bücher.example').ok, true, 'other non-ASCII letters stay valid');
  t.equal(parseAddress('a\u{1f600}@example.com').ok, true, 'a character outside the BMP is fine');
});

t.test('such addresses get 400 from every format, not a broken document', async (t) => {
  const { url } = await startServer(t);
  for (const encoded of ['a%EF%BF%BF%40example.com', 'a%EF%BF%BE%40example.com', 'a%EF%B7%90%40example.com']) {
    t.equal((await request(`${url}/mail/config-v1.1.xml?emailaddress=${encoded}`)).status, 400, `thunderbird ${encoded}`);
    t.equal((await request(`${url}/mobileconfig?emailaddress=${encoded}`)).status, 400, `apple ${encoded}`);
  }
  const body = Buffer.concat([
    Buffer.from('<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>a'),
    Buffer.from([0xff]),
    Buffer.from('@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>'),
  ]);
  const outlook = await request(`${url}/autodiscover/autodiscover.xml`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  t.not(outlook.status, 200, 'invalid UTF-8 in the Autodiscover body is no address');
});

t.test('headers that never finish are cut after 10 s, not 30', async (t) => {
  const { port } = await startServer(t);
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: example.com\r\n'));
    socket.on('data', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    socket.on('error', () => undefined);
    setTimeout(() => socket.destroy(), 20_000);
  });
  t.ok(closedAfter >= 9_000 && closedAfter < 12_500, `closed after ${closedAfter} ms`);
});

t.test("Fastify's own 400 and 414 are one plain-text line with nosniff, without the URL", async (t) => {
  const { url } = await startServer(t);
  for (const path of ['/v1.1/%zz%3Cscript%3E', `/v1.1/${'a'.repeat(400)}.example`, '/autodiscover/autodiscover.json/v1.0/%E0%A4%A']) {
    const response = await request(`${url}${path}`);
    t.ok(response.status === 400 || response.status === 414, `${path.slice(0, 40)}: ${response.status}`);
    t.match(response.headers['content-type'], /^text\/plain/);
    t.equal(response.headers['x-content-type-options'], 'nosniff');
    t.match(response.text, /^[^\n]+\n$/, 'one line');
    t.notMatch(response.text, /script|aaaaaaaa|%E0|\{/, 'no URL, no JSON');
  }
});

t.test('an address in the path never reaches the log, however long it is', async (t) => {
  const lines: string[] = [];
  const log = pino({}, { write: (line: string) => void lines.push(line) }) as unknown as FastifyBaseLogger;
  const local = 'secretlocalpart'.repeat(20);
  for (const url of [`/autodiscover/autodiscover.json/v1.0/${local}%40example.com?Protocol=AutodiscoverV1`, `/autodiscover/autodiscover.json/v1.0/${local}@example.com`, `/autodiscover/autodiscover.json/v1.0/${encodeURIComponent(`${local}@example.com`)}`]) {
    logRequest(log, undefined, 'GET', url, `${local}@example.com`, { format: 'outlook-json', domain: 'example.com' }, 200, 1);
  }
  t.equal(lines.length, 3);
  for (const line of lines) t.notMatch(line, /secretlocalpart/, line.slice(0, 120));
});

t.test('per-mailbox answers are private; the answer for a domain is public', async (t) => {
  const { url } = await startServer(t);
  const withAddress = await request(`${url}/mail/config-v1.1.xml?emailaddress=alice%40example.com`);
  t.equal(withAddress.status, 200);
  t.match(withAddress.headers['cache-control'], /^private\b/, 'Thunderbird with an address');
  const wellKnown = await request(`${url}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com`, { headers: { host: 'example.com' } });
  t.match(wellKnown.headers['cache-control'], /^private\b/, 'the .well-known path with an address');
  const byHost = await request(`${url}/mail/config-v1.1.xml`, { headers: { host: 'autoconfig.example.com' } });
  t.equal(byHost.status, 200);
  t.match(byHost.headers['cache-control'], /^public\b/, 'Thunderbird by Host, without an address');
  t.match((await request(`${url}/v1.1/example.com`)).headers['cache-control'], /^public\b/, 'the ISPDB layout');
  const json = await request(`${url}/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1`, { headers: { host: 'autodiscover.example.com' } });
  t.match(json.headers['cache-control'], /^private\b/, 'Autodiscover v2');
  const outlook = await request(`${url}/autodiscover/autodiscover.xml?emailaddress=alice%40example.com`);
  t.match(outlook.headers['cache-control'], /^private\b|no-store/, 'Autodiscover POX');
});
