/**
 * The connection policy of every listener: what a client can hold open.
 *
 * - TLS handshakes must finish within `handshakeTimeoutMs` (Node's default
 *   is 120 s). A handshake that fails or times out ends in 'tlsClientError',
 *   which node:https passes on as 'clientError'; with a clientError listener
 *   (Fastify always has one) Node leaves closing the socket to it, and a
 *   socket whose handshake never finished was never closed: the descriptor
 *   leaked (https://nodejs.org/api/tls.html#event-tlsclienterror). Every
 *   such socket is destroyed here.
 * - At most `perClient` connections per client address (an IPv6 client is
 *   its /64, as for the rate limit), except from trusted proxies, and at
 *   most `total` in all (net.Server maxConnections); connections beyond
 *   that are closed at once, before any TLS work.
 * - Node checks header and request timeouts only every
 *   connectionsCheckingInterval (default 30 s), so a 10 s limit took up to
 *   40 s (https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener).
 */
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientKey } from './rate-limit.js';

export interface ConnectionLimits {
  readonly handshakeTimeoutMs: number;
  readonly perClient: number;
  readonly total: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  // Browsers open 6 per host, a NAT of an office or a school many more.
  perClient: 256,
  // Well below the usual descriptor limit of a container (65,536 or 1,048,576).
  total: 16_384,
};

/** Options for http.createServer and https.createServer that the policy needs at construction. */
export function serverOptions(limits: Partial<ConnectionLimits> = {}): { connectionsCheckingInterval: number; handshakeTimeout: number } {
  return { connectionsCheckingInterval: 1_000, handshakeTimeout: limits.handshakeTimeoutMs ?? CONNECTION_LIMITS.handshakeTimeoutMs };
}

/** Apply the connection limits to a listener (HTTP or HTTPS). */
export function applyConnectionPolicy(server: Server, limits: Partial<ConnectionLimits> = {}, isTrusted: (address: string) => boolean = () => false): void {
  const { perClient, total } = { ...CONNECTION_LIMITS, ...limits };
  server.maxConnections = total;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    if (isTrusted(address)) return;
    const key = clientKey(address);
    const count = (open.get(key) ?? 0) + 1;
    if (count > perClient) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
  // After node:https's own listener (clientError, which may try to answer): the socket goes.
  server.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy());
}
