/**
 * deploy/Caddyfile with Debian's real Caddy on loopback ports, its internal
 * CA standing in for ACME: a certificate is issued on demand for a served
 * customer domain and refused for any other name, and the configuration
 * arrives through Caddy.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../../src/paths.js';
import { startServer } from '../helpers/server.js';

const run = promisify(execFile);
const CADDY = process.env.CADDY_BINARY ?? '/usr/bin/caddy';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** curl --resolve <name>:<port>:127.0.0.1, as the issue's operators would check it. */
async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['--silent', '--show-error', '--max-time', '20', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * curl against a certificate Caddy has only just issued. Caddy's internal
 * issuer stamps NotBefore with the current time and no backdate
 * (modules/caddytls/internalissuer.go, customCertLifetime), unlike public ACME
 * CAs; a test machine whose clock NTP steps back in its first minutes then sees
 * "certificate is not yet valid" (CI did once). That is the clock, not the
 * Caddyfile: read the presented certificate's start, wait for it (a minute at
 * most) and ask again, saying so in the test's output.
 */
async function curlFresh(t: Test, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await curl(args);
  if (result.code !== 60 || !/not yet valid/.test(result.stderr)) return result;
  // The same request without verification, printing the chain's dates.
  const probe: string[] = ['--insecure', '--write-out', '%{certs}', '--output', '/dev/null'];
  for (let i = 0; i < args.length; i++) {
    if (['--cacert', '--write-out', '--output'].includes(args[i]!)) i++;
    else probe.push(args[i]!);
  }
  const url = args.find((a) => a.startsWith('https://'));
  const presented = await curl(probe);
  const starts = [...presented.stdout.matchAll(/^Start date:\s*(.+)$/gm)].map((m) => Date.parse(m[1]!)).filter(Number.isFinite);
  const wait = Math.max(0, ...starts) - Date.now() + 1000;
  t.comment(`${url}: the certificate starts ${Math.round(wait / 1000)} s in this machine's future; waiting for it`);
  if (wait > 60_000) return result;
  await new Promise((r) => setTimeout(r, Math.max(wait, 1000)));
  return curl(args);
}

async function main(t: Test): Promise<void> {
  const { port: upstream } = await startServer(t, { trustedProxies: ['127.0.0.1'] });
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const data = mkdtempSync(join(tmpdir(), 'caddy-'));
  const caddy = spawn(CADDY, ['run', '--config', join(PROJECT_ROOT, 'deploy', 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: {
      ...process.env,
      HOME: data,
      XDG_DATA_HOME: data,
      XDG_CONFIG_HOME: data,
      CADDY_ADMIN: 'off',
      CADDY_HTTP_PORT: String(httpPort),
      CADDY_HTTPS_PORT: String(httpsPort),
      CADDY_ISSUER: 'internal',
      MAIL_AUTOCONFIG_UPSTREAM: `127.0.0.1:${upstream}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  caddy.stderr.on('data', (c: Buffer) => log.push(c.toString()));
  t.teardown(() => caddy.kill('SIGKILL'));
  for (let i = 0; i < 100 && !log.join('').includes('serving initial configuration'); i++) await new Promise((r) => setTimeout(r, 100));
  t.match(log.join(''), 'serving initial configuration', 'Caddy started');

  const resolve = (name: string, port: number) => ['--resolve', `${name}:${port}:127.0.0.1`];
  const served = 'autoconfig.example.com';
  // The first request makes Caddy ask mail-autoconfig, then issue the certificate.
  const first = await curl(['--insecure', ...resolve(served, httpsPort), `https://${served}:${httpsPort}/mail/config-v1.1.xml?emailaddress=alice%40example.com`, '--write-out', '\n%{http_code} %{content_type}']);
  t.equal(first.code, 0, `HTTPS to ${served}: ${first.stderr}`);
  t.match(first.stdout, /<emailProvider id="example.com">[\s\S]*<username>alice@example.com<\/username>[\s\S]*\n200 text\/xml; charset=utf-8$/, 'the config arrives through Caddy');

  const root = join(data, 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  t.ok(existsSync(root), 'Caddy\'s internal CA');
  const verified = await curlFresh(t, ['--cacert', root, ...resolve('autodiscover.example.net', httpsPort), `https://autodiscover.example.net:${httpsPort}/autodiscover/autodiscover.json?Email=bob%40example.net&Protocol=AutodiscoverV1`]);
  t.equal(verified.code, 0, `a certificate for autodiscover.example.net that verifies against the CA: ${verified.stderr}`);
  t.same(JSON.parse(verified.stdout || '{}'), { Protocol: 'AutodiscoverV1', Url: 'https://autodiscover.example.net/autodiscover/autodiscover.xml' }, 'X-Forwarded-Proto/Host from the trusted proxy');

  const pacc = await curlFresh(t, ['--cacert', root, ...resolve('ua-auto-config.example.com', httpsPort), `https://ua-auto-config.example.com:${httpsPort}/.well-known/user-agent-configuration.json`, '--write-out', '\n%{http_code} %{content_type}']);
  t.equal(pacc.code, 0, `a certificate for ua-auto-config.example.com (PACC): ${pacc.stderr}`);
  t.match(pacc.stdout, /^\{"protocols":\{"imap":\{"host":"imap\.example\.com"\}.*\n200 application\/json$/s, 'the PACC document arrives through Caddy');

  const certificate = await curlFresh(t, ['--cacert', root, ...resolve(served, httpsPort), `https://${served}:${httpsPort}/healthz`, '--write-out', '%{certs}', '--output', '/dev/null']);
  t.match(certificate.stdout, /DNS:autoconfig\.example\.com/, 'the certificate names the customer host');

  for (const refused of ['autoconfig.unknown.example', 'www.example.com', 'example.com']) {
    const denied = await curl(['--cacert', root, ...resolve(refused, httpsPort), `https://${refused}:${httpsPort}/mail/config-v1.1.xml`]);
    t.not(denied.code, 0, `no certificate for ${refused} (curl exit ${denied.code})`);
  }
  t.notOk(existsSync(join(data, 'caddy', 'certificates', 'local', 'autoconfig.unknown.example')), 'nothing issued for an unserved name');

  const plain = await curl([...resolve(served, httpPort), `http://${served}:${httpPort}/mail/config-v1.1.xml`, '--write-out', '\n%{http_code}']);
  t.match(plain.stdout, /\n200$/, 'autoconfig over plain HTTP is answered directly');
  const redirect = await curl([...resolve('mail.example.com', httpPort), `http://mail.example.com:${httpPort}/setup?emailaddress=a%40example.com`, '--write-out', '%{http_code} %{redirect_url}', '--output', '/dev/null']);
  t.match(redirect.stdout, /^308 https:\/\/mail\.example\.com(:\d+)?\/setup\?emailaddress=a%40example\.com$/, 'everything else goes to HTTPS with path and query');
}

if (!existsSync(CADDY)) {
  if (process.env.CI) t.fail(`Caddy is not installed at ${CADDY}`);
  else t.plan(0, `Caddy is not installed at ${CADDY} (apt-get install caddy)`);
} else {
  t.test('on-demand certificates through deploy/Caddyfile', main);
}
