/**
 * Generated hostile requests against every endpoint (fast-check). Invariants:
 * status below 500; a well-formed body of the announced content type; no
 * input reflected unescaped; only the catalog's own hosts in any answer; the
 * server answers normally afterwards. Counterexamples are appended to
 * test/fixtures/fuzz-regressions.json and replayed first on every run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import * as plist from 'plist';
import t from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { BUNDLED_PROVIDERS_DIR, PROJECT_ROOT } from '../src/paths.js';
import { buildApp } from '../src/server/app.js';
import { routeTable } from '../src/server/table.js';
import { figure } from './helpers/figures.js';
import { IDENTIFIER_PREFIX } from './helpers/server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const REGRESSIONS = join(PROJECT_ROOT, 'test', 'fixtures', 'fuzz-regressions.json');
/** Text that must never come back as markup. */
const MARKER = '<x-fuzz a="1">';

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
const SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** Every path of the route table (a new endpoint is fuzzed by being a row), and some that are none. */
const TABLE_PATHS = routeTable({ catalog: () => { throw new Error('the table is built for its paths only'); }, identifierPrefix: IDENTIFIER_PREFIX }, { metricsToken: 'x' })
  .flatMap((endpoint) => endpoint.paths);
const paths = fc.constantFrom(
  ...new Set([...TABLE_PATHS, '/Autodiscover/Autodiscover.xml', '/AutoDiscover/AutoDiscover.json', '/static/setup.css', '/static/../package.json', '/nothing']),
);
const nasty = fc.constantFrom(
  '', '%00', '\r\n', '%0d%0aX-Injected:%201', '%E0%A4%A', '%zz', '%', '..%2f..%2f', '"><script>alert(1)</script>', MARKER,
  'a'.repeat(10_000), 'ä'.repeat(300), 'xn--', '@', '@@', '"a@b"@example.com', 'аlice@exаmple.com', 'alice@bücher.example',
  'alice@example.com', 'Bob.Smith@EXAMPLE.NET', 'kunde@xn--bcher-kva.example', '%61lice%40example.com', 'alice%40example.com%00',
  '__proto__', 'constructor', 'de', 'en', 'autodiscoverv1', '😀@😀.example',
);
const value = fc.oneof(nasty, fc.string({ maxLength: 60 }), fc.emailAddress(), fc.stringMatching(/^[%A-Za-z0-9@.<>"'&;:/\\-]{0,40}$/));
const encode = fc.boolean();
const query = fc
  .array(fc.tuple(fc.constantFrom('emailaddress', 'email', 'Email', 'EMAIL', 'name', 'lang', 'Protocol', 'domain', '__proto__', 'x'), value, encode), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v, e]) => `${k}=${e ? encodeURIComponent(v) : v.replace(/[\s#?]/g, encodeURIComponent)}`).join('&'));
const host = fc.oneof(
  fc.constantFrom('', 'example.com', 'autoconfig.example.com', 'autodiscover.example.net', 'ua-auto-config.example.com', 'autoconfig.', 'unknown.example', '[::1]:8080', '127.0.0.1:80', 'example.com:99999', 'a'.repeat(300), 'autoconfig.xn--bcher-kva.example', 'EXAMPLE.COM.'),
  fc.domain(),
);
const outlookBody = fc.oneof(
  fc.tuple(value, fc.constantFrom(SCHEMA, SCHEMA.replace('http:', 'https:'), 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006', MARKER)).map(
    ([address, schema]) => `<?xml version="1.0"?><Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`,
  ),
  fc.string({ maxLength: 300 }),
  fc.constantFrom(
    '<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>',
    `<Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>alice@example.com`,
    `<Autodiscover xmlns="urn:wrong"><Request><EMailAddress>alice@example.com</EMailAddress></Request></Autodiscover>`,
    `<Autodiscover xmlns="${REQUEST_NS}" a="${'x'.repeat(7000)}"><Request/></Autodiscover>`,
    `<Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>&#0;@example.com</EMailAddress></Request></Autodiscover>`,
    `<Autodiscover xmlns="${REQUEST_NS}"><Request><EMailAddress>a&amp;b@example.com</EMailAddress><EMailAddress>c@example.com</EMailAddress></Request></Autodiscover>`,
  ),
);
const request: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND'),
    path: paths,
    suffix: fc.oneof(fc.constant(''), fc.constantFrom('example.com', 'alice@example.com', '..', '%2e%2e', 'x/y'), fc.string({ maxLength: 20 }).map(encodeURIComponent)),
    query,
    host,
    contentType: fc.constantFrom(undefined, 'text/xml; charset=utf-8', 'application/xml', 'application/json', 'text/plain', 'multipart/form-data'),
    acceptLanguage: fc.constantFrom(undefined, 'de', 'de-CH,de;q=0.9', '*', 'xx;q=oops', MARKER),
    body: outlookBody,
  })
  .map((r) => ({
    method: r.method,
    url: `${r.path}${r.path.endsWith('/') && r.path.length > 1 ? r.suffix : ''}${r.query ? `?${r.query}` : ''}`,
    headers: {
      host: r.host,
      ...(r.contentType ? { 'content-type': r.contentType } : {}),
      ...(r.acceptLanguage ? { 'accept-language': r.acceptLanguage } : {}),
    },
    ...(r.method === 'POST' || r.method === 'PUT' ? { body: r.body } : {}),
  }));

t.test(`${RUNS} generated hostile requests keep every invariant`, async (t) => {
  const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
  const hosts = new Set(catalog.providers.flatMap((p) => [...p.incoming, ...p.outgoing].map((s) => s.host)));
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: IDENTIFIER_PREFIX });
  t.teardown(() => app.close());

  const check = async (r: FuzzRequest): Promise<void> => {
    let response;
    try {
      response = await app.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, ...(r.body !== undefined ? { payload: r.body } : {}) });
    } catch (error) {
      // Requests that cannot exist on the wire (invalid header characters) are refused by the injector itself.
      if (/Invalid character in header|Invalid URL|ERR_INVALID_/.test(String(error))) return;
      throw error;
    }
    const where = `${r.method} ${r.url.slice(0, 120)} → ${response.statusCode}`;
    if (response.statusCode >= 500) throw new Error(`${where}: ${response.body.slice(0, 200)}`);
    if (r.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304 || response.statusCode === 308) return;
    const type = String(response.headers['content-type'] ?? '');
    const body = response.body;
    if (body.length > 0 && type === '') throw new Error(`${where}: no content type`);
    if (/xml/.test(type) && XMLValidator.validate(body) !== true) throw new Error(`${where}: not well-formed XML`);
    if (/json/.test(type)) JSON.parse(body);
    if (type.startsWith('application/x-apple-aspen-config')) plist.parse(body);
    if (type.startsWith('text/html') && !body.startsWith('<!DOCTYPE html>')) throw new Error(`${where}: not an HTML page`);
    if (body.includes(MARKER) || /<script/i.test(body)) throw new Error(`${where}: input reflected as markup`);
    if (/[\r\n]/.test(String(response.headers['x-autodiscover-reason'] ?? ''))) throw new Error(`${where}: header injection`);
    for (const match of body.matchAll(/<(?:hostname|Server)>([^<]*)<|<key>(?:Incoming|Outgoing)MailServerHostName<\/key>\s*<string>([^<]*)</g)) {
      const found = match[1] ?? match[2]!;
      if (!hosts.has(found)) throw new Error(`${where}: host ${found} is not from the catalog`);
    }
  };

  const regressions = JSON.parse(readFileSync(REGRESSIONS, 'utf8')) as FuzzRequest[];
  for (const r of regressions) await check(r);
  t.pass(`${regressions.length} kept regression inputs replayed`);

  const started = Date.now();
  const result = await fc.check(fc.asyncProperty(request, async (r) => check(r)), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) });
  if (result.failed && result.counterexample) {
    writeFileSync(REGRESSIONS, `${JSON.stringify([...regressions, result.counterexample[0]], null, 2)}\n`);
  }
  t.notOk(result.failed, result.failed ? `${fc.defaultReportMessage(result)}\n(kept in test/fixtures/fuzz-regressions.json)` : `${result.numRuns} requests in ${Date.now() - started} ms, seed ${result.seed}`);
  t.comment(`${result.numRuns} generated requests, seed ${result.seed}, ${Date.now() - started} ms`);
  figure(`hostile input: ${result.numRuns} generated requests (seed ${result.seed}) in ${Date.now() - started} ms, ${result.failed ? 'FAILED' : 'every invariant held'}`);

  const normal = await app.inject({ method: 'GET', url: '/mail/config-v1.1.xml?emailaddress=alice%40example.com' });
  t.equal(normal.statusCode, 200, 'still answering normally');
});
