// Every answer the service gives to a fixed set of requests, for comparing two
// builds byte for byte: the bundled providers and Thunderbird's ISPDB corpus
// (imported with the CLI), two domains of each, several local parts (with
// quotes, & < >), every client format and the setup page in both languages,
// over real HTTP on a loopback port (so the raw front and Fastify both answer).
// Prints one line per request (status, headers, SHA-256 of the body) to the
// file given, then a summary.
//   node bench/answers-snapshot.mjs OUT.txt        (after npm run build)
//   diff base.txt new.txt
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './production.mjs';

const out = process.argv[2];
if (!out) throw new Error('usage: node bench/answers-snapshot.mjs OUT.txt');
const shared = process.env.MAIL_AUTOCONFIG_SHARED ?? join(root, '..', 'shared');
const { loadCatalog } = await import(join(root, 'dist/src/catalog/catalog.js'));
const { buildApp } = await import(join(root, 'dist/src/server/app.js'));
const { httpFetch } = await import(join(root, 'dist/src/http-client.js'));

const folders = [join(root, 'providers')];
if (existsSync(join(shared, 'ispdb'))) {
  const imported = mkdtempSync(join(tmpdir(), 'snapshot-ispdb-'));
  execFileSync(process.execPath, [join(root, 'dist/src/bin/mail-autoconfig.js'), 'import', join(shared, 'ispdb'), '--out', imported], { stdio: 'pipe' });
  folders.push(imported);
}
const catalogs = [];
for (const folder of folders) catalogs.push(await loadCatalog([folder]));

const POX = (address) =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
const LOCAL_PARTS = ['alice', 'o\'brien&co', '"a<b>c"', '00123'];

function requestsFor(domain) {
  const q = (address) => encodeURIComponent(address);
  const list = [
    { path: '/mail/config-v1.1.xml', host: `autoconfig.${domain}` },
    { path: '/mail/config-v1.1.xml', host: domain },
    { path: `/v1.1/${domain}` },
    { path: `/v1.1/${encodeURIComponent(domain)}%2E`.replace('%2E', '') },
    { path: '/autodiscover/autodiscover.xml', host: `autodiscover.${domain}` },
    { path: '/', headers: { 'accept-language': 'de' } },
  ];
  for (const local of LOCAL_PARTS) {
    const address = `${local}@${domain}`;
    list.push(
      { path: `/mail/config-v1.1.xml?emailaddress=${q(address)}` },
      { path: `/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=${q(address)}`, host: domain },
      { path: `/autodiscover/autodiscover.xml?emailaddress=${q(address)}` },
      { path: '/autodiscover/autodiscover.xml', method: 'POST', body: POX(address) },
      { path: '/Autodiscover/Autodiscover.xml', method: 'POST', body: POX(address) },
      { path: `/autodiscover/autodiscover.json?Email=${q(address)}&Protocol=AutodiscoverV1`, host: `autodiscover.${domain}` },
      { path: `/autodiscover/autodiscover.json/v1.0/${q(address)}?Protocol=AutodiscoverV1`, host: `autodiscover.${domain}` },
      { path: `/mobileconfig?emailaddress=${q(address)}` },
      { path: `/email.mobileconfig?email=${q(address)}&name=J%C3%B6rg%20M%C3%BCller` },
      { path: `/setup?emailaddress=${q(address)}&lang=en` },
      { path: `/setup?emailaddress=${q(address)}`, headers: { 'accept-language': 'de-DE,de;q=0.9' } },
      { path: `/mail/config-v1.1.xml?emailaddress=${q(address)}`, method: 'HEAD' },
    );
  }
  return list;
}

const FIXED = [
  { path: '/healthz' },
  { path: '/caddy/ask?domain=autoconfig.example.com' },
  { path: '/caddy/ask?domain=autoconfig.unknown.example' },
  { path: '/caddy/ask' },
  { path: '/setup' },
  { path: '/setup?emailaddress=nobody%40unknown.example&lang=de' },
  { path: '/setup?emailaddress=not-an-address' },
  { path: '/mail/config-v1.1.xml?emailaddress=a%40b%40c' },
  { path: '/mail/config-v1.1.xml?emailaddress=a%40unknown.example' },
  { path: '/mail/config-v1.1.xml', host: '[::1]' },
  { path: '/mail/config-v1.1.xml', method: 'POST', body: 'x' },
  { path: '/autodiscover/autodiscover.xml', method: 'POST', body: '<Autodiscover><Request>' },
  { path: '/autodiscover/autodiscover.xml', method: 'POST', body: 'x'.repeat(9000) },
  { path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=ActiveSync' },
  { path: '/mobileconfig' },
  { path: '/static/setup.css' },
  { path: '/nothing/here' },
];

const skipped = new Set(['date', 'connection', 'keep-alive', 'last-modified']);
const lines = [];
let count = 0;
for (const catalog of catalogs) {
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.snapshot' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${app.server.address().port}`;
  const domains = catalog.providers.flatMap((p) => p.domains.slice(0, 2));
  const requests = [...FIXED, ...domains.flatMap(requestsFor)];
  for (const r of requests) {
    const response = await httpFetch(base + r.path, { method: r.method ?? 'GET', host: r.host ?? 'example.com', headers: r.headers ?? {}, ...(r.body !== undefined ? { body: r.body } : {}) });
    let body = response.body.toString('latin1');
    // Autodiscover error documents carry the time and a random Id.
    const varies = /Time="[^"]*" Id="\d+"/.test(body);
    body = body.replace(/Time="[^"]*" Id="\d+"/, 'Time="" Id=""');
    const headers = Object.entries(response.headers)
      .filter(([name]) => !skipped.has(name) && !(varies && name === 'content-length'))
      .map(([name, value]) => `${name}: ${value}`)
      .sort()
      .join(' | ');
    const digest = createHash('sha256').update(body, 'latin1').digest('base64url').slice(0, 22);
    lines.push(`${r.method ?? 'GET'} ${r.path.slice(0, 160)} [${r.host ?? 'example.com'}] -> ${response.status} ${digest} ${headers}`);
    count++;
  }
  await app.close();
}
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`${count} answers written to ${out}`);
