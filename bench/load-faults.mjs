// Load and faults: DURATION s (default 60) at saturation over every format,
// over HTTPS, while the catalog is reloaded every 2 s (good and broken edits
// alternating) and the signing certificate is rotated once; during the load
// also (issue 20): a reload of 1,000,000 domains (the slowest answer of a
// probe meanwhile is printed: it bounds the longest event-loop stall), a
// 50 MB file and an alias bomb dropped into the folder, 5,000 stalled TLS
// handshakes (descriptors back to the baseline within the handshake
// timeout), and standard output not read for 10 s; then SIGTERM under load.
// Prints requests, errors, latency, memory; the last line is JSON. Exit 1
// when an invariant fails.
//   node bench/load-faults.mjs            (after npm run build)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { productionNodeFlags, root } from './production.mjs';

const DURATION = Number(process.env.DURATION ?? 60);
const METRICS_TOKEN = 'load-faults-metrics-token';
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
const [first, second, tls] = [makeCert('first', 'rsa'), makeCert('second', 'p256'), makeCert('tls', 'p256')];
const liveKey = join(work, 'signing.key');
const liveCert = join(work, 'signing.pem');
copyFileSync(first.key, liveKey);
copyFileSync(first.cert, liveCert);

const server = spawn(process.execPath, [...productionNodeFlags(), join(root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--https-port', '0', '--tls-cert', tls.cert, '--tls-key', tls.key, '--providers', providers, '--signing-key', liveKey, '--signing-cert', liveCert, '--rate-limit', '0', '--shutdown-delay', '0.3', '--log-level', 'info', '--metrics-token', METRICS_TOKEN], { stdio: ['ignore', 'pipe', 'pipe'] });
const lines = [];
let port;
let httpsPort;
let droppedLogLines = 0;
await new Promise((resolve, reject) => {
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      // One log line per request: count them, keep only the others.
      if (line.includes('"msg":"request"')) continue;
      lines.push(line);
      const dropped = /"msg":"dropped (\d+) log lines/.exec(line);
      if (dropped) droppedLogLines += Number(dropped[1]);
      const match = /listening at (https?):\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match && match[1] === 'https') httpsPort = Number(match[2]);
      else if (match) port = Number(match[2]);
      if (port && httpsPort) resolve();
    }
  };
  server.stdout.on('data', onData);
  server.stderr.on('data', onData);
  server.on('exit', (code) => reject(new Error(`server exited ${code}: ${lines.join('\n')}`)));
  setTimeout(() => reject(new Error('no start')), 20_000);
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;
const descriptors = () => readdirSync(`/proc/${server.pid}/fd`).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One GET on the plain-HTTP port on a connection of its own, timed.
const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const probe = (path) => new Promise((resolve) => {
  const sent = performance.now();
  const r = request({ host: '127.0.0.1', port, path, agent: probeAgent, headers: { host: 'example.com' } }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - sent }));
  });
  r.on('error', (e) => resolve({ status: e.code, ms: performance.now() - sent }));
  r.end();
});

// A hoster's list of a million domains, dropped in during the load: probe
// until its last domain is served; the slowest answer meanwhile bounds the
// longest stall of the service's event loop. Then it goes again.
const BIG_DOMAINS = 1_000_000;
async function millionDomains() {
  const baselineDelayMs = await eventLoopDelayMs();
  const domains = Array.from({ length: BIG_DOMAINS }, (_, i) => `  - customer${i}.example`).join('\n');
  writeFileSync(join(providers, 'big-hoster.yaml'), `id: big-hoster\nname: Big Hoster\ndomains:\n${domains}\nincoming:\n  - { type: imap, host: imap.big-hoster.example }\noutgoing:\n  - { host: smtp.big-hoster.example }\n`);
  const started = performance.now();
  let slowest = 0;
  let probes = 0;
  let failed = 0;
  for (;;) {
    const answer = await probe(`/v1.1/customer${BIG_DOMAINS - 1}.example`);
    probes++;
    slowest = Math.max(slowest, answer.ms);
    if (answer.status === 200) break;
    if (answer.status !== 404) failed++;
    if (performance.now() - started > 60_000) return { servedAfterMs: null, slowestAnswerMs: Math.round(slowest * 10) / 10, probes, failed };
  }
  const servedAfterMs = Math.round(performance.now() - started);
  const eventLoopStallMs = await eventLoopDelayMs();
  rmSync(join(providers, 'big-hoster.yaml'));
  return { servedAfterMs, eventLoopStallMs, baselineDelayMs, slowestAnswerMs: Math.round(slowest * 10) / 10, probes, failed };
}

// The service's own longest event-loop delay since the previous scrape, in ms.
const eventLoopDelayMs = () => new Promise((resolve) => {
  const r = request({ host: '127.0.0.1', port, path: '/metrics', agent: probeAgent, headers: { authorization: `Bearer ${METRICS_TOKEN}` } }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => resolve(Math.round(Number(/^mail_autoconfig_event_loop_delay_max_seconds (\S+)/m.exec(body)?.[1]) * 10000) / 10));
  });
  r.on('error', () => resolve(null));
  r.end();
});

// The slowest probe answer without a large reload, for comparison.
async function probeBaseline(ms) {
  let slowest = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) slowest = Math.max(slowest, (await probe('/v1.1/example.com')).ms);
  return Math.round(slowest * 10) / 10;
}

// A 50 MB provider file and an alias bomb: refused, the last good catalog served.
async function hostileFiles() {
  writeFileSync(join(providers, 'padded.yaml'), `${good.replace('id: hoster-example', 'id: padded')}\n${'# padding\n'.repeat(5 * 1024 * 1024)}`);
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  writeFileSync(join(providers, 'bomb.yaml'), `${levels.join('\n')}\n`);
  await sleep(1500);
  return (await probe('/v1.1/example.org')).status;
}

// 5,000 connections to the HTTPS port that start a handshake and stop
// (from 40 loopback addresses: one address may hold 256), opened 250 per
// 200 ms: faster, the kernel's accept queue overflows and holds connections
// back for seconds (SYN-ACK retries), so the service would see them later
// than the script (at 250 per 100 ms, a run where the load left the service
// accepting slowly peaked at 1,841 descriptors and still held 28 extra
// 20 s after the last one opened). Its descriptors must be back at the baseline within the
// handshake timeout (and 5 s) after the last one reached it.
const STALLED = 5000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
async function stalledHandshakes() {
  const baseline = descriptors();
  const sockets = [];
  for (let i = 0; i < STALLED; i += 250) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(250, STALLED - i) }, (_, j) => new Promise((resolve) => {
      const socket = connect({ port: httpsPort, host: '127.0.0.1', localAddress: `127.0.1.${1 + ((i + j) % 40)}` }, () => {
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
        resolve(socket);
      });
      socket.on('error', () => resolve(socket));
    })))));
    await sleep(200);
  }
  const opened = performance.now();
  let peak = descriptors();
  // The service's handshake timeout runs from its accept, and connections the kernel queued
  // (SYN-ACK retries after an accept queue overflowed) reach it seconds after they opened
  // here: the count is judged from the last time it rose, the service's last accept.
  let previous = peak;
  let lastRise = opened;
  let backAfterMs = null;
  let afterLastRiseMs = null;
  while (performance.now() - lastRise < HANDSHAKE_TIMEOUT_MS + 10_000 && performance.now() - opened < 60_000) {
    const now = descriptors();
    peak = Math.max(peak, now);
    if (now > previous) lastRise = performance.now();
    previous = now;
    if (now <= baseline + 5) {
      backAfterMs = Math.round(performance.now() - opened);
      afterLastRiseMs = Math.round(performance.now() - lastRise);
      break;
    }
    await sleep(250);
  }
  const end = descriptors();
  const closedByService = sockets.filter((s) => s.destroyed || s.readyState === 'closed').length;
  for (const socket of sockets) socket.destroy();
  return { stalled: STALLED, baseline, peak, end, backAfterMs, afterLastRiseMs, closedByService };
}

// Standard output not read for 10 s: the answers go on, lines are dropped and counted.
async function stalledStdout() {
  server.stdout.pause();
  await sleep(10_000);
  server.stdout.resume();
}

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
let steadyFrom = 10;
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

const load = autocannon({ url: `https://127.0.0.1:${httpsPort}`, connections: 50, duration: DURATION, requests, headers: { host: 'example.com' } });
// The faults, one after another during the load.
const faults = (async () => {
  await sleep(1000);
  const baselineSlowestMs = await probeBaseline(1500);
  const reload = { domains: BIG_DOMAINS, ...(await millionDomains()), baselineSlowestMs };
  await sleep(1500);
  const hostileStatus = await hostileFiles();
  const [tlsResult] = await Promise.all([stalledHandshakes(), sleep(1000).then(stalledStdout)]);
  // Memory is compared from a little after the last fault on: the million
  // domains legitimately stay in the catalog, the rest must not grow.
  steadyFrom = memory.length + 5;
  return { reload, hostileStatus, tls: tlsResult };
})();
const result = await load;
const faultResults = await faults;
clearInterval(editor);
clearTimeout(rotation);
clearInterval(sampler);
await sleep(11_000);
const readyz = await new Promise((resolve) => request({ host: '127.0.0.1', port, path: '/readyz' }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(JSON.parse(b))); }).end());
probeAgent.destroy();

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
const from = Math.min(Math.max(10, steadyFrom), DURATION - 5);
const growth = (at(DURATION) - at(from)) / at(from);
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
  // Edits during a long reload are taken together; the last one must be in service.
  lastEditInService: readyz.catalog?.staleFiles.includes('hoster-example.yaml') === (reloads % 2 === 1),
  signingSubjectAfterRotation: readyz.signing?.subject,
  memoryMiB: { start: Math.round(memory[0].mib), steadyFromS: from, atSteady: Math.round(at(from)), end: Math.round(at(DURATION)), growthPercent: Math.round(growth * 1000) / 10 },
  shutdown: { exitCode, servedUnderStop: shutdownOk, refusedAfterStop: afterStop, failures: shutdownFailures, received: stopped.received, answered: stopped.answered },
  millionDomainReload: faultResults.reload,
  hostileFiles: { lastGoodStatus: faultResults.hostileStatus, skippedFiles: readyz.catalog?.problemFiles },
  stalledHandshakes: faultResults.tls,
  stalledStdout: { seconds: 10, droppedLogLines },
};
console.log(`load and faults, ${DURATION} s at 50 connections over ${requests.length} request kinds:`);
console.log(`  ${summary.requests} requests (${summary.requestsPerSecond}/s), 2xx ${summary.status2xx}, non-2xx ${summary.non2xx}, errors ${summary.errors}, timeouts ${summary.timeouts}`);
console.log(`  latency p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`);
console.log(`  ${reloads} provider edits (good and broken alternating), ${summary.reloadsSeen} reloads seen; signing certificate after rotation: ${summary.signingSubjectAfterRotation}`);
console.log(`  resident memory: ${summary.memoryMiB.start} MiB at start, ${summary.memoryMiB.atSteady} MiB at ${from} s (after the faults), ${summary.memoryMiB.end} MiB at ${DURATION} s (${summary.memoryMiB.growthPercent} %)`);
console.log(`  SIGTERM under load: exit ${exitCode}, read ${stopped.received}, answered ${stopped.answered}, client failures ${shutdownFailures.length}`);
const r = summary.millionDomainReload;
console.log(`  reload of ${r.domains} domains: served after ${r.servedAfterMs} ms; longest event-loop stall of the service meanwhile ${r.eventLoopStallMs} ms (target < 50 ms: ${r.eventLoopStallMs < 50 ? 'met' : 'NOT met'}, ${r.baselineDelayMs} ms in the 1.5 s before); slowest of ${r.probes} probe answers ${r.slowestAnswerMs} ms (${r.baselineSlowestMs} ms before), ${r.failed} failed`);
console.log(`  50 MB file and alias bomb dropped in: last good catalog answered ${summary.hostileFiles.lastGoodStatus}; files with problems: ${summary.hostileFiles.skippedFiles?.join(', ')}`);
const h = summary.stalledHandshakes;
console.log(`  ${h.stalled} stalled TLS handshakes: service descriptors ${h.baseline} before, at most ${h.peak}, ${h.end} ${h.backAfterMs} ms after the last one opened and ${h.afterLastRiseMs} ms after the service's count last rose (handshake timeout ${HANDSHAKE_TIMEOUT_MS} ms); ${h.closedByService} closed by the service`);
console.log(`  standard output not read for 10 s: ${droppedLogLines} log lines dropped and reported`);
console.log(JSON.stringify(summary));
const faultsOk = r.servedAfterMs !== null && r.failed === 0 && summary.hostileFiles.lastGoodStatus === 200 && h.afterLastRiseMs !== null && h.afterLastRiseMs <= HANDSHAKE_TIMEOUT_MS + 5000 && droppedLogLines > 0;
const ok = faultsOk && summary.non2xx === 0 && summary.errors === 0 && summary.timeouts === 0 && growth < 0.1 && exitCode === 0 && shutdownFailures.length === 0 && stopped.received === stopped.answered && /second/.test(String(summary.signingSubjectAfterRotation));
if (!ok) console.error(lines.slice(-8).join("\n"));
process.exit(ok ? 0 : 1);
