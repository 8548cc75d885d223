/**
 * Every answer reads the host the client asked for the same way: behind a
 * trusted proxy its X-Forwarded-Host (and X-Forwarded-Proto), from anyone
 * else the raw Host header. Thunderbird by Host, the Autodiscover v2 Url,
 * the setup page and its Apple profile link must agree.
 */
import t, { type Test } from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { buildApp } from '../src/server/app.js';
import { request } from './helpers/server.js';

const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);

async function start(t: Test, trustedProxies: string[]) {
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.forwarded' }, { trustedProxies });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

/** The four answers that name or read the host, asked with `host` as Host and the forwarded headers. */
async function answers(url: string, host: string, forwarded: Record<string, string>) {
  const thunderbird = await request(`${url}/mail/config-v1.1.xml`, { host, headers: forwarded });
  const json = await request(`${url}/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1`, { host, headers: forwarded });
  const viaFastify = await request(`${url}/autodiscover/autodiscover.jso%6E?Email=alice%40example.com&Protocol=AutodiscoverV1`, { host, headers: forwarded });
  const setup = await request(`${url}/setup?emailaddress=alice%40example.com`, { host, headers: forwarded });
  return { thunderbird, json, viaFastify, setup };
}

const FORWARDED = { 'x-forwarded-host': 'proxy.internal, autoconfig.example.com', 'x-forwarded-proto': 'https' };

t.test('behind a trusted proxy every answer uses the forwarded host and scheme', async (t) => {
  const url = await start(t, ['127.0.0.1']);
  const { thunderbird, json, viaFastify, setup } = await answers(url, 'backend.internal:8080', {
    ...FORWARDED,
    'x-forwarded-host': 'proxy.internal, autodiscover.example.com',
  });
  t.equal(thunderbird.status, 200, 'Thunderbird by Host: the forwarded autodiscover.example.com names example.com');
  t.match(thunderbird.text, '<domain>example.com</domain>');
  t.equal(JSON.parse(json.text).Url, 'https://autodiscover.example.com/autodiscover/autodiscover.xml', 'Autodiscover v2 names the forwarded host');
  t.same(JSON.parse(viaFastify.text), JSON.parse(json.text), 'and so does the same request through Fastify');
  t.match(setup.text, 'href="https://autodiscover.example.com/mobileconfig?emailaddress=alice%40example.com"', 'the Apple profile link: forwarded scheme and host');
});

t.test('from anyone else the forwarded headers are ignored: the raw Host counts', async (t) => {
  // The proxy trusted here is not the address the test connects from.
  const url = await start(t, ['192.0.2.1']);
  const { thunderbird, json, viaFastify, setup } = await answers(url, 'autoconfig.example.net', FORWARDED);
  t.equal(thunderbird.status, 200);
  t.match(thunderbird.text, '<domain>example.net</domain>', 'Thunderbird by Host: the raw Host autoconfig.example.net');
  t.equal(JSON.parse(json.text).Url, 'https://autoconfig.example.net/autodiscover/autodiscover.xml', 'Autodiscover v2 names the raw Host');
  t.same(JSON.parse(viaFastify.text), JSON.parse(json.text));
  t.match(setup.text, 'href="http://autoconfig.example.net/mobileconfig?emailaddress=alice%40example.com"', 'the profile link: the connection\'s scheme and the raw Host');
  t.notMatch(setup.text, 'autoconfig.example.com');
});
