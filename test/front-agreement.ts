/**
 * Both transports give the same answer: every row of the route table,
 * asked once in the plain shape the node:http front answers and once with
 * an escaped path that only Fastify takes, in every listener configuration
 * (plain HTTP, HTTPS, the plain-HTTP companion, behind trusted proxies,
 * with the rate limit on), gives the same status, headers (but Date) and
 * bytes.
 */
import t from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { SignerSource } from '../src/keys/signer-source.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { buildApp, type AppOptions } from '../src/server/app.js';
import { Metrics } from '../src/server/metrics.js';
import { routeTable } from '../src/server/table.js';
import { request } from './helpers/server.js';
import { makePki } from './helpers/pki.js';

const POX = (address: string, schema = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a') =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`;

interface Case {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PROPFIND' | 'OPTIONS';
  readonly path: string;
  readonly host?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The plain shape is answered by the front (true) or handed to Fastify (false). */
  readonly front: boolean;
}

const CASES: Case[] = [
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=Alice.B%40Example.COM', front: true },
  { method: 'HEAD', path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml', host: 'autoconfig.example.com', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml', host: 'autoconfig.example.com', headers: { 'if-none-match': 'ETAG' }, front: true },
  { method: 'GET', path: '/MAIL/Config-v1.1.xml', host: 'example.com', front: true },
  { method: 'GET', path: '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=kunde%40b%C3%BCcher.example', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=a%40b%40c', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=a%40example.com&emailaddress=b%40example.com', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=a%40unknown.example', front: true },
  { method: 'GET', path: '/mail/config-v1.1.xml', host: '[::1]', front: true },
  { method: 'GET', path: '/v1.1/example.com', front: true },
  { method: 'GET', path: '/v1.1/EXAMPLE.com', front: true },
  { method: 'GET', path: '/v1.1/xn--bcher-kva.example', front: true },
  { method: 'GET', path: '/v1.1/b%C3%BCcher.example', front: false },
  { method: 'GET', path: '/v1.1/nodot', front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: POX('alice@example.com'), front: true },
  { method: 'POST', path: '/Autodiscover/Autodiscover.xml', body: POX('alice@example.com'), front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: POX('nobody@unknown.example'), front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: POX('alice@example.com', 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006'), front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: '<Autodiscover><Request>', front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: '', front: true },
  { method: 'POST', path: '/autodiscover/autodiscover.xml', body: 'x'.repeat(9000), front: false },
  { method: 'GET', path: '/autodiscover/autodiscover.xml?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/autodiscover/autodiscover.xml', host: 'autodiscover.example.com', front: true },
  { method: 'GET', path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1', host: 'autodiscover.example.com', front: true },
  { method: 'GET', path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=ActiveSync', front: true },
  { method: 'GET', path: '/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=AutodiscoverV1', host: 'autodiscover.example.com', front: true },
  { method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/email.mobileconfig?email=alice%40example.com&name=Alice%20%26%20Bob', front: true },
  { method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com&name=%3Cscript%3E', front: true },
  { method: 'GET', path: '/mobileconfig', front: true },
  { method: 'GET', path: '/.well-known/user-agent-configuration.json', host: 'ua-auto-config.example.com', front: true },
  { method: 'HEAD', path: '/.well-known/user-agent-configuration.json', host: 'ua-auto-config.example.net', front: true },
  { method: 'GET', path: '/.well-known/user-agent-configuration.json', host: 'ua-auto-config.example.com', headers: { 'if-none-match': 'PACC_ETAG' }, front: true },
  { method: 'GET', path: '/.well-known/user-agent-configuration.json', host: 'ua-auto-config.example.org', front: true },
  { method: 'GET', path: '/.well-known/user-agent-configuration.json', host: 'ua-auto-config.unknown.example', front: true },
  // RFC 6764 §5: every discovery method is redirected, 307 keeping PROPFIND and its body.
  { method: 'PROPFIND', path: '/.well-known/caldav', headers: { depth: '0', 'content-type': 'application/xml' }, body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>', front: true },
  { method: 'GET', path: '/.well-known/caldav', front: true },
  { method: 'OPTIONS', path: '/.well-known/carddav', host: 'example.net', front: true },
  { method: 'HEAD', path: '/.well-known/carddav', host: 'autoconfig.example.com', front: true },
  { method: 'PROPFIND', path: '/.well-known/carddav', host: 'example.org', front: true },
  { method: 'GET', path: '/.well-known/caldav', host: 'unknown.example', front: true },
  { method: 'POST', path: '/.well-known/caldav', body: 'x', front: false },
  { method: 'GET', path: '/', headers: { 'accept-language': 'de' }, front: true },
  { method: 'GET', path: '/setup?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/setup?emailaddress=alice%40example.com&lang=de', front: true },
  { method: 'GET', path: '/setup?emailaddress=nobody%40unknown.example', front: true },
  { method: 'GET', path: '/setup?emailaddress=no-address', front: true },
  { method: 'GET', path: '/healthz', front: true },
  { method: 'GET', path: '/readyz', front: true },
  { method: 'GET', path: '/caddy/ask?domain=autoconfig.example.com', front: true },
  { method: 'GET', path: '/caddy/ask?domain=autoconfig.unknown.example', front: true },
  { method: 'GET', path: '/caddy/ask?domain=ua-auto-config.example.net', front: true },
  { method: 'GET', path: '/metrics', headers: { authorization: 'Bearer wrong' }, front: true },
  { method: 'GET', path: '/static/setup.css', front: false },
  { method: 'GET', path: '/nothing/here', front: false },
  { method: 'POST', path: '/mail/config-v1.1.xml', body: 'x', front: false },
];

/** The same request in a shape only Fastify takes: one letter of the path percent-encoded. */
function escaped(path: string): string | undefined {
  const [bare, query] = path.split(/\?(.*)/s) as [string, string | undefined];
  const at = bare.search(/[a-z](?=[^a-z]*$)/i);
  if (at < 0) return undefined;
  const encoded = `${bare.slice(0, at)}%${bare.charCodeAt(at).toString(16).toUpperCase()}${bare.slice(at + 1)}`;
  return query === undefined ? encoded : `${encoded}?${query}`;
}

/** What may differ between two answers to one request: connection headers, the Time/Id of Autodiscover errors, an escaped path named in a redirect or a 404 line. */
function comparable(status: number, headers: Record<string, unknown>, body: Buffer) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, 'last-modified': _modified, ...kept } = headers;
  if (typeof kept.location === 'string') kept.location = decodeURI(kept.location);
  let text = body.toString('latin1');
  // "nothing here: GET <path>" names the path as sent.
  if (text.startsWith('nothing here: ')) {
    text = decodeURI(text);
    kept['content-length'] = String(text.length);
  }
  const autodiscoverError = /Time="[^"]*" Id="\d+"/;
  if (autodiscoverError.test(text)) kept['content-length'] = 'varies with the Id';
  return { status, headers: kept, body: text.replace(autodiscoverError, 'Time="" Id=""') };
}

interface Listener {
  readonly name: string;
  readonly options: AppOptions;
  readonly scheme: 'http' | 'https';
  /** Headers a trusted proxy in front would add. */
  readonly forwarded?: Record<string, string>;
}

const pki = makePki('rsa');
const LISTENERS: Listener[] = [
  { name: 'plain HTTP', options: {}, scheme: 'http' },
  { name: 'HTTPS', options: { https: { cert: pki.chainPem, key: pki.keyPem } }, scheme: 'https' },
  { name: 'the plain-HTTP companion', options: { redirectToHttpsPort: 8443 }, scheme: 'http' },
  {
    name: 'behind a trusted proxy',
    options: { trustedProxies: ['127.0.0.1'] },
    scheme: 'http',
    forwarded: { 'x-forwarded-host': 'autoconfig.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7' },
  },
  { name: 'with the rate limit on', options: { rateLimitPerMinute: 100_000, metricsToken: 'secret' }, scheme: 'http' },
];

const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);

t.test('every row of the route table has cases here', async (t) => {
  const table = routeTable({ catalog: () => catalog, identifierPrefix: 'x', metrics: { text: async () => '', observe: () => undefined } }, { metricsToken: 'x' });
  for (const endpoint of table) {
    for (const path of endpoint.paths) {
      const covered = CASES.some((c) => {
        const bare = c.path.split('?')[0]!.toLowerCase();
        return endpoint.plainTail ? bare.startsWith(path) : bare === path;
      });
      t.ok(covered, `${path} is asked here`);
    }
  }
});

for (const listener of LISTENERS) {
  t.test(`front and Fastify agree on every answer (${listener.name})`, async (t) => {
    const signer = new SignerSource({ keyFile: pki.keyFile, certFile: pki.chainFile });
    const metrics = listener.options.metricsToken !== undefined ? { metrics: new Metrics(() => catalog, () => []) } : {};
    const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.front', signer, ...metrics }, listener.options);
    const reachedFastify: string[] = [];
    app.addHook('onRequest', async (req) => void reachedFastify.push(`${req.method} ${req.url}`));
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const url = `${listener.scheme}://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const insecure = listener.scheme === 'https';
    const etag = (await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.example.com', insecure })).headers.etag ?? '';
    const paccEtag = (await request(`${url}/.well-known/user-agent-configuration.json`, { host: 'ua-auto-config.example.com', insecure })).headers.etag ?? '';

    for (const c of CASES) {
      const host = c.host ?? 'example.com';
      const headers = { ...listener.forwarded, ...Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, v === 'ETAG' ? etag : v === 'PACC_ETAG' ? paccEtag : v])) };
      const name = `${c.method} ${c.path.slice(0, 90)}${c.host ? ` (Host ${c.host})` : ''}`;
      const ask = (path: string) => request(`${url}${path}`, { method: c.method, host, headers, insecure, ...(c.body !== undefined ? { body: c.body } : {}) });
      reachedFastify.length = 0;
      const plain = await ask(c.path);
      const companionRedirect = listener.options.redirectToHttpsPort !== undefined && plain.status === 308;
      // /metrics is a row only where a token is configured.
      const front = c.path === '/metrics' ? listener.options.metricsToken !== undefined : c.front;
      if (!companionRedirect) t.equal(reachedFastify.length === 0, front, `${name}: ${front ? 'answered by the front' : 'handed to Fastify'}`);
      const other = escaped(c.path);
      if (other === undefined) {
        // The root path has no letter to escape: Fastify in-process.
        const injected = await app.inject({ method: c.method, url: c.path, headers: { host, ...headers }, remoteAddress: '127.0.0.1', ...(c.body !== undefined ? { payload: c.body } : {}) });
        t.same(comparable(injected.statusCode, injected.headers, injected.rawPayload).body, comparable(plain.status, plain.headers, plain.body).body, `${name}: the same bytes from Fastify`);
        continue;
      }
      reachedFastify.length = 0;
      const viaFastify = await ask(other);
      // (The companion's redirect is made before the hook that counts.)
      if (!companionRedirect) t.equal(reachedFastify.length, 1, `${name}: the escaped path reached Fastify`);
      t.same(comparable(viaFastify.status, viaFastify.headers, viaFastify.body), comparable(plain.status, plain.headers, plain.body), `${name}: ${plain.status}, the same headers and bytes from both`);
    }
  });
}

t.test('over the rate limit, both transports refuse alike', async (t) => {
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.front' }, { rateLimitPerMinute: 2 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  await request(`${url}/healthz`);
  await request(`${url}/healthz`);
  const front = await request(`${url}/mail/config-v1.1.xml?emailaddress=alice%40example.com`);
  const fastify = await request(`${url}/mail/config-v1.1.xm%6C?emailaddress=alice%40example.com`);
  t.equal(front.status, 429);
  t.same(comparable(fastify.status, fastify.headers, fastify.body), comparable(front.status, front.headers, front.body), '429, the same headers and line');
});

t.test('HSTS on the service host over HTTPS, never on autoconfig.<domain>', async (t) => {
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.front' }, { https: { cert: pki.chainPem, key: pki.keyPem } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const profile = await request(`${url}/mobileconfig?emailaddress=alice%40example.com`, { host: 'example.com', insecure: true });
  t.equal(profile.status, 200);
  t.equal(profile.headers['strict-transport-security'], 'max-age=31536000', 'HSTS on the service host');
  const config = await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.example.com', insecure: true });
  t.equal(config.status, 200);
  t.equal(config.headers['strict-transport-security'], undefined, 'none on autoconfig.<domain> (Thunderbird falls back to HTTP there)');
  const css = await request(`${url}/static/setup.css`, { host: 'example.com', insecure: true });
  t.equal(css.headers['strict-transport-security'], 'max-age=31536000', "and on Fastify's own replies");
});

t.test('a redirect to HTTPS of an absolute-form request target names the path once', async (t) => {
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.front' }, { redirectToHttpsPort: 8443 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const { connect } = await import('node:net');
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('GET http://example.com/setup?emailaddress=a%40example.com HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.match(raw, /^HTTP\/1\.1 308/);
  t.match(raw, /\r\nlocation: https:\/\/example\.com:8443\/setup\?emailaddress=a%40example\.com\r\n/i);
});
