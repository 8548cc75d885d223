/** Limits a public service needs: rate, header size, slow senders, raw bytes, key files. */
import { chmodSync, copyFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { SignerSource } from '../src/keys/signer-source.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { buildApp } from '../src/server/app.js';
import { RateLimiter } from '../src/server/rate-limit.js';
import { figure } from './helpers/figures.js';
import { makePki } from './helpers/pki.js';
import { spawnServe } from './helpers/process.js';
import { IDENTIFIER_PREFIX, request, startServer } from './helpers/server.js';

async function limitedApp(t: Test, trustedProxies: string[] = []) {
  const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: IDENTIFIER_PREFIX }, { rateLimitPerMinute: 5, trustedProxies });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}


t.test('a client over the rate limit gets 429 with Retry-After and a reason', async (t) => {
  const url = await limitedApp(t);
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 7; i++) {
    last = await request(`${url}/v1.1/example.com`);
    statuses.push(last.status);
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429]);
  t.match(last!.headers['retry-after'], /^\d+$/);
  t.match(last!.text, /^too many requests from your address; try again in \d+ s\n$/);
});

t.test('the limiter counts per minute and per client, and stays bounded', async (t) => {
  const limiter = new RateLimiter(2, 3);
  const start = 1_000_000;
  t.same([limiter.take('a', start), limiter.take('a', start + 1), limiter.take('a', start + 2)], [0, 0, 60], 'the third request in a minute waits the rest of it');
  t.equal(limiter.take('b', start + 30_000), 0, 'another client has its own count');
  t.equal(limiter.take('a', start + 30_000), 30, 'the wait shrinks as the minute passes');
  t.equal(limiter.take('a', start + 60_000), 0, 'a new minute starts afresh');
  for (const client of ['c', 'd', 'e', 'f']) limiter.take(client, start + 60_001);
  t.equal(limiter.trackedClients(), 3, 'at most maxClients are counted exactly');
  t.same([limiter.take('f', start + 60_002), limiter.take('f', start + 60_003) > 0], [0, true], 'beyond them, a client is still limited (test/rate-limit-bounded.ts)');
});

t.test('behind a trusted proxy: limited per forwarded client, the proxy itself never', async (t) => {
  const url = await limitedApp(t, ['127.0.0.1']);
  const forwarded = async (client: string) => (await request(`${url}/v1.1/example.com`, { headers: { 'x-forwarded-for': client } })).status;
  const a: number[] = [];
  for (let i = 0; i < 6; i++) a.push(await forwarded('198.51.100.7'));
  t.same(a, [200, 200, 200, 200, 200, 429], 'the forwarded client is limited');
  t.equal(await forwarded('198.51.100.8'), 200, 'another client is not');
  const own: number[] = [];
  for (let i = 0; i < 10; i++) own.push((await request(`${url}/healthz`)).status);
  t.same([...new Set(own)], [200], 'the proxy\'s own requests are not limited');
});

t.test('oversized headers and raw bytes get one plain line, not JSON or a crash', async (t) => {
  const { port } = await startServer(t);
  const raw = (bytes: Buffer) =>
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
  const big = await raw(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
  t.match(big, /^HTTP\/1\.1 431 [^]*\r\n\r\nthe request headers are too large\n$/);
  for (const bytes of [Buffer.from([...Buffer.from('GET /setup?emailaddress=a@'), 0xff, 0xfe, ...Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), Buffer.from('GARBAGE\r\n\r\n'), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n')]) {
    const answer = await raw(bytes);
    t.match(answer, /^HTTP\/1\.1 400 [^]*\r\n\r\nthe request is not valid HTTP/, JSON.stringify(bytes.toString('latin1').slice(0, 30)));
  }
  t.equal((await request(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still answering');
});

t.test('500 slowloris connections do not stop a normal client', async (t) => {
  const server = await spawnServe(t, ['--rate-limit', '0']);
  const url = new URL(server.urls[0]!);
  const sockets: Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  await Promise.all(
    // From ten addresses: one address holds at most 256 connections (connections.ts).
    Array.from({ length: 500 }, (_, i) =>
      new Promise<void>((resolve) => {
        const socket = connect({ port: Number(url.port), host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 10)}` }, () => {
          socket.write('GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: example.com\r\n');
          resolve();
        });
        socket.on('error', () => resolve());
        sockets.push(socket);
      }),
    ),
  );
  const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write('X-a: b\r\n')), 500);
  t.teardown(() => clearInterval(drip));
  const timings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    const response = await request(`${url.origin}/mail/config-v1.1.xml?emailaddress=alice%40example.com`);
    t.equal(response.status, 200);
    timings.push(Date.now() - started);
    await new Promise((r) => setTimeout(r, 300));
  }
  t.ok(Math.max(...timings) < 1000, `a normal client is served while 500 slow ones hang on (${timings.join(', ')} ms)`);
  figure(`slowloris: 500 slow connections open; a normal client answered in ${timings.join(', ')} ms`);
  clearInterval(drip);
  server.process.kill('SIGTERM');
  await server.exited;
});

t.test('a signing key readable by others is a readiness warning', async (t) => {
  const pki = makePki('p256');
  const key = join(pki.dir, 'open.key');
  copyFileSync(pki.keyFile, key);
  chmodSync(key, 0o644);
  const signer = new SignerSource({ keyFile: key, certFile: pki.chainFile });
  const { url } = await startServer(t, { signer });
  const ready = JSON.parse((await request(`${url}/readyz`)).text);
  t.match(ready.warnings, [/open\.key is readable by other users \(mode 644\); chmod 600 it/]);
  chmodSync(key, 0o600);
  const quiet = new SignerSource({ keyFile: key, certFile: pki.chainFile });
  await quiet.reloadIfChanged();
  t.equal(quiet.permissionWarning, undefined);
});
