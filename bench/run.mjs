// npm run bench: throughput and latency of every endpoint, against the limit
// of the platform (a bare node:http server answering the same bytes from
// memory) and of the machine (nginx, one worker, the same bytes as static
// files), all pinned to the same core; the load generator (wrk) runs on
// another core. Runs are interleaved ROUNDS times and the median ratios are
// reported, because absolute figures on a shared machine drift.
//
// Environment: ROUNDS (3), SECONDS (5 per run), CONNECTIONS (50), CORE (0),
// LOAD_CORE (1), OUT (bench/results.json), SERVICE_NODE_FLAGS (more Node
// flags for the service, after npm start's), ONLY (a regular expression: the
// endpoints to measure, by name, here and in bench/hosters.mjs and
// bench/logins.mjs, which run first and have settings of their own).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchHosters } from './hosters.mjs';
import { benchLogins } from './logins.mjs';
import { root, serviceNodeFlags } from './production.mjs';
import { fetchOnce, freePort, majorCollections, majorGcPer100k, median, memory, runSettings, SETTINGS, waitForReady, wrk as wrkRun } from './tools.mjs';

const { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, core: CORE, loadCore: LOAD_CORE } = SETTINGS;
const OUT = process.env.OUT ?? join(root, 'bench', 'results.json');
const work = mkdtempSync(join(tmpdir(), 'bench-'));

const outlookBody = '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>';
/**
 * name, method, path, Host, body; `signed` runs against the signing instance;
 * `distinct` varies the mailbox per request; `hoster` runs against an
 * instance with one provider of HOSTER_DOMAINS domains and asks for a
 * different one of them each request.
 */
const ALL_ENDPOINTS = [
  { name: 'thunderbird ?emailaddress', method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com', host: 'autoconfig.example.com' },
  { name: 'thunderbird by Host', method: 'GET', path: '/mail/config-v1.1.xml', host: 'autoconfig.example.com' },
  { name: 'thunderbird, hoster domains', method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=alice%40kunde0.example', host: 'autoconfig.example.com', hoster: true },
  { name: 'ISPDB /v1.1/<domain>', method: 'GET', path: '/v1.1/example.com', host: 'ispdb.example' },
  { name: 'outlook POST', method: 'POST', path: '/autodiscover/autodiscover.xml', host: 'autodiscover.example.com', body: outlookBody },
  { name: 'autodiscover v2 JSON', method: 'GET', path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1', host: 'autodiscover.example.com' },
  { name: 'apple unsigned', method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com', host: 'example.com' },
  { name: 'apple signed, repeated', method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com', host: 'example.com', signed: true },
  { name: 'apple signed, distinct', method: 'GET', path: '/mobileconfig?emailaddress=alice%40example.com', host: 'example.com', signed: true, distinct: true },
  { name: 'setup page', method: 'GET', path: '/setup?emailaddress=alice%40example.com', host: 'example.com' },
];

/** A hoster's provider: host names per customer domain (mail.%EMAILDOMAIN%). */
const HOSTER_DOMAINS = 2000;
const ENDPOINTS = ALL_ENDPOINTS.filter((e) => !process.env.ONLY || new RegExp(process.env.ONLY, 'i').test(e.name));

// The hosters' catalogs at scale first (bench/hosters.mjs: its own table and
// results file); ONLY may select their rows alone.
await benchHosters();
// Log-in names from a directory (bench/logins.mjs: its own table and results file).
await benchLogins();
if (ENDPOINTS.length === 0) process.exit(0);

// --- the service, unsigned and signed instances, pinned to CORE ------------------
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-days', '2', '-subj', '/CN=bench'], { stdio: 'pipe' });
const started = [];
async function startService(extra) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', CORE, process.execPath, ...serviceNodeFlags(), join(root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', ...extra], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  started.push(child);
  await waitForReady(port);
  return { port, child, startupMs: Math.round(performance.now() - t0) };
}
// Start-up to ready, the median of 3 starts: the bundled catalog, and
// Thunderbird's ISPDB corpus (163 providers) imported with the CLI.
const SHARED = process.env.MAIL_AUTOCONFIG_SHARED ?? join(root, '..', 'shared');
const ispdb = join(work, 'ispdb');
let ispdbImported = false;
try {
  execFileSync(process.execPath, [join(root, 'dist/src/bin/mail-autoconfig.js'), 'import', join(SHARED, 'ispdb'), '--out', ispdb], { stdio: 'pipe' });
  ispdbImported = true;
} catch {
  process.stderr.write(`no ISPDB corpus at ${join(SHARED, 'ispdb')}: start-up measured with the bundled catalog only\n`);
}
async function startupMedian(extra) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const service = await startService(extra);
    times.push(service.startupMs);
    service.child.kill('SIGTERM');
    await new Promise((resolve) => service.child.once('exit', resolve));
  }
  return median(times);
}
const startup = {
  bundledMs: await startupMedian([]),
  ...(ispdbImported ? { ispdbMs: await startupMedian(['--providers', ispdb]) } : {}),
};

// Each instance also serves its metrics on a port of its own, read between
// runs (never during one) for the garbage collections a run caused.
const unsignedMetricsPort = await freePort();
const unsigned = await startService(['--metrics-port', String(unsignedMetricsPort)]);
const signedMetricsPort = await freePort();
const signedService = await startService(['--signing-key', join(work, 'key.pem'), '--signing-cert', join(work, 'cert.pem'), '--metrics-port', String(signedMetricsPort)]);
mkdirSync(join(work, 'hoster'));
writeFileSync(
  join(work, 'hoster', 'hoster.yaml'),
  `id: hoster\nname: Hoster\ndomains: [${Array.from({ length: HOSTER_DOMAINS }, (_, i) => `kunde${i}.example`).join(', ')}]\nincoming:\n  - { type: imap, host: "mail.%EMAILDOMAIN%" }\noutgoing:\n  - { host: "mail.%EMAILDOMAIN%" }\n`,
);
const hosterMetricsPort = await freePort();
const hosterService = await startService(['--providers', join(work, 'hoster'), '--metrics-port', String(hosterMetricsPort)]);
/** The instance an endpoint runs against, and its metrics port. */
const serviceFor = (endpoint) =>
  endpoint.signed ? { port: signedService.port, metricsPort: signedMetricsPort } : endpoint.hoster ? { port: hosterService.port, metricsPort: hosterMetricsPort } : { port: unsigned.port, metricsPort: unsignedMetricsPort };

// --- byte-identical copies for the references -------------------------------------
const copies = [];
for (const [i, endpoint] of ENDPOINTS.entries()) {
  const answer = await fetchOnce(serviceFor(endpoint).port, endpoint);
  if (answer.status !== 200) throw new Error(`${endpoint.name}: ${answer.status}`);
  copies.push({ file: `e${i}`, contentType: answer.headers['content-type'], body: answer.body });
}
const bare = createServerScript();
function createServerScript() {
  // The platform's limit: node:http answering from a buffer, nothing else.
  const file = join(work, 'bare.mjs');
  writeFileSync(file, `import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const copies = JSON.parse(readFileSync(${JSON.stringify(join(work, 'copies.json'))}, 'utf8')).map((c) => ({ ...c, body: Buffer.from(c.body, 'base64') }));
const byPath = new Map(copies.map((c) => ['/' + c.file, c]));
createServer((req, res) => {
  const c = byPath.get(req.url);
  if (!c) { res.writeHead(404).end(); return; }
  req.resume();
  res.writeHead(200, { 'content-type': c.contentType, 'content-length': c.body.length }).end(c.body);
}).listen(Number(process.argv[2]), '127.0.0.1');
`);
  return file;
}
writeFileSync(join(work, 'copies.json'), JSON.stringify(copies.map((c) => ({ ...c, body: c.body.toString('base64') }))));
const barePort = await freePort();
started.push(spawn('taskset', ['-c', CORE, process.execPath, bare, String(barePort)], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 500));

// The machine's limit: nginx, one worker, static files.
const nginxPort = await freePort();
const html = join(work, 'html');
mkdirSync(html);
for (const c of copies) writeFileSync(join(html, c.file), c.body);
const locations = copies.map((c) => `    location = /${c.file} { default_type "${c.contentType}"; }`).join('\n');
writeFileSync(join(work, 'nginx.conf'), `worker_processes 1;
daemon off;
pid ${join(work, 'nginx.pid')};
error_log ${join(work, 'nginx-error.log')};
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${nginxPort};
    root ${html};
    error_page 405 =200 $uri;
${locations}
  }
}
`);
started.push(spawn('taskset', ['-c', CORE, 'nginx', '-c', join(work, 'nginx.conf'), '-p', work], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 500));

// --- wrk on LOAD_CORE ----------------------------------------------------------
function luaScript(endpoint, target) {
  const body = endpoint.body && target === 'ours' ? endpoint.body : '';
  const method = target === 'ours' ? endpoint.method : endpoint.method === 'POST' ? 'POST' : 'GET';
  return `wrk.method = ${JSON.stringify(method)}
wrk.headers["Host"] = ${JSON.stringify(endpoint.host)}
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
${body ? `wrk.body = ${JSON.stringify(body)}` : ''}
local counter = 0
request = function()
  ${
    target !== 'ours' ? 'return wrk.format(nil)'
    : endpoint.distinct ? 'counter = counter + 1\n  return wrk.format(nil, "/mobileconfig?emailaddress=user" .. counter .. "-" .. math.random(1, 1000000000) .. "%40example.com")'
    : endpoint.hoster ? `counter = counter + 1\n  return wrk.format(nil, "/mail/config-v1.1.xml?emailaddress=alice%40kunde" .. (counter % ${HOSTER_DOMAINS}) .. ".example")`
    : 'return wrk.format(nil)'
  }
end
`;
}

function wrk(port, path, endpoint, target, seconds) {
  return wrkRun({ port, path, lua: luaScript(endpoint, target), seconds, connections: CONNECTIONS, core: LOAD_CORE, work });
}

const peakRss = (pid) => memory(pid).peakMiB;
// taskset execs node, so the pid is the service's.
const servicePids = [unsigned.child.pid, signedService.child.pid, hosterService.child.pid];

// Warm-up: JIT and caches.
for (const [i, endpoint] of ENDPOINTS.entries()) {
  wrk(serviceFor(endpoint).port, endpoint.path, endpoint, 'ours', 1);
  wrk(barePort, `/e${i}`, endpoint, 'bare', 1);
}

const runs = ENDPOINTS.map(() => ({ ours: [], bare: [], nginx: [] }));
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, endpoint] of ENDPOINTS.entries()) {
    const { port, metricsPort } = serviceFor(endpoint);
    const before = majorCollections(metricsPort);
    runs[i].ours.push(wrk(port, endpoint.path, endpoint, 'ours', SECONDS));
    runs[i].ours.at(-1).majorCollections = majorCollections(metricsPort) - before;
    runs[i].bare.push(wrk(barePort, `/e${i}`, endpoint, 'bare', SECONDS));
    runs[i].nginx.push(wrk(nginxPort, `/e${i}`, endpoint, 'nginx', SECONDS));
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${endpoint.name}: ${Math.round(runs[i].ours.at(-1).rps)}/s ours, ${Math.round(runs[i].bare.at(-1).rps)}/s bare, ${Math.round(runs[i].nginx.at(-1).rps)}/s nginx\n`);
  }
}
const rows = ENDPOINTS.map((endpoint, i) => {
  const r = runs[i];
  return {
    endpoint: endpoint.name,
    oursRps: Math.round(median(r.ours.map((x) => x.rps))),
    oursP50ms: Math.round(median(r.ours.map((x) => x.p50)) * 100) / 100,
    oursP99ms: Math.round(median(r.ours.map((x) => x.p99)) * 100) / 100,
    errors: r.ours.reduce((s, x) => s + x.errors, 0),
    // Over all of this endpoint's runs, per 100,000 requests.
    majorGcPer100k: majorGcPer100k(r.ours, SECONDS),
    bareRps: Math.round(median(r.bare.map((x) => x.rps))),
    // The references' own tail shows how much of ours is the machine's.
    bareP99ms: Math.round(median(r.bare.map((x) => x.p99)) * 100) / 100,
    nginxRps: Math.round(median(r.nginx.map((x) => x.rps))),
    nginxP99ms: Math.round(median(r.nginx.map((x) => x.p99)) * 100) / 100,
    ratioToBare: Math.round(median(r.ours.map((x, k) => x.rps / r.bare[k].rps)) * 100) / 100,
    ratioToNginx: Math.round(median(r.ours.map((x, k) => x.rps / r.nginx[k].rps)) * 100) / 100,
  };
});
const result = {
  ...runSettings(),
  startupMs: { bundled: startup.bundledMs, ...(startup.ispdbMs !== undefined ? { ispdb: startup.ispdbMs } : {}), signed: signedService.startupMs },
  peakRssMiB: { unsigned: Math.round(peakRss(servicePids[0])), signed: Math.round(peakRss(servicePids[1])), hoster: Math.round(peakRss(servicePids[2])) },
  rows,
};
for (const child of started) child.kill('SIGTERM');
try {
  execFileSync('nginx', ['-c', join(work, 'nginx.conf'), '-p', work, '-s', 'quit'], { stdio: 'ignore' });
} catch {}

console.table(rows);
console.log(`start-up to ready (median of 3): ${result.startupMs.bundled} ms with the bundled catalog${result.startupMs.ispdb !== undefined ? `, ${result.startupMs.ispdb} ms with the ISPDB corpus (163 providers)` : ''}, ${result.startupMs.signed} ms with signing`);
console.log(`peak resident memory under load: ${result.peakRssMiB.unsigned} MiB (bundled catalog, unsigned endpoints), ${result.peakRssMiB.signed} MiB (signing instance), ${result.peakRssMiB.hoster} MiB (hoster of ${HOSTER_DOMAINS} domains); node ${result.nodeFlags.join(' ')}`);
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written to ${OUT}`);
