/**
 * The front (a raw node:http listener for the clients' hot requests) and
 * Fastify's routes answer the same request with the same status, headers
 * and bytes; the hot requests never reach Fastify, the rest always do.
 */
import t from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { SignerSource } from '../src/formats/signing.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { buildApp } from '../src/server/app.js';
import { request } from './helpers/server.js';
import { makePki } from './helpers/pki.js';

const POX = (address: string, schema = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a') =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`;

interface Case {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly path: string;
  readonly host?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Answered by the front (true) or handed to Fastify (false). */
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
  { method: 'GET', path: '/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=AutodiscoverV1', host: 'autodiscover.example.com', front: false },
  { method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com', front: true },
  { method: 'GET', path: '/email.mobileconfig?email=alice%40example.com&name=Alice%20%26%20Bob', front: true },
  { method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com&name=%3Cscript%3E', front: true },
  { method: 'GET', path: '/mobileconfig', front: true },
  { method: 'GET', path: '/healthz', front: false },
  { method: 'GET', path: '/setup?emailaddress=alice%40example.com', front: false },
  { method: 'GET', path: '/nothing/here', front: false },
  { method: 'POST', path: '/mail/config-v1.1.xml', body: 'x', front: false },
];

/** What may differ between two answers to one request: connection headers, and the Time/Id of Autodiscover errors. */
function comparable(status: number, headers: Record<string, unknown>, body: Buffer) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...kept } = headers;
  const text = body.toString('latin1');
  const autodiscoverError = /Time="[^"]*" Id="\d+"/;
  if (autodiscoverError.test(text)) kept['content-length'] = 'varies with the Id';
  return { status, headers: kept, body: text.replace(autodiscoverError, 'Time="" Id=""') };
}

for (const signed of [false, true]) {
  t.test(`front and Fastify agree on every answer (${signed ? 'signed profiles' : 'unsigned'})`, async (t) => {
    const pki = makePki('rsa');
    const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
    const app = await buildApp({
      catalog: () => catalog,
      identifierPrefix: 'org.example.front',
      ...(signed ? { signer: new SignerSource({ keyFile: pki.keyFile, certFile: pki.chainFile }) } : {}),
    });
    const reachedFastify: string[] = [];
    app.addHook('onRequest', async (req) => void reachedFastify.push(`${req.method} ${req.url}`));
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const etag = (await request(`${url}/mail/config-v1.1.xml`, { host: 'autoconfig.example.com' })).headers.etag as string;

    for (const c of CASES) {
      const host = c.host ?? 'example.com';
      const headers = Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, v === 'ETAG' ? etag : v]));
      const name = `${c.method} ${c.path.slice(0, 90)}${c.host ? ` (Host ${c.host})` : ''}`;
      reachedFastify.length = 0;
      const overHttp = await request(`${url}${c.path}`, { method: c.method, host, headers, ...(c.body !== undefined ? { body: c.body } : {}) });
      t.same(reachedFastify.length === 0, c.front, `${name}: ${c.front ? 'answered by the front' : 'handed to Fastify'}`);
      const injected = await app.inject({ method: c.method, url: c.path, headers: { host, ...headers }, ...(c.body !== undefined ? { payload: c.body } : {}) });
      t.same(
        comparable(overHttp.status, overHttp.headers, overHttp.body),
        comparable(injected.statusCode, injected.headers, injected.rawPayload),
        `${name}: ${overHttp.status}, the same headers and bytes`,
      );
    }
  });
}

t.test('the front answers over HTTPS with HSTS where Fastify would send it', async (t) => {
  const pki = makePki('rsa');
  const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
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
});

