import { connect } from 'node:net';
import t from 'tap';
import { parseXml, thunderbirdServers } from './helpers/xml.js';
import { request, startServer } from './helpers/server.js';

const NAMES = `id: tricky
name: "A & B <Mail> \\"Q\\" 's'"
shortName: "A&B"
domains: [tricky.example]
incoming:
  - { type: imap, host: imap.tricky.example, username: "%EMAILLOCALPART%" }
outgoing:
  - { host: smtp.tricky.example, socketType: starttls }
documentation:
  - url: "https://tricky.example/help?a=1&b=2"
    description: { en: "Help & <more>", de: "Hilfe für \\"alle\\"" }
`;

t.test('every path answers with the provider, over a real port', async (t) => {
  const { url } = await startServer(t);
  const paths = [
    ['/mail/config-v1.1.xml?emailaddress=alice%40example.com', undefined],
    ['/mail/config-v1.1.xml?emailaddress=alice@example.com', undefined],
    ['/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.com', undefined],
    ['/mail/config-v1.1.xml', 'autoconfig.example.com'],
    ['/.well-known/autoconfig/mail/config-v1.1.xml', 'example.com:8443'],
    ['/v1.1/example.com', 'ispdb.invalid'],
  ] as const;
  for (const [path, host] of paths) {
    const response = await request(url + path, host ? { host } : {});
    t.equal(response.status, 200, path);
    t.equal(response.headers['content-type'], 'text/xml; charset=utf-8', `${path} content type`);
    t.equal(response.headers['access-control-allow-origin'], '*');
    t.match(response.headers['cache-control'], /max-age=\d+/);
    t.match(response.headers.etag, /^"[\w-]+"$/);
    t.notOk(response.body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'no BOM');
    const { provider, incoming } = thunderbirdServers(response.text);
    t.equal(provider['@id'], 'example.com', `${path}: emailProvider id is the requested domain`);
    t.same(provider.domain, ['example.com']);
    t.equal(incoming[0]!.username, path.includes('emailaddress') ? 'alice@example.com' : '%EMAILADDRESS%', `${path} user name`);
    t.notMatch(response.text, /<password|:[A-Za-z]+>|xmlns:/, 'no password, no namespace prefixes');
  }
});

t.test('the XML carries every server of the YAML, in order, field by field', async (t) => {
  const { url, catalog } = await startServer(t);
  for (const provider of catalog.providers) {
    const domain = provider.domains[0]!;
    const response = await request(`${url}/v1.1/${domain}`);
    const { incoming, outgoing, provider: xmlProvider } = thunderbirdServers(response.text);
    const expected = (list: typeof provider.incoming | typeof provider.outgoing) =>
      list.map((s) => ({
        type: s.protocol,
        hostname: s.host,
        port: s.port,
        socketType: { ssl: 'SSL', starttls: 'STARTTLS', plain: 'plain' }[s.socketType],
        authentication: [...s.authentication],
        username: s.username ?? 'Enter your user name',
      }));
    t.same(incoming, expected(provider.incoming), `${provider.id} incoming`);
    t.same(outgoing, expected(provider.outgoing), `${provider.id} outgoing`);
    t.equal(xmlProvider.displayName, provider.name.en);
    t.equal(xmlProvider.displayShortName, provider.shortName);
  }
});

t.test('user names: placeholders filled for a mailbox, a hint in words when not derivable', async (t) => {
  const { url } = await startServer(t, {
    sources: [{ file: 'tricky.yaml', text: NAMES }],
  });
  const filled = thunderbirdServers((await request(`${url}/mail/config-v1.1.xml?emailaddress=bob.smith%40tricky.example`)).text);
  t.equal(filled.incoming[0]!.username, 'bob.smith');
  t.equal(filled.outgoing[0]!.username, 'bob.smith@tricky.example');
  // Thunderbird's JXON would turn "00123" into the number 123, "1e3" into 1000, "true" into a boolean: keep the placeholder.
  for (const local of ['00123', '1e3', 'TRUE', '0x1f', '1.50']) {
    const altered = thunderbirdServers((await request(`${url}/mail/config-v1.1.xml?emailaddress=${local}%40tricky.example`)).text);
    t.equal(altered.incoming[0]!.username, '%EMAILLOCALPART%', `${local}: the placeholder, for Thunderbird to fill`);
    t.equal(altered.outgoing[0]!.username, `${local}@tricky.example`);
  }
  // What reads back as itself arrives intact (and Thunderbird 153 converts no dates).
  for (const local of ['12345', 'kd 12345'.replace(' ', '.'), 'john1']) {
    const intact = thunderbirdServers((await request(`${url}/mail/config-v1.1.xml?emailaddress=${local}%40tricky.example`)).text);
    t.equal(intact.incoming[0]!.username, local, `${local}: filled in`);
  }

  const { url: hoster } = await startServer(t);
  const ask = thunderbirdServers((await request(`${hoster}/mail/config-v1.1.xml?emailaddress=k1%40example.org`)).text);
  t.same(ask.incoming.map((s) => s.username), ['Enter your user name', 'Enter your user name', 'Enter your user name'], 'customer numbers: a hint in words, never empty (Thunderbird makes "true" of that)');
  t.same(ask.outgoing.map((s) => s.username), ['Enter your user name', 'Enter your user name']);
  const german = await request(`${hoster}/mail/config-v1.1.xml?emailaddress=k1%40example.org`, { headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' } });
  t.same(thunderbirdServers(german.text).incoming.map((s) => s.username), ['Benutzernamen eintragen', 'Benutzernamen eintragen', 'Benutzernamen eintragen'], 'in the language Thunderbird asks for');
  t.equal(german.headers.vary, 'Accept-Language');
  t.not(german.headers.etag, (await request(`${hoster}/mail/config-v1.1.xml?emailaddress=k1%40example.org`)).headers.etag, 'each language its own validator');
  const derivable = await request(`${url}/mail/config-v1.1.xml?emailaddress=bob%40tricky.example`);
  t.equal(derivable.headers.vary, undefined, 'no Vary where nothing depends on the language');
});

t.test('names and descriptions are escaped by the builder', async (t) => {
  const { url } = await startServer(t, { sources: [{ file: 'tricky.yaml', text: NAMES }] });
  const response = await request(`${url}/v1.1/tricky.example`);
  t.match(response.text, '<displayName>A &amp; B &lt;Mail&gt; &quot;Q&quot; &apos;s&apos;</displayName>');
  t.match(response.text, '<documentation url="https://tricky.example/help?a=1&amp;b=2">');
  const doc = parseXml(response.text).clientConfig.emailProvider;
  t.equal(doc.displayName, 'A & B <Mail> "Q" \'s\'', 'parses back to the YAML text');
  t.same(doc.documentation[0].descr.map((d: any) => [d['@lang'], d['#text']]), [['en', 'Help & <more>'], ['de', 'Hilfe für "alle"']]);
  const withAddress = await request(`${url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent('"a<b>&c"@tricky.example')}`);
  t.equal(withAddress.status, 200);
  t.match(withAddress.text, '<username>&quot;a&lt;b&gt;&amp;c&quot;</username>');
});

t.test('IDN: Unicode and punycode spellings find the same provider', async (t) => {
  const { url } = await startServer(t);
  for (const address of ['kunde@bücher.example', 'kunde@xn--bcher-kva.example', 'kunde@BÜCHER.Example']) {
    const response = await request(`${url}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`);
    t.equal(response.status, 200, address);
    t.equal(thunderbirdServers(response.text).provider['@id'], 'xn--bcher-kva.example');
  }
  // Node's HTTP parser refuses raw non-ASCII bytes in the request line: one clear line, not JSON.
  const raw = await rawGet(new URL(url).port, '/mail/config-v1.1.xml?emailaddress=kunde@bücher.example');
  t.match(raw, /^HTTP\/1\.1 400 [^]*\r\n\r\nthe request is not valid HTTP \(non-ASCII characters in a URL must be percent-encoded\)\n$/, 'raw UTF-8 in the URL: 400 with a reason');
  const byHost = await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.xn--bcher-kva.example' });
  t.equal(byHost.status, 200);
});

t.test('HEAD and conditional GET', async (t) => {
  const { url } = await startServer(t);
  const full = await request(`${url}/v1.1/example.com`);
  const head = await request(`${url}/v1.1/example.com`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body.length, 0);
  t.equal(head.headers['content-length'], String(full.body.length));
  const again = await request(`${url}/v1.1/example.com`, { headers: { 'if-none-match': full.headers.etag! } });
  t.equal(again.status, 304);
});

t.test('bad input gets a one-line 4xx reason, never a 500', async (t) => {
  const { url } = await startServer(t);
  const cases: [string, Record<string, string>, number, RegExp][] = [
    ['/mail/config-v1.1.xml?emailaddress=nobody%40unknown.example', {}, 404, /no mail provider is configured here for unknown\.example/],
    ['/mail/config-v1.1.xml', { host: 'autoconfig.unknown.example' }, 404, /unknown\.example/],
    ['/v1.1/unknown.example', {}, 404, /unknown\.example/],
    ['/v1.1/not_a_domain', {}, 400, /does not end in a domain name/],
    ['/mail/config-v1.1.xml?emailaddress=alice', {}, 400, /has no @/],
    ['/mail/config-v1.1.xml?emailaddress=a%40b%40example.com', {}, 400, /more than one @/],
    ['/mail/config-v1.1.xml?emailaddress=%40example.com', {}, 400, /nothing before the @/],
    ['/mail/config-v1.1.xml?emailaddress=al%0Aice%40example.com', {}, 400, /control characters/],
    ['/mail/config-v1.1.xml?emailaddress=al%00ice%40example.com', {}, 400, /control characters/],
    [`/mail/config-v1.1.xml?emailaddress=${'a'.repeat(250)}%40example.com`, {}, 400, /longer than/],
    [`/mail/config-v1.1.xml?emailaddress=${'a'.repeat(10000)}`, {}, 400, /longer than|no @/],
    ['/mail/config-v1.1.xml?emailaddress=a%40example.com&emailaddress=b%40example.com', {}, 400, /more than once/],
    ['/mail/config-v1.1.xml', { host: '127.0.0.1:8080' }, 400, /not a domain name/],
    ['/mail/config-v1.1.xml', { host: '[::1]:8080' }, 400, /IP address/],
    ['/nothing/here', {}, 404, /nothing here/],
  ];
  for (const [path, headers, status, reason] of cases) {
    const response = await request(url + path, { host: headers.host ?? 'mail-autoconfig.test' });
    t.equal(response.status, status, path.slice(0, 80));
    t.match(response.headers['content-type'], /^text\/plain/);
    t.match(response.text, reason);
    t.equal(response.text.trim().split('\n').length, 1, 'one line');
    t.notMatch(response.text, /at .*\.(ts|js):\d+/, 'no stack trace');
  }
});

/** A request line with raw UTF-8 bytes, as curl sends it (node:http would refuse to). */
function rawGet(port: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.end(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`, 'utf8'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}
