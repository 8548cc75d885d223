/**
 * Log-in names from an LDAP directory (issue 22), with ldapts: bind as the
 * provider's service account, search below the base DN with the admin's
 * filter (the address escaped per RFC 4515), read the login attribute and
 * optionally the display-name attribute of the one entry found.
 *
 * One bound connection is kept and shared: LDAP multiplexes operations on a
 * connection by message ID (RFC 4511 section 4.1.1), so concurrent lookups
 * need no pool of sockets. When the connection drops (server restart, idle
 * timeout) or an operation fails on it, the next lookup opens, upgrades
 * (STARTTLS) and binds a new one. Connecting, STARTTLS and binding together,
 * and every operation, are each bounded by the timeout.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Entry } from 'ldapts';
import { addressParts, DirectoryAnswerError, type LoginDirectory, type LoginName } from './directory.js';

export interface LdapDirectoryOptions {
  /** ldap://host[:port] or ldaps://host[:port]. */
  readonly url: string;
  readonly startTls: boolean;
  readonly bindDn: string;
  /** Called for each new connection, so a rotated password file is picked up. */
  readonly password: () => Promise<string>;
  readonly baseDn: string;
  /** RFC 4515 filter with %EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN%. */
  readonly filter: string;
  readonly loginAttribute: string;
  readonly displayNameAttribute?: string;
  readonly timeoutMs: number;
  /** PEM file of the certificate authorities for ldaps:// and STARTTLS (default: Node's); read at each connection, so a renewed CA is picked up. */
  readonly caFile?: string;
}

/**
 * RFC 4515 section 3 (https://www.rfc-editor.org/rfc/rfc4515#section-3): in
 * an assertion value, NUL, "(", ")", "*" and "\" are written as "\" and two
 * hex digits; every other character (UTF-8 included) stands for itself.
 * Without this, the address "*)(uid=*" would turn (mail=…) into a filter
 * matching everyone.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\0()*\\]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const PLACEHOLDER = /%EMAILADDRESS%|%EMAILLOCALPART%|%EMAILDOMAIN%/g;

/**
 * The admin's filter with the address's parts in place, each escaped. One
 * pass, so an address that itself contains "%EMAILDOMAIN%" is not filled again.
 */
export function fillFilter(template: string, address: string): string {
  const parts = addressParts(address);
  return template.replace(PLACEHOLDER, (name) =>
    escapeFilterValue(name === '%EMAILADDRESS%' ? parts.address : name === '%EMAILLOCALPART%' ? parts.localPart : parts.domain));
}

/** Result codes that mean "the server cannot serve now" (RFC 4511 appendix A), not "the question is wrong". */
const UNAVAILABLE_CODES = new Set([3 /* timeLimitExceeded */, 51 /* busy */, 52 /* unavailable */, 80 /* other */]);
const SIZE_LIMIT_EXCEEDED = 4;

interface Session {
  readonly client: Promise<Client>;
  /** Set once bound: its isConnected turns false when the server closes the connection. */
  bound?: Client;
}

export class LdapDirectory implements LoginDirectory {
  readonly description: string;
  private session: Session | undefined;
  private closed = false;
  private readonly host: string;

  constructor(private readonly options: LdapDirectoryOptions) {
    const url = new URL(options.url);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.description = `ldap ${url.protocol}//${url.host}${options.startTls ? ' (STARTTLS)' : ''}, base ${options.baseDn}`;
  }

  async find(address: string): Promise<LoginName | undefined> {
    const session = this.currentSession();
    const client = await session.client;
    const attributes = [this.options.loginAttribute, ...(this.options.displayNameAttribute ? [this.options.displayNameAttribute] : [])];
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(this.options.baseDn, {
        scope: 'sub',
        filter: fillFilter(this.options.filter, address),
        attributes,
        // Two are enough to know the address is ambiguous.
        sizeLimit: 2,
        timeLimit: Math.max(1, Math.ceil(this.options.timeoutMs / 1000)),
      }));
    } catch (error) {
      if (error instanceof ResultCodeError && error.code === SIZE_LIMIT_EXCEEDED) throw ambiguous();
      if (error instanceof ResultCodeError && !UNAVAILABLE_CODES.has(error.code)) {
        // The server answered (no such base DN, no access): the connection is fine.
        throw new DirectoryAnswerError(`the search failed: ${describeLdapError(error)}`);
      }
      // A timeout or a dropped socket may leave the connection in any state.
      this.forget(session);
      throw new Error(`the search failed: ${describeLdapError(error)}`);
    }
    if (entries.length === 0) return undefined;
    if (entries.length > 1) throw ambiguous();
    const entry = entries[0]!;
    const login = firstValue(entry, this.options.loginAttribute);
    if (login === undefined || login === '') throw new DirectoryAnswerError(`the entry found has no ${this.options.loginAttribute}`);
    const displayName = this.options.displayNameAttribute ? firstValue(entry, this.options.displayNameAttribute) : undefined;
    return { login, ...(displayName ? { displayName } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session) await session.client.then((client) => client.unbind(), () => {}).catch(() => {});
  }

  /** The shared bound connection; a new one when there is none or it dropped. */
  private currentSession(): Session {
    if (this.closed) throw new Error('the LDAP directory is closed');
    const current = this.session;
    if (current !== undefined && (current.bound === undefined || current.bound.isConnected)) return current;
    if (current !== undefined) this.forget(current);
    const session = this.connect();
    this.session = session;
    return session;
  }

  /** Connect, upgrade (STARTTLS) and bind, all within one timeout. */
  private connect(): Session {
    let client: Client | undefined;
    const bind = async (): Promise<Client> => {
      const tls = await this.tlsOptions();
      client = new Client({
        url: this.options.url,
        timeout: this.options.timeoutMs,
        connectTimeout: this.options.timeoutMs,
        ...(this.options.url.startsWith('ldaps:') ? { tlsOptions: tls } : {}),
      });
      // ldapts puts the socket into the options it is given: a fresh object.
      if (this.options.startTls) await client.startTLS({ ...tls });
      await client.bind(this.options.bindDn, await this.options.password());
      session.bound = client;
      return client;
    };
    const session: Session = {
      client: withDeadline(bind(), this.options.timeoutMs, 'connecting and binding').catch(async (error: unknown) => {
        this.forget(session);
        await client?.unbind().catch(() => {});
        throw new Error(`cannot bind to the directory: ${describeLdapError(error)}`);
      }),
    };
    return session;
  }

  private forget(session: Session): void {
    if (this.session === session) this.session = undefined;
    void session.client.then((client) => client.unbind(), () => {}).catch(() => {});
  }

  private async tlsOptions(): Promise<ConnectionOptions> {
    return {
      ...(this.options.caFile !== undefined ? { ca: await readFile(this.options.caFile) } : {}),
      // SNI takes a host name only (RFC 6066 section 3); an address is checked against the certificate's IP SANs.
      ...(isIP(this.host) === 0 ? { servername: this.host } : {}),
      minVersion: 'TLSv1.2',
    };
  }
}

function ambiguous(): DirectoryAnswerError {
  return new DirectoryAnswerError('the filter matches more than one entry, so the log-in name is ambiguous');
}

/** Attribute names are case-insensitive (RFC 4512 section 2.5); values may come as text or bytes. */
function firstValue(entry: Entry, attribute: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return undefined;
  const raw = entry[key];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * ldapts's errors in one line; none of them carries the password. A result
 * code error often has no diagnostic text, so its class names it
 * (InvalidCredentialsError → "invalid credentials (LDAP result 49)").
 */
function describeLdapError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof ResultCodeError) {
    const what = error.constructor.name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    const diagnostic = error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    return `${what}${diagnostic ? `: ${diagnostic}` : ''} (LDAP result ${error.code})`;
  }
  return error.message;
}
