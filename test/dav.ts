/**
 * Calendars and contacts: the caldav/carddav keys (their checks), the
 * config-v1.1 root elements of draft-ietf-mailmaint-autoconfig-06 §3.1,
 * and the RFC 6764 §5 redirects over both transports.
 */
import t from 'tap';
import { buildCatalog } from '../src/catalog/catalog.js';
import { loadProvider } from '../src/catalog/load.js';
import { request, startServer } from './helpers/server.js';

const MAIL = 'id: d\nname: D\ndomains: [d.example]\nincoming:\n  - { type: imap, host: imap.d.example }\noutgoing:\n  - { host: smtp.d.example }\n';

t.test('caldav/carddav: an https URL with a path; problems at their key', async (t) => {
  const ok = loadProvider('d.yaml', `${MAIL}caldav: { url: "https://DAV.d.example:443/cal/" }\ncarddav: { url: "https://dav.d.example/card/", username: "%EMAILLOCALPART%" }\n`);
  t.same(ok.problems, []);
  t.same(ok.provider?.caldav, { protocol: 'caldav', url: 'https://dav.d.example/cal/', username: '%EMAILADDRESS%' }, 'normalised; the address by default');
  t.same(ok.provider?.carddav, { protocol: 'carddav', url: 'https://dav.d.example/card/', username: '%EMAILLOCALPART%' });
  const ask = loadProvider('d.yaml', `${MAIL}username: ask\ncaldav: { url: "https://dav.d.example/cal/" }\n`);
  t.equal(ask.provider?.caldav?.username, null, "the provider's username applies, as to its mail servers");
  const bad: [string, RegExp][] = [
    ['caldav: { url: "http://dav.d.example/cal/" }', /^8:16: caldav url must use https/],
    ['caldav: { url: "https://dav.d.example" }', /caldav url needs the path of the calendar service/],
    ['carddav: { url: "https://dav.d.example/" }', /carddav url needs the path of the address book service/],
    ['carddav: { url: "https://u:p@dav.d.example/card/" }', /must not contain a user name or password/],
    ['carddav: { url: "https://dav.%EMAILDOMAIN%/card/" }', /must not contain placeholders/],
    ['caldav: { url: "https://dav.d.example/cal/?x=1" }', /must not have a query/],
    ['caldav: { url: "not a url" }', /is not a URL/],
    ['caldav: { url: "https://dav.d.example/cal/", username: "fred" }', /has no placeholder/],
    ['caldav: { href: "https://dav.d.example/cal/" }', /unknown key "href"/],
  ];
  for (const [yaml, problem] of bad) {
    const result = loadProvider('d.yaml', `${MAIL}${yaml}\n`);
    t.equal(result.provider, undefined, yaml);
    t.match(result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`).join('\n'), problem, yaml);
  }
});

t.test('config-v1.1: <addressbook type="carddav"> and <calendar type="caldav"> at the root, as autoconfig-06 §3.1', async (t) => {
  const { url } = await startServer(t);
  const withAddress = await request(`${url}/mail/config-v1.1.xml?emailaddress=alice%40example.com`);
  t.match(withAddress.text, `  </emailProvider>
  <addressbook type="carddav">
    <url>https://dav.example.com/contacts/</url>
    <authentication system="http">Basic</authentication>
    <username>alice@example.com</username>
  </addressbook>
  <calendar type="caldav">
    <url>https://dav.example.com/calendars/</url>
    <authentication system="http">Basic</authentication>
    <username>alice@example.com</username>
  </calendar>
`);
  const placeholders = await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.example.net' });
  t.match(placeholders.text, '<calendar type="caldav">\n    <url>https://dav.example.com/calendars/</url>\n    <authentication system="http">Basic</authentication>\n    <username>%EMAILADDRESS%</username>', 'without an address: the placeholder for the client');
  const hoster = await request(`${url}/mail/config-v1.1.xml?emailaddress=k1%40example.org`);
  t.notMatch(hoster.text, /<calendar|<addressbook/, 'no DAV keys, no elements');
});

/** The same request with one letter of the path escaped: only Fastify takes it (front-agreement.ts). */
const viaFastify = (path: string) => path.replace(/v$/, '%76');

t.test('RFC 6764 §5: /.well-known/caldav and /carddav redirect to the provider URL, over both transports', async (t) => {
  const { url } = await startServer(t, {
    sources: [
      { file: 'example.yaml', text: `${MAIL.replace('d.example]', 'd.example, e.example]')}caldav: { url: "https://dav.hoster.example:8443/dav/calendars/" }\ncarddav: { url: "https://dav.hoster.example/dav/contacts/" }\n` },
      { file: 'mail-only.yaml', text: MAIL.replace(/\bd\b/g, 'm').replace(/d\.example/g, 'm.example') },
    ],
  });
  const cases: [method: string, path: string, host: string, status: number, location: string | undefined][] = [
    ['PROPFIND', '/.well-known/caldav', 'd.example', 307, 'https://dav.hoster.example:8443/dav/calendars/'],
    ['GET', '/.well-known/caldav', 'e.example:8080', 307, 'https://dav.hoster.example:8443/dav/calendars/'],
    ['OPTIONS', '/.well-known/carddav', 'autoconfig.d.example', 307, 'https://dav.hoster.example/dav/contacts/'],
    ['HEAD', '/.well-known/carddav', 'D.EXAMPLE', 307, 'https://dav.hoster.example/dav/contacts/'],
    ['PROPFIND', '/.well-known/carddav', 'm.example', 404, undefined],
    ['PROPFIND', '/.well-known/caldav', 'unknown.example', 404, undefined],
  ];
  for (const [method, path, host, status, location] of cases) {
    for (const sent of [path, viaFastify(path)]) {
      const body = method === 'PROPFIND' ? '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>' : undefined;
      const response = await request(`${url}${sent}`, { method, host, headers: { depth: '0', 'content-type': 'application/xml' }, ...(body ? { body } : {}) });
      const name = `${method} ${sent} (Host ${host})`;
      t.equal(response.status, status, name);
      t.equal(response.headers.location, location, `${name}: Location`);
      if (status === 307) t.equal(response.headers['cache-control'], 'no-cache', `${name}: the target may change (RFC 6764 §5)`);
      else t.match(response.text, /^no (CardDAV \(contacts\) service is configured for m\.example|mail provider is configured here for unknown\.example)\n$/, `${name}: why`);
    }
  }
  const post = await request(`${url}/.well-known/caldav`, { method: 'POST', host: 'd.example', body: 'x' });
  t.equal(post.status, 404, 'other methods are not DAV discovery');
});

t.test('the plain-HTTP companion sends DAV discovery to HTTPS with 308, which keeps PROPFIND', async (t) => {
  const { buildApp } = await import('../src/server/app.js');
  const catalog = buildCatalog([{ file: 'd.yaml', text: `${MAIL}caldav: { url: "https://dav.d.example/cal/" }\n` }]);
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'x' }, { redirectToHttpsPort: 443 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const response = await request(`http://127.0.0.1:${port}/.well-known/caldav`, { method: 'PROPFIND', host: 'd.example' });
  t.equal(response.status, 308);
  t.equal(response.headers.location, 'https://d.example/.well-known/caldav', 'the scheme changes, the host the client used stays');
});
