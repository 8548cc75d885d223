/**
 * A small HTTP client that can set the Host header (fetch cannot), for the
 * check command: clients reach autoconfig.<domain> while the deployment
 * under test may listen on an IP address.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly text: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly host?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Accept any TLS certificate (a deployment checked by IP address). */
  readonly insecure?: boolean;
}

export function httpFetch(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: {
          ...(options.host !== undefined ? { host: options.host } : {}),
          // Like the mail clients: a declared length rather than chunks.
          ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 10_000,
        ...(options.host && target.protocol === 'https:' ? { servername: options.host.replace(/:\d+$/, '') } : {}),
        ...(options.insecure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve({ status: res.statusCode ?? 0, headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
