/**
 * Settings of the serve and render commands, from flags and environment
 * variables (flags win). The only place that reads the environment.
 */
import { BUNDLED_PROVIDERS_DIR } from '../paths.js';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly providers: readonly string[];
  readonly publicBaseUrl?: string;
  readonly identifierPrefix: string;
  readonly signingKey?: string;
  readonly signingCert?: string;
  readonly logLevel: string;
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
  const portText = pick('port', 'PORT') ?? '8080';
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65535) throw new UsageError(`port "${portText}" is not a number from 0 to 65535`);
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
  return {
    host: pick('host', 'HOST') ?? '0.0.0.0',
    port,
    providers,
    ...(publicBaseUrl !== undefined ? { publicBaseUrl } : {}),
    identifierPrefix,
    ...(signingKey !== undefined && signingCert !== undefined ? { signingKey, signingCert } : {}),
    logLevel: pick('log-level', 'LOG_LEVEL') ?? 'info',
  };
}

/** parseArgs option descriptors for the settings flags. */
export const SETTINGS_FLAGS = Object.fromEntries(
  SETTINGS_TABLE.map((s) => [s.flag.slice(2), { type: 'string' as const }]),
) as Record<string, { type: 'string' }>;
