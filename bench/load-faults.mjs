// Load and faults: DURATION s (default 60) at saturation over every format
// while the catalog is reloaded every 2 s (good and broken edits
// alternating) and the signing certificate is rotated once; then SIGTERM
// under load. Prints requests, errors, latency, memory; the last line is
// JSON. Exit 1 when an invariant fails.
//   node bench/load-faults.mjs            (after npm run build)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { productionNodeFlags, root } from './production.mjs';

const DURATION = Number(process.env.DURATION ?? 60);
const work = mkdtempSync(join(tmpdir(), 'load-faults-'));

function makeCert(name, kind) {
  const dir = join(work, name);
  mkdirSync(dir);
  const key = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...key, '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', `/CN=${name}`], { cwd: dir, stdio: 'pipe' });
  return { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
}

const providers = join(work, 'providers');
mkdirSync(providers);
copyFileSync(join(root, 'providers', 'example.yaml'), join(providers, 'example.yaml'));
copyFileSync(join(root, 'providers', 'hoster-example.yaml'), join(providers, 'hoster-example.yaml'));
const good = readFileSync(join(providers, 'hoster-example.yaml'), 'utf8');
const [first, second] = [makeCert('first', 'rsa'), makeCert('second', 'p256')];
const liveKey = join(work, 'signing.key');
const liveCert = join(work, 'signing.pem');
copyFileSync(first.key, liveKey);
copyFileSync(first.cert, liveCert);

const server = spawn(process.execPath, [...productionNodeFlags(), join(root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--providers', providers, '--signing-key', liveKey, '--signing-cert', liveCert, '--rate-limit', '0', '--shutdown-delay', '0.3', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
const lines = [];
let port;
await new Promise((resolve, reject) => {
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      // One log line per request: count them, keep only the others.
      if (line.includes('"msg":"request"')) continue;
      lines.push(line);
      const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) {
        port = Number(match[1]);
        resolve();
      }
    }
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('exit', (code) => reject(new Error(`server exited ${code}: ${lines.join('\n')}`)));
  setTimeout(() => reject(new Error('no start')), 20_000);
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;

const outlookBody = '<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>';
const requests = [
  { method: 'GET', path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com' },
  { method: 'GET', path: '/mail/config-v1.1.xml', headers: { host: 'autoconfig.example.org' } },
  { method: 'GET', path: '/v1.1/example.net' },
  { method: 'POST', path: '/Autodiscover/Autodiscover.xml', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: outlookBody },
  { method: 'GET', path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1', headers: { host: 'autodiscover.example.com' } },
  { method: 'GET', path: '/mobileconfig?emailaddress=kunde%40example.org' },
  { method: 'GET', path: '/setup?emailaddress=alice%40example.com' },
];

const memory = [];
const sampler = setInterval(() => memory.push({ s: memory.length + 1, mib: rss() }), 1000);
let reloads = 0;
const editor = setInterval(() => {
  reloads++;
  writeFileSync(join(providers, 'hoster-example.yaml'), reloads % 2 === 1 ? `${good}\nbroken: [` : good.replace('maxMessageSize: 25 MB', `maxMessageSize: ${20 + (reloads % 10)} MB`));
}, 2000);
const rotation = setTimeout(() => {
  copyFileSync(second.key, liveKey);
  copyFileSync(second.cert, liveCert);
}, (DURATION * 1000) / 2);

const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 50, duration: DURATION, requests, headers: { host: 'example.com' } });
clearInterval(editor);
clearTimeout(rotation);
clearInterval(sampler);
const readyz = await new Promise((resolve) => request({ host: '127.0.0.1', port, path: '/readyz' }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(JSON.parse(b))); }).end());

// Shutdown under load: a new connection per request; after SIGTERM new
// connections are refused (or reset unread in the accept queue), but every
// request the server read must be answered.
let shutdownOk = 0;
let afterStop = 0;
const shutdownFailures = [];
let stopping = false;
const once = () => new Promise((resolve) => {
  const r = request({ host: '127.0.0.1', port, path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com', headers: { connection: 'close' } }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) shutdownOk++; else shutdownFailures.push(res.statusCode); resolve(); });
  });
  r.on('error', (e) => { if (stopping && (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET')) afterStop++; else shutdownFailures.push(e.code); resolve(); });
  r.end();
});
const clients = Array.from({ length: 16 }, async () => { while (afterStop === 0) await once(); });
await new Promise((r) => setTimeout(r, 1500));
stopping = true;
server.kill('SIGTERM');
const exitCode = await new Promise((resolve) => server.on('exit', resolve));
await Promise.all(clients);
const stopped = JSON.parse(lines.find((l) => l.includes('"msg":"stopped"')) ?? '{}');

const at = (s) => memory.find((m) => m.s === s)?.mib ?? memory.at(-1).mib;
const growth = (at(DURATION) - at(10)) / at(10);
const summary = {
  durationS: DURATION,
  requests: result.requests.total,
  requestsPerSecond: Math.round(result.requests.average),
  status2xx: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  reloads,
  reloadsSeen: readyz.reload?.reloads,
  signingSubjectAfterRotation: readyz.signing?.subject,
  memoryMiB: { start: Math.round(memory[0].mib), at10s: Math.round(at(10)), end: Math.round(at(DURATION)), growthPercent: Math.round(growth * 1000) / 10 },
  shutdown: { exitCode, servedUnderStop: shutdownOk, refusedAfterStop: afterStop, failures: shutdownFailures, received: stopped.received, answered: stopped.answered },
};
console.log(`load and faults, ${DURATION} s at 50 connections over ${requests.length} request kinds:`);
console.log(`  ${summary.requests} requests (${summary.requestsPerSecond}/s), 2xx ${summary.status2xx}, non-2xx ${summary.non2xx}, errors ${summary.errors}, timeouts ${summary.timeouts}`);
console.log(`  latency p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`);
console.log(`  ${reloads} provider edits (good and broken alternating), ${summary.reloadsSeen} reloads seen; signing certificate after rotation: ${summary.signingSubjectAfterRotation}`);
console.log(`  resident memory: ${summary.memoryMiB.start} MiB at start, ${summary.memoryMiB.at10s} MiB at 10 s, ${summary.memoryMiB.end} MiB at ${DURATION} s (${summary.memoryMiB.growthPercent} %)`);
console.log(`  SIGTERM under load: exit ${exitCode}, read ${stopped.received}, answered ${stopped.answered}, client failures ${shutdownFailures.length}`);
console.log(JSON.stringify(summary));
const ok = summary.non2xx === 0 && summary.errors === 0 && summary.timeouts === 0 && growth < 0.1 && exitCode === 0 && shutdownFailures.length === 0 && stopped.received === stopped.answered && /second/.test(String(summary.signingSubjectAfterRotation));
if (!ok) console.error(lines.slice(-8).join("\n"));
process.exit(ok ? 0 : 1);
