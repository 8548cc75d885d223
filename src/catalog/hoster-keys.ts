/**
 * The provider keys of hosters (issue 21): service host names, MX patterns,
 * and the domain lists kept outside the YAML (a text file, a PostgreSQL
 * query). Checked here with the same file:line:column problems as the rest
 * of the file; the lists themselves are read by src/catalog/domain-list.ts
 * and src/sources/postgres-domains.ts.
 *
 * Unlike the rest of loading, this looks at the file system: a password or
 * domain file that is not there is an error at its key, found when the YAML
 * is validated rather than when the first connection fails. Environment
 * variables are not read here (nothing below the pipeline reads them).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { normalizeDomain } from '../mailbox.js';
import type { Report } from './load.js';
import type { DomainsQuery, PasswordSource } from './model.js';
import { formatMxPattern, parseMxPattern } from './mx-patterns.js';

export interface RawDomainsQuery {
  connection: string;
  passwordFile?: string;
  passwordEnv?: string;
  query: string;
  listen?: string;
  refreshSeconds?: number;
  timeoutSeconds?: number;
}

export interface RawHosterKeys {
  domains?: string[];
  serviceHosts?: string[];
  mxPatterns?: string[];
  domainsFile?: string;
  domainsQuery?: RawDomainsQuery;
}

export interface HosterKeys {
  readonly serviceHosts: readonly string[];
  readonly mxPatterns: readonly string[];
  readonly domainsFile?: string;
  readonly domainsQuery?: DomainsQuery;
}

export const DEFAULT_REFRESH_SECONDS = 300;
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 30;

export function buildHosterKeys(file: string, raw: RawHosterKeys, report: Report): HosterKeys {
  if (raw.domains === undefined && raw.domainsFile === undefined && raw.domainsQuery === undefined
    && raw.mxPatterns === undefined && raw.serviceHosts === undefined) {
    report([], 'error', 'missing required key "domains" (or domainsFile, domainsQuery, mxPatterns, serviceHosts): a provider must say which domains it serves');
  }
  const base = dirname(file);

  const serviceHosts: string[] = [];
  raw.serviceHosts?.forEach((host, i) => {
    const ascii = normalizeDomain(host);
    if (ascii === null) report(['serviceHosts', i], 'error', `"${host}" is not a valid host name`);
    else if (serviceHosts.includes(ascii)) report(['serviceHosts', i], 'error', `service host "${host}" is listed twice (as ${ascii})`);
    else serviceHosts.push(ascii);
  });

  const mxPatterns: string[] = [];
  raw.mxPatterns?.forEach((written, i) => {
    const pattern = parseMxPattern(written);
    if ('problem' in pattern) return report(['mxPatterns', i], 'error', pattern.problem);
    const normal = formatMxPattern(pattern);
    if (mxPatterns.includes(normal)) report(['mxPatterns', i], 'error', `MX pattern "${written}" is listed twice (as ${normal})`);
    else mxPatterns.push(normal);
  });

  let domainsFile: string | undefined;
  if (raw.domainsFile !== undefined) {
    domainsFile = resolve(base, raw.domainsFile);
    checkReadableFile(domainsFile, 'domainsFile', ['domainsFile'], report);
  }

  return {
    serviceHosts,
    mxPatterns,
    ...(domainsFile !== undefined ? { domainsFile } : {}),
    ...(raw.domainsQuery !== undefined ? { domainsQuery: buildDomainsQuery(base, raw.domainsQuery, report) } : {}),
  };
}

function buildDomainsQuery(base: string, raw: RawDomainsQuery, report: Report): DomainsQuery {
  const at = (key: string): (string | number)[] => ['domainsQuery', key];
  checkConnection(raw.connection, at('connection'), report);
  const password = buildPasswordSource(base, raw, ['domainsQuery'], report);
  return {
    connection: raw.connection,
    ...(password !== undefined ? { password } : {}),
    query: raw.query,
    ...(raw.listen !== undefined ? { listen: raw.listen } : {}),
    refreshSeconds: raw.refreshSeconds ?? DEFAULT_REFRESH_SECONDS,
    timeoutSeconds: raw.timeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS,
  };
}

/**
 * passwordFile (checked to be readable now, at its key) or passwordEnv (read
 * only when a connection is made), or neither; never both. Shared by every
 * key that connects somewhere (domainsQuery, lookup).
 */
export function buildPasswordSource(base: string, raw: { passwordFile?: string; passwordEnv?: string }, at: (string | number)[], report: Report): PasswordSource | undefined {
  if (raw.passwordFile !== undefined && raw.passwordEnv !== undefined) {
    report([...at, 'passwordEnv'], 'error', 'give passwordFile or passwordEnv, not both', true);
    return undefined;
  }
  if (raw.passwordFile !== undefined) {
    const file = resolve(base, raw.passwordFile);
    checkReadableFile(file, 'password file', [...at, 'passwordFile'], report);
    return { file };
  }
  return raw.passwordEnv !== undefined ? { env: raw.passwordEnv } : undefined;
}

/** A password in the URL would end up in the YAML, in the repository and in messages. */
export function checkConnection(connection: string, path: (string | number)[], report: Report): void {
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    report(path, 'error', 'connection is not a valid postgresql:// URL');
    return;
  }
  if (url.password !== '' || url.searchParams.has('password')) {
    report(path, 'error', 'connection must not contain the password; put it in a file (passwordFile) or an environment variable (passwordEnv)');
  }
}

export function checkReadableFile(path: string, what: string, at: (string | number)[], report: Report): void {
  try {
    if (!statSync(path).isFile()) {
      report(at, 'error', `${what} ${path} is not a file`);
      return;
    }
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    report(at, 'error', code === 'ENOENT' ? `${what} ${path} does not exist` : `${what} ${path} cannot be read (${code ?? 'error'})`);
  }
}
