/**
 * Operating the service: HTTPS with certificate reload, the HTTP companion
 * (autoconfig served, the rest redirected), HSTS rules, trusted proxies,
 * metrics, readiness, logs without addresses, graceful shutdown under load.
 * The real `serve` command runs as a child process.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:tls';
import t from 'tap';
import { httpFetch } from '../src/http-client.js';
import { liveFiles, makePki } from './helpers/pki.js';
import { spawnServe } from './helpers/process.js';
import { request, startServer } from './helpers/server.js';

/** The serial number of the certificate a TLS server presents. */
function peerSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

t.test('HTTPS, the HTTP companion, HSTS, readiness and certificate reload', async (t) => {
  const first = makePki('rsa', 40);
  const second = makePki('p256', 90);
  const live = liveFiles(first, 'tls');
  const { certFile, keyFile } = live;
  const server = await spawnServe(t, ['--tls-cert', certFile, '--tls-key', keyFile, '--https-port', '0'], {}, 2);
  const https = server.urls.find((u) => u.startsWith('https:'))!;
  const http = server.urls.find((u) => u.startsWith('http:'))!;
  t.ok(https && http, `listening on ${server.urls.join(' and ')}`);

  const tb = await httpFetch(`${https}/mail/config-v1.1.xml?emailaddress=alice%40example.com`, { host: 'autoconfig.example.com', insecure: true });
  t.equal(tb.status, 200, 'autoconfig over HTTPS');
  t.equal(tb.headers['strict-transport-security'], undefined, 'no HSTS on autoconfig.*');
  const page = await httpFetch(`${https}/setup?emailaddress=alice%40example.com`, { host: 'mail.example.com', insecure: true });
  t.equal(page.headers['strict-transport-security'], 'max-age=31536000', 'HSTS elsewhere, without includeSubDomains');

  const direct = await httpFetch(`${http}/mail/config-v1.1.xml`, { host: 'autoconfig.example.com' });
  t.equal(direct.status, 200, 'Thunderbird\'s HTTP fallback is served directly');
  const outlook = await httpFetch(`${http}/AutoDiscover/AutoDiscover.xml`, { host: 'autodiscover.example.com' });
  t.equal(outlook.status, 200, 'Autodiscover over HTTP too');
  const health = await httpFetch(`${http}/healthz`);
  t.equal(health.status, 200);
  const redirect = await httpFetch(`${http}/setup?emailaddress=alice%40example.com&lang=de`, { host: 'mail.example.com' });
  t.equal(redirect.status, 308);
  t.equal(redirect.headers.location, `https://mail.example.com:${new URL(https).port}/setup?emailaddress=alice%40example.com&lang=de`, 'path and query kept');
  const profile = await httpFetch(`${http}/mobileconfig?emailaddress=alice%40example.com`, { host: 'mail.example.com' });
  t.equal(profile.status, 308, 'profiles only over HTTPS');

  const ready = JSON.parse((await httpFetch(`${https}/readyz`, { insecure: true })).text);
  t.match(ready.tls, { notAfter: /^\d{4}-/, error: null });

  const before = await peerSerial(Number(new URL(https).port), 'autoconfig.example.com');
  live.renew(second);
  let after = before;
  for (let i = 0; i < 60 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 250));
    after = await peerSerial(Number(new URL(https).port), 'autoconfig.example.com');
  }
  t.not(after, before, 'the renewed certificate is served without a restart');
  server.process.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('trusted proxies: X-Forwarded-* believed only from them', async (t) => {
  const { url: trusting } = await startServer(t, { trustedProxies: ['127.0.0.1'] });
  const { url: plain } = await startServer(t);
  const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'autoconfig.example.net' };
  const viaProxy = await request(`${trusting}/setup?emailaddress=alice%40example.com`, { headers });
  t.match(viaProxy.text, 'href="https://autoconfig.example.net/mobileconfig?emailaddress=alice%40example.com"');
  const spoofed = await request(`${plain}/setup?emailaddress=alice%40example.com`, { headers });
  t.notMatch(spoofed.text, 'autoconfig.example.net', 'ignored from an untrusted address');
});

t.test('metrics on their own port and behind a token; logs carry no address', async (t) => {
  const token = 'a-long-metrics-token-0123456789';
  const server = await spawnServe(t, ['--metrics-port', '0', '--metrics-token', token]);
  const url = server.urls[0]!;
  await httpFetch(`${url}/mail/config-v1.1.xml?emailaddress=secret.person%40example.com`, { headers: { authorization: 'Basic c2VjcmV0OnBhc3N3b3Jk' } });
  await httpFetch(`${url}/mobileconfig?emailaddress=secret.person%40example.com`);
  await httpFetch(`${url}/v1.1/unknown.example`);
  await httpFetch(`${url}/autodiscover/autodiscover.json/v1.0/secret.person@example.com?Protocol=AutodiscoverV1`);
  await httpFetch(`${url}/autodiscover/autodiscover.json/v1.0/secret.person%40example.com?Protocol=AutodiscoverV1`);
  const metricsLine = server.lines.find((l) => l.includes('metrics listening'))!;
  const metricsPort = JSON.parse(metricsLine).address.port as number;
  const scraped = await httpFetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(scraped.status, 200);
  t.match(scraped.text, /mail_autoconfig_requests_total\{format="thunderbird",status="200"\} 1/);
  t.match(scraped.text, /mail_autoconfig_requests_total\{format="apple",status="200"\} 1/);
  t.match(scraped.text, /mail_autoconfig_requests_total\{format="thunderbird",status="404"\} 1/);
  t.match(scraped.text, /mail_autoconfig_request_duration_seconds_bucket\{le="0\.005",format="thunderbird"\}/);
  t.match(scraped.text, /^mail_autoconfig_providers 2$/m);
  t.match(scraped.text, /^mail_autoconfig_domains 4$/m);
  t.match(scraped.text, /^mail_autoconfig_catalog_reloads_total \d+$/m);
  t.match(scraped.text, /mail_autoconfig_process_resident_memory_bytes/);
  t.equal((await httpFetch(`${url}/metrics`)).status, 401, 'the main port wants the token');
  t.equal((await httpFetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

  // Log lines are written in batches, at least every half second.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const requestLines = server.lines.filter((l) => l.includes('"msg":"request"'));
  t.ok(requestLines.length >= 7, `one line per request, written within a second (${requestLines.length})`);
  t.match(JSON.parse(requestLines[0]!), { format: 'thunderbird', host: '127.0.0.1', domain: 'example.com', status: 200, path: '/mail/config-v1.1.xml' });
  // A refusal names the domain it refused, not only in its reason.
  t.match(JSON.parse(requestLines.find((l) => l.includes('unknown.example'))!), { format: 'thunderbird', domain: 'unknown.example', status: 404, reason: /unknown\.example/ });
  t.notMatch(server.lines.join('\n'), /secret\.person|c2VjcmV0|authorization/i, 'no address, no Authorization header in the logs');
  server.process.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('SIGTERM under load: requests in flight finish, the process exits in time', async (t) => {
  const server = await spawnServe(t, ['--shutdown-delay', '0.5', '--rate-limit', '0']);
  const url = new URL(server.urls[0]!);
  let ok = 0;
  let refused = 0;
  const failures: string[] = [];
  let stopping = false;
  const once = () =>
    new Promise<void>((resolve) => {
      // A new connection per request: after the stop, new connections are refused (never in flight).
      const req = httpRequest({ host: '127.0.0.1', port: url.port, path: '/setup?emailaddress=alice%40example.com', headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failures.push(`HTTP ${res.statusCode}`);
          resolve();
        });
        res.on('error', (e) => {
          failures.push(`response ${e.message}`);
          resolve();
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        // After the stop: refused, or reset by the kernel while still queued
        // for accept (the process never read it; the stopped log line proves
        // every request it read was answered).
        if ((e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET') && stopping) refused++;
        else failures.push(`${e.code ?? e.message}`);
        resolve();
      });
      req.end();
    });
  const client = async () => {
    while (refused === 0) await once();
  };
  const clients = Array.from({ length: 16 }, client);
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  stopping = true;
  server.process.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  const draining = await httpFetch(`${url.origin}/readyz`).catch(() => undefined);
  t.equal(draining?.status, 503, 'readiness says stopping during the delay');
  const code = await server.exited;
  const tookMs = Date.now() - started;
  await Promise.all(clients);
  t.equal(code, 0, 'clean exit');
  t.ok(tookMs < 10_000, `stopped in ${tookMs} ms`);
  t.same(failures, [], `no request failed (${ok} served, then ${refused} connections refused or reset unread after the stop)`);
  t.ok(ok > 50, `${ok} requests served under load`);
  const stopped = JSON.parse(server.lines.find((l) => l.includes('"msg":"stopped"'))!);
  t.equal(stopped.answered, stopped.received, `every request the process read was answered (${stopped.received})`);
  t.equal(stopped.answered, ok + 1, 'and every answer reached its client (plus the readiness probe)');
});
