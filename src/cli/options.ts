/**
 * Settings of the serve and render commands, from flags and environment
 * variables (flags win). The only place that reads the environment.
 */
import { BUNDLED_PROVIDERS_DIR } from '../paths.js';
import { parseDnsServer } from '../sources/mx.js';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly providers: readonly string[];
  readonly publicBaseUrl?: string;
  readonly identifierPrefix: string;
  readonly signingKey?: string;
  readonly signingCert?: string;
  readonly logLevel: string;
  /** HTTPS: when both are set, HTTPS listens on httpsPort and `port` serves autoconfig over HTTP and redirects the rest. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly httpsPort: number;
  /** Addresses or CIDR ranges whose X-Forwarded-Proto/Host/For are believed. */
  readonly trustedProxies: readonly string[];
  readonly metricsPort?: number;
  readonly metricsHost: string;
  readonly metricsToken?: string;
  /** After SIGTERM, keep serving this long (readiness 503) before closing the listeners. */
  readonly shutdownDelayMs: number;
  /** Requests per minute per client address; 0 turns the limit off. */
  readonly rateLimitPerMinute: number;
  /** DNS servers for MX lookups (host or host:port); empty: the system's. */
  readonly dnsServers: readonly string[];
  /** The longest an MX lookup may take. */
  readonly mxTimeoutMs: number;
}

export class UsageError extends Error {}

/** One table for --help, the README and the code. */
export const SETTINGS_TABLE: readonly { flag: string; env: string; default: string; meaning: string }[] = [
  { flag: '--port', env: 'PORT', default: '8080', meaning: 'TCP port to listen on' },
  { flag: '--host', env: 'HOST', default: '0.0.0.0', meaning: 'address to listen on (:: for IPv6 too)' },
  { flag: '--providers', env: 'MAIL_AUTOCONFIG_PROVIDERS', default: 'the bundled providers/', meaning: 'provider folder(s) or file(s), comma-separated' },
  { flag: '--public-url', env: 'MAIL_AUTOCONFIG_PUBLIC_URL', default: 'from the request Host', meaning: 'https base URL clients reach this service at (Autodiscover v2)' },
  { flag: '--identifier-prefix', env: 'MAIL_AUTOCONFIG_IDENTIFIER_PREFIX', default: 'reversed public URL host, else invalid.mail-autoconfig', meaning: 'reverse-DNS prefix of Apple profile identifiers; never change it once profiles are installed' },
  { flag: '--signing-key', env: 'MAIL_AUTOCONFIG_SIGNING_KEY', default: '(unsigned)', meaning: 'PEM private key that signs Apple profiles' },
  { flag: '--signing-cert', env: 'MAIL_AUTOCONFIG_SIGNING_CERT', default: '(unsigned)', meaning: 'PEM certificate chain for the key, leaf first' },
  { flag: '--log-level', env: 'LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent' },
  { flag: '--tls-cert', env: 'MAIL_AUTOCONFIG_TLS_CERT', default: '(no HTTPS)', meaning: 'PEM certificate chain for HTTPS; re-read when it changes' },
  { flag: '--tls-key', env: 'MAIL_AUTOCONFIG_TLS_KEY', default: '(no HTTPS)', meaning: 'PEM private key for HTTPS' },
  { flag: '--https-port', env: 'MAIL_AUTOCONFIG_HTTPS_PORT', default: '8443', meaning: 'HTTPS port when a TLS certificate is given (--port then serves autoconfig over HTTP and redirects the rest)' },
  { flag: '--trusted-proxies', env: 'MAIL_AUTOCONFIG_TRUSTED_PROXIES', default: '(none)', meaning: 'comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-* headers are believed' },
  { flag: '--metrics-port', env: 'MAIL_AUTOCONFIG_METRICS_PORT', default: '(off)', meaning: 'serve Prometheus /metrics on its own port' },
  { flag: '--metrics-host', env: 'MAIL_AUTOCONFIG_METRICS_HOST', default: '127.0.0.1', meaning: 'address of the metrics listener' },
  { flag: '--shutdown-delay', env: 'MAIL_AUTOCONFIG_SHUTDOWN_DELAY', default: '0', meaning: 'seconds to keep serving after SIGTERM while /readyz says 503, so load balancers stop sending first' },
  { flag: '--rate-limit', env: 'MAIL_AUTOCONFIG_RATE_LIMIT', default: '600', meaning: 'requests per minute per client address (429 with Retry-After beyond it; 0 = off; trusted proxies\' own requests are exempt)' },
  { flag: '--metrics-token', env: 'MAIL_AUTOCONFIG_METRICS_TOKEN', default: '(off)', meaning: 'also serve /metrics on the main port, to requests with Authorization: Bearer <token>' },
  { flag: '--dns-servers', env: 'MAIL_AUTOCONFIG_DNS_SERVERS', default: "the system's", meaning: 'comma-separated DNS servers (host or host:port) for the MX lookups of providers with mxPatterns' },
  { flag: '--mx-timeout', env: 'MAIL_AUTOCONFIG_MX_TIMEOUT', default: '3', meaning: 'seconds an MX lookup may take before the request gets 503' },
];

export function settingsHelp(): string {
  return SETTINGS_TABLE.map((s) => `  ${`${s.flag} (${s.env})`.padEnd(52)} ${s.meaning}; default: ${s.default}`).join('\n');
}

export function resolveSettings(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Settings {
  const pick = (flag: string, variable: string): string | undefined => {
    const value = flags[flag];
    if (typeof value === 'string') return value;
    const fromEnv = env[variable];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const port = portNumber(pick('port', 'PORT') ?? '8080', 'port');
  const publicBaseUrl = pick('public-url', 'MAIL_AUTOCONFIG_PUBLIC_URL')?.replace(/\/+$/, '');
  let publicHost: string | undefined;
  if (publicBaseUrl !== undefined) {
    try {
      const url = new URL(publicBaseUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      publicHost = url.hostname;
    } catch {
      throw new UsageError(`public URL "${publicBaseUrl}" is not an http(s) URL`);
    }
  }
  const identifierPrefix =
    pick('identifier-prefix', 'MAIL_AUTOCONFIG_IDENTIFIER_PREFIX') ??
    (publicHost && /[a-z]/i.test(publicHost) ? publicHost.toLowerCase().split('.').reverse().join('.') : 'invalid.mail-autoconfig');
  if (!/^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/.test(identifierPrefix)) {
    throw new UsageError(`identifier prefix "${identifierPrefix}" is not reverse-DNS (like com.example.autoconfig)`);
  }
  const signingKey = pick('signing-key', 'MAIL_AUTOCONFIG_SIGNING_KEY');
  const signingCert = pick('signing-cert', 'MAIL_AUTOCONFIG_SIGNING_CERT');
  if ((signingKey === undefined) !== (signingCert === undefined)) {
    throw new UsageError('give both --signing-key and --signing-cert, or neither');
  }
  const providers = (pick('providers', 'MAIL_AUTOCONFIG_PROVIDERS') ?? BUNDLED_PROVIDERS_DIR).split(',').filter((p) => p !== '');
  const tlsCert = pick('tls-cert', 'MAIL_AUTOCONFIG_TLS_CERT');
  const tlsKey = pick('tls-key', 'MAIL_AUTOCONFIG_TLS_KEY');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('give both --tls-cert and --tls-key, or neither');
  const httpsPort = portNumber(pick('https-port', 'MAIL_AUTOCONFIG_HTTPS_PORT') ?? '8443', 'HTTPS port');
  const metricsPortText = pick('metrics-port', 'MAIL_AUTOCONFIG_METRICS_PORT');
  const trustedProxies = (pick('trusted-proxies', 'MAIL_AUTOCONFIG_TRUSTED_PROXIES') ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const proxy of trustedProxies) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(proxy)) throw new UsageError(`trusted proxy "${proxy}" is not an address or CIDR range`);
  }
  const metricsToken = pick('metrics-token', 'MAIL_AUTOCONFIG_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) throw new UsageError('the metrics token must be at least 16 characters');
  return {
    host: pick('host', 'HOST') ?? '0.0.0.0',
    port,
    providers,
    ...(publicBaseUrl !== undefined ? { publicBaseUrl } : {}),
    identifierPrefix,
    ...(signingKey !== undefined && signingCert !== undefined ? { signingKey, signingCert } : {}),
    logLevel: pick('log-level', 'LOG_LEVEL') ?? 'info',
    ...(tlsCert !== undefined && tlsKey !== undefined ? { tlsCert, tlsKey } : {}),
    httpsPort,
    trustedProxies,
    ...(metricsPortText !== undefined ? { metricsPort: portNumber(metricsPortText, 'metrics port') } : {}),
    metricsHost: pick('metrics-host', 'MAIL_AUTOCONFIG_METRICS_HOST') ?? '127.0.0.1',
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    rateLimitPerMinute: count(pick('rate-limit', 'MAIL_AUTOCONFIG_RATE_LIMIT') ?? '600', 'rate limit'),
    shutdownDelayMs: seconds(pick('shutdown-delay', 'MAIL_AUTOCONFIG_SHUTDOWN_DELAY') ?? '0', 'shutdown delay') * 1000,
    dnsServers: dnsServers(pick('dns-servers', 'MAIL_AUTOCONFIG_DNS_SERVERS') ?? ''),
    mxTimeoutMs: seconds(pick('mx-timeout', 'MAIL_AUTOCONFIG_MX_TIMEOUT') ?? '3', 'MX timeout') * 1000,
  };
}

function dnsServers(text: string): string[] {
  const servers = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const server of servers) if (parseDnsServer(server) === null) throw new UsageError(`DNS server "${server}" is not an address or address:port`);
  return servers;
}

function count(text: string, what: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`${what} "${text}" is not a whole number`);
  return Number(text);
}

function seconds(text: string, what: string): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || Number(text) > 300) throw new UsageError(`${what} "${text}" is not a number of seconds from 0 to 300`);
  return Number(text);
}

function portNumber(text: string, what: string): number {
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port > 65535) throw new UsageError(`${what} "${text}" is not a number from 0 to 65535`);
  return port;
}

/** parseArgs option descriptors for the settings flags. */
export const SETTINGS_FLAGS = Object.fromEntries(
  SETTINGS_TABLE.map((s) => [s.flag.slice(2), { type: 'string' as const }]),
) as Record<string, { type: 'string' }>;

/** What `render` can print: the answer of each client format, and the setup page. */
export const RENDER_FORMATS = ['thunderbird', 'outlook', 'apple', 'guide'] as const;
export type RenderFormat = (typeof RENDER_FORMATS)[number];
