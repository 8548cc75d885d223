/**
 * Item 1 of issue 20: stalled TLS handshakes are closed after the handshake
 * timeout, every error path destroys its socket, and open connections are
 * bounded per client and in total.
 */
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { loadCatalog } from '../src/catalog/catalog.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { buildApp, type AppOptions } from '../src/server/app.js';
import { CONNECTION_LIMITS } from '../src/server/connections.js';
import { get } from 'node:https';
import { figure } from './helpers/figures.js';
import { makePki } from './helpers/pki.js';
import { IDENTIFIER_PREFIX } from './helpers/server.js';

const pki = makePki('p256');

async function httpsApp(t: Test, options: Partial<AppOptions> = {}) {
  const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
  const app = await buildApp({ catalog: () => catalog, identifierPrefix: IDENTIFIER_PREFIX }, { https: { cert: pki.chainPem, key: pki.keyPem }, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const open = () => new Promise<number>((resolve) => app.server.getConnections((_e, n) => resolve(n)));
  return { port, open };
}

/** A TCP connection that sends the first bytes of a ClientHello and then nothing. */
function stalled(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      resolve(socket);
    });
    socket.on('error', () => resolve(socket));
  });
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return -1;
}

t.test('stalled handshakes are closed by the server after the handshake timeout', async (t) => {
  const { port, open } = await httpsApp(t);
  const sockets = await Promise.all(Array.from({ length: 200 }, () => stalled(port)));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const closedByServer = Promise.all(sockets.map((s) => new Promise((r) => s.on('close', r))));
  await new Promise((r) => setTimeout(r, 200));
  const first = await open();
  t.ok(first >= 100, `they are open at first (${first})`);
  const after = await waitFor(async () => (await open()) === 0, CONNECTION_LIMITS.handshakeTimeoutMs + 3000);
  t.ok(after >= 0, `all closed ${after} ms after the last one opened (timeout ${CONNECTION_LIMITS.handshakeTimeoutMs} ms)`);
  await closedByServer;
  figure(`TLS: 200 stalled handshakes closed by the server within ${after} ms (handshake timeout ${CONNECTION_LIMITS.handshakeTimeoutMs} ms)`);
});

t.test('a client that goes away mid-handshake leaves nothing open', async (t) => {
  const { port, open } = await httpsApp(t);
  const sockets = await Promise.all(Array.from({ length: 100 }, () => stalled(port)));
  for (const [i, s] of sockets.entries()) if (i % 2) s.end();
  else s.resetAndDestroy();
  t.ok((await waitFor(async () => (await open()) === 0, 3000)) >= 0, 'every socket is gone within 3 s');
});

t.test('connections are bounded per client, not for other clients', async (t) => {
  const { port, open } = await httpsApp(t, { connectionLimits: { perClient: 20 } });
  const sockets = await Promise.all(Array.from({ length: 30 }, () => stalled(port)));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.ok((await waitFor(async () => (await open()) === 20, 2000)) >= 0, `20 open from one client (${await open()})`);
  const other = await new Promise<number | string>((resolve) => {
    const r = get({ host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.0.2', rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', (e) => resolve(e.message));
  });
  t.equal(other, 200, 'another client is served');
});

t.test('connections are bounded in total', async (t) => {
  const { port, open } = await httpsApp(t, { connectionLimits: { total: 25 } });
  const sockets = await Promise.all(Array.from({ length: 40 }, (_, i) => stalled(port, `127.0.0.${2 + (i % 20)}`)));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 300));
  t.ok((await open()) <= 25, `at most 25 open (${await open()})`);
});
