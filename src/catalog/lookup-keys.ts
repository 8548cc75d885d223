/**
 * The provider key `lookup` (issue 22): where the provider's directory looks
 * log-in names up by address, LDAP or SQL, and the cache in front of it.
 * Checked here with the same file:line:column problems as the rest of the
 * file; the lookups themselves are src/directory/.
 *
 * Like hoster-keys.ts this looks at the file system (a password, CA or SQLite
 * file that is not there is an error at its key, found by `validate` rather
 * than by the first request) and reads no environment variable: passwordEnv
 * is resolved where the lookup is created (passwordFrom in
 * src/sources/postgres-domains.ts).
 */
import { dirname, resolve } from 'node:path';
import { PLACEHOLDERS } from '../mailbox.js';
import { buildPasswordSource, checkConnection, checkReadableFile } from './hoster-keys.js';
import type { Report } from './load.js';
import type { LdapDirectoryConfig, LoginLookupConfig, LookupCacheConfig, SqlDirectoryConfig } from './model.js';

export interface RawLdapLookup {
  url: string;
  startTls?: boolean;
  bindDn: string;
  passwordFile?: string;
  passwordEnv?: string;
  baseDn: string;
  filter: string;
  loginAttribute: string;
  displayNameAttribute?: string;
  timeoutSeconds?: number;
  caFile?: string;
}

export interface RawSqlLookup {
  connection: string;
  passwordFile?: string;
  passwordEnv?: string;
  query: string;
  timeoutSeconds?: number;
}

export interface RawLookup {
  ldap?: RawLdapLookup;
  sql?: RawSqlLookup;
  cache?: Partial<LookupCacheConfig>;
}

/**
 * A lookup runs while a client waits for its answer: a couple of seconds at
 * most, then the answer goes out without the name.
 */
export const DEFAULT_LOOKUP_TIMEOUT_SECONDS = 2;
/** Long enough to spare the directory a client's retries, short enough that a renamed login shows soon. */
export const DEFAULT_LOOKUP_CACHE: LookupCacheConfig = { ttlSeconds: 300, negativeTtlSeconds: 60, maxEntries: 10_000 };

const SQLITE_PREFIX = 'sqlite:';

export function buildLookupKeys(file: string, raw: { lookup?: RawLookup }, report: Report): { lookup?: LoginLookupConfig } {
  const lookup = raw.lookup;
  if (lookup === undefined) return {};
  const base = dirname(file);
  if ((lookup.ldap === undefined) === (lookup.sql === undefined)) {
    report(['lookup'], 'error', lookup.ldap === undefined
      ? 'lookup needs a directory: give ldap or sql'
      : 'lookup has one directory: give ldap or sql, not both', true);
    return {};
  }
  const directory = lookup.ldap !== undefined ? buildLdap(base, lookup.ldap, report) : buildSql(base, lookup.sql!, report);
  const timeoutSeconds = (lookup.ldap ?? lookup.sql)!.timeoutSeconds ?? DEFAULT_LOOKUP_TIMEOUT_SECONDS;
  const cache = { ...DEFAULT_LOOKUP_CACHE, ...lookup.cache };
  return directory === undefined ? {} : { lookup: { directory, cache, timeoutSeconds } };
}

function buildLdap(base: string, raw: RawLdapLookup, report: Report): LdapDirectoryConfig | undefined {
  const at = (...keys: string[]): string[] => ['lookup', 'ldap', ...keys];
  const url = new URL(raw.url); // the schema's pattern guarantees ldap[s]://host
  const secure = url.protocol === 'ldaps:';
  const startTls = raw.startTls === true;
  if (secure && startTls) report(at('startTls'), 'error', 'startTls upgrades an ldap:// connection; ldaps:// is TLS from the first byte already');
  if (!secure && !startTls && !isLoopback(url.hostname)) {
    report(at('url'), 'warning', `the bind password would cross the network unencrypted to ${url.hostname}; use ldaps:// or startTls: true`);
  }
  let caFile: string | undefined;
  if (raw.caFile !== undefined) {
    caFile = resolve(base, raw.caFile);
    checkReadableFile(caFile, 'CA file', at('caFile'), report);
    if (!secure && !startTls) report(at('caFile'), 'warning', 'caFile is only used with ldaps:// or startTls: true', true);
  }
  checkFilter(raw.filter, at('filter'), report);
  const password = buildPasswordSource(base, raw, at(), report);
  if (password === undefined) {
    if (raw.passwordFile === undefined && raw.passwordEnv === undefined) {
      report(at(), 'error', `the bind as ${raw.bindDn} needs a password: give passwordFile or passwordEnv`, true);
    }
    return undefined;
  }
  return {
    kind: 'ldap',
    url: `${url.protocol}//${url.host}`,
    startTls,
    bindDn: raw.bindDn,
    password,
    baseDn: raw.baseDn,
    filter: raw.filter,
    loginAttribute: raw.loginAttribute,
    ...(raw.displayNameAttribute !== undefined ? { displayNameAttribute: raw.displayNameAttribute } : {}),
    ...(caFile !== undefined ? { caFile } : {}),
  };
}

/**
 * The filter is the admin's; only the address is ours to escape. A filter
 * without a placeholder would find the same entry for everyone, and an
 * unbalanced one fails at the first request rather than here.
 */
function checkFilter(filter: string, path: string[], report: Report): void {
  let rest = filter;
  for (const placeholder of PLACEHOLDERS) rest = rest.replaceAll(placeholder, '');
  const unknown = /%[A-Za-z_]*%/.exec(rest);
  if (unknown) return report(path, 'error', `unknown placeholder "${unknown[0]}" in filter; use ${PLACEHOLDERS.join(', ')}`);
  if (rest === filter) return report(path, 'error', `the filter has no placeholder, so every address would find the same entry; put ${PLACEHOLDERS[0]} where the address goes, e.g. (mail=${PLACEHOLDERS[0]})`);
  if (!isOneParenthesised(filter)) report(path, 'error', 'the filter must be one parenthesised RFC 4515 filter with balanced parentheses, e.g. (&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))');
}

/** "(…)" with balanced parentheses, closing at the last character (an admin's literal parenthesis is written \28, \29). */
function isOneParenthesised(text: string): boolean {
  if (!text.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    if (depth < 0 || (depth === 0 && i < text.length - 1)) return false;
  }
  return depth === 0;
}

function buildSql(base: string, raw: RawSqlLookup, report: Report): SqlDirectoryConfig | undefined {
  const at = (...keys: string[]): string[] => ['lookup', 'sql', ...keys];
  if (raw.connection.startsWith(SQLITE_PREFIX)) {
    const file = resolve(base, raw.connection.slice(SQLITE_PREFIX.length));
    checkReadableFile(file, 'SQLite database', at('connection'), report);
    for (const key of ['passwordFile', 'passwordEnv'] as const) {
      if (raw[key] !== undefined) report(at(key), 'error', `a SQLite file has no password; remove ${key}`, true);
    }
    if (/\$[0-9]/.test(raw.query)) report(at('query'), 'error', 'SQLite takes the address as ?, not $1');
    else if (countOf(raw.query, '?') !== 1) report(at('query'), 'error', 'the query must have exactly one parameter, ?, for the address');
    return { kind: 'sqlite', file, query: raw.query };
  }
  checkConnection(raw.connection, at('connection'), report);
  const password = buildPasswordSource(base, raw, at(), report);
  if (!/\$1(?![0-9])/.test(raw.query)) {
    report(at('query'), 'error', raw.query.includes('?') ? 'PostgreSQL takes the address as $1, not ?' : 'the query must take the address as its parameter $1');
  } else if (/\$(?:[2-9]|1[0-9])/.test(raw.query)) {
    report(at('query'), 'error', 'the query has one parameter only, $1: the address');
  }
  return { kind: 'postgresql', connection: raw.connection, ...(password !== undefined ? { password } : {}), query: raw.query };
}

function countOf(text: string, character: string): number {
  return text.split(character).length - 1;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}
