/**
 * The log-in lookup a provider's answers ask (issue 22): one directory (LDAP,
 * PostgreSQL or SQLite) behind a bounded cache, made so that looking a name
 * up can never make an answer fail, hang, or tell which addresses exist.
 *
 * - find() never rejects and never takes longer than the timeout: not
 *   found, failed and timed out all give undefined, and the answer is then
 *   what it would be without a lookup.
 * - Results are cached, found for ttl and not found for the negative ttl
 *   (least recently used go first beyond maxEntries); concurrent lookups of
 *   one address share one directory query.
 * - A directory that fails or times out is "down" for the negative ttl:
 *   lookups then answer undefined at once, and only the first one after that
 *   period asks the directory again. An outage costs the timeout once per
 *   period, not once per request.
 * - settle(startedAt) waits until a floor (the 90th percentile of recent
 *   directory round trips): an answer that awaits it takes about as long
 *   found, not found, cached or failed, so its timing does not say whether
 *   the address exists. (A timeout still takes the timeout, once per period.)
 * - state() is for /readyz and metrics: counts and the last error, never a
 *   secret or an address. Log lines are written on a change of state only,
 *   with the provider's name and no address.
 */
import { performance } from 'node:perf_hooks';
import type { LoginLookupConfig } from '../catalog/model.js';
import { passwordFrom } from '../sources/postgres-domains.js';
import { addressParts, DirectoryAnswerError, type LoginDirectory, type LoginName } from './directory.js';
import { LdapDirectory } from './ldap.js';
import { PostgresDirectory, SqliteDirectory } from './sql.js';

export type { LoginName } from './directory.js';

export interface LookupLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface LoginLookupOptions {
  /** Names the lookup in messages, e.g. "lookup of providers/hoster.yaml". */
  readonly name: string;
  readonly directory: LoginDirectory;
  /** Longest a lookup may take; then it answers undefined. */
  readonly timeoutMs: number;
  /** How long a found log-in name is kept (0: not kept). */
  readonly ttlMs: number;
  /** How long "not found" is kept, and how long a failed directory is left alone. */
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
  readonly log?: LookupLog;
}

export interface LoginLookupCounts {
  /** find() calls. */
  readonly lookups: number;
  readonly cacheHits: number;
  /** Lookups that joined a query already under way for the same address. */
  readonly coalesced: number;
  /** Questions actually sent to the directory. */
  readonly directoryQueries: number;
  readonly found: number;
  readonly notFound: number;
  /** The directory answered, but not usably (ambiguous, wrong columns). */
  readonly answerErrors: number;
  /** The directory could not be asked (down, refused, broken connection). */
  readonly failures: number;
  readonly timeouts: number;
  /** Lookups answered undefined without asking, because the directory is down. */
  readonly skippedWhileDown: number;
}

export interface LoginLookupState {
  /** The directory answered the last question asked (found, not found or an answer error). */
  readonly ok: boolean;
  /** Failed recently: lookups answer undefined without asking until downUntil. */
  readonly down: boolean;
  readonly downUntil?: Date;
  /** What and where, without credentials: "ldap ldaps://ldap.example.com, base …". */
  readonly directory: string;
  /** The last failure or answer error (no address, no secret). */
  readonly lastError?: string;
  readonly lastErrorAt?: Date;
  readonly lastSuccessAt?: Date;
  readonly cacheEntries: number;
  /** What settle() waits for at least, from the start of a lookup. */
  readonly floorMs: number;
  readonly counts: LoginLookupCounts;
}

interface CacheEntry {
  readonly value: LoginName | undefined;
  readonly expiresAt: number;
}

type Outcome =
  | { readonly kind: 'answer'; readonly value: LoginName | undefined }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' };

/** Round trips kept for the floor; the 90th percentile of them is the floor. */
const SAMPLES = 128;
const FLOOR_QUANTILE = 0.9;

export class LoginLookup {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<LoginName | undefined>>();
  private readonly counts = { lookups: 0, cacheHits: 0, coalesced: 0, directoryQueries: 0, found: 0, notFound: 0, answerErrors: 0, failures: 0, timeouts: 0, skippedWhileDown: 0 };
  private readonly samples: number[] = [];
  private nextSample = 0;
  private floor: number | undefined;
  /** performance.now() until which the directory is left alone; 0 when it is not down. */
  private downUntil = 0;
  private probing = false;
  private ok = false;
  private lastError: string | undefined;
  private lastErrorAt: Date | undefined;
  private lastSuccessAt: Date | undefined;

  constructor(private readonly options: LoginLookupOptions) {}

  /** The log-in name of the address, or undefined (not found, failed, timed out). Never rejects. */
  find(address: string): Promise<LoginName | undefined> {
    this.counts.lookups++;
    const now = performance.now();
    const cached = this.cache.get(address);
    if (cached !== undefined) {
      this.cache.delete(address);
      if (cached.expiresAt > now) {
        // Re-inserted: the Map's order is the order of last use.
        this.cache.set(address, cached);
        this.counts.cacheHits++;
        return Promise.resolve(cached.value);
      }
    }
    const inflight = this.inflight.get(address);
    if (inflight !== undefined) {
      this.counts.coalesced++;
      return inflight;
    }
    if (this.downUntil !== 0) {
      if (now < this.downUntil || this.probing) {
        this.counts.skippedWhileDown++;
        return Promise.resolve(undefined);
      }
      // The first lookup after the down period asks; the others wait for its verdict.
      this.probing = true;
    }
    const asked = this.ask(address).finally(() => {
      this.inflight.delete(address);
    });
    this.inflight.set(address, asked);
    return asked;
  }

  /**
   * Waits until `floorMs` have passed since `startedAt` (a performance.now()
   * taken before find()). An answer that awaits this before going out takes
   * about as long whether the address was found, not found, cached or the
   * directory is down.
   */
  async settle(startedAt: number): Promise<void> {
    const deadline = startedAt + this.floorMs();
    // Timers count whole milliseconds and fire up to one late: a cached answer whose floor
    // was 0.4 ms went out after 1-2 ms, an uncached one after its 0.5 ms query, so a found
    // (cached) address was the slower one. Whole milliseconds by timer, the rest by turns
    // of the event loop (other requests are served between them), so both end at the deadline.
    for (let wait = deadline - performance.now(); wait >= 1; wait = deadline - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(wait)));
    }
    while (performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  }

  /** find() and settle() in one, for callers with nothing else to do meanwhile. */
  async findSettled(address: string): Promise<LoginName | undefined> {
    const started = performance.now();
    const found = await this.find(address);
    await this.settle(started);
    return found;
  }

  state(): LoginLookupState {
    const down = this.downUntil !== 0 && performance.now() < this.downUntil;
    return {
      ok: this.ok,
      down,
      ...(down ? { downUntil: new Date(Date.now() + (this.downUntil - performance.now())) } : {}),
      directory: this.options.directory.description,
      ...(this.lastError !== undefined ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt! } : {}),
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
      cacheEntries: this.cache.size,
      floorMs: this.floorMs(),
      counts: { ...this.counts },
    };
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.options.directory.close();
  }

  private async ask(address: string): Promise<LoginName | undefined> {
    this.counts.directoryQueries++;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race<Outcome>([
      // Handled here, so a late rejection after the timeout is not unhandled.
      Promise.resolve().then(() => this.options.directory.find(address)).then((value) => ({ kind: 'answer', value }), (error: unknown) => ({ kind: 'error', error })),
      new Promise<Outcome>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), this.options.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.probing = false;
    switch (outcome.kind) {
      case 'answer':
        this.answered(performance.now() - started);
        if (outcome.value === undefined) this.counts.notFound++;
        else this.counts.found++;
        this.remember(address, outcome.value);
        return outcome.value;
      case 'error':
        if (outcome.error instanceof DirectoryAnswerError) {
          // The directory works; this address gets no name, and the admin sees why.
          this.answered(performance.now() - started);
          this.counts.answerErrors++;
          this.noteError(redact(outcome.error.message, address));
          this.remember(address, undefined);
          return undefined;
        }
        this.counts.failures++;
        this.wentDown(redact(outcome.error instanceof Error ? outcome.error.message : String(outcome.error), address));
        return undefined;
      case 'timeout':
        this.counts.timeouts++;
        this.wentDown(`no answer within ${this.options.timeoutMs} ms`);
        return undefined;
    }
  }

  private remember(address: string, value: LoginName | undefined): void {
    const ttl = value === undefined ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0) return;
    this.cache.set(address, { value, expiresAt: performance.now() + ttl });
    // Beyond the bound, the least recently used entry goes (the Map's first).
    while (this.cache.size > this.options.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The directory answered: it is up (again), and the round trip joins the floor's samples. */
  private answered(ms: number): void {
    if (this.downUntil !== 0) this.options.log?.info(`${this.options.name}: the directory answers again (${this.options.directory.description})`);
    this.downUntil = 0;
    this.ok = true;
    this.lastSuccessAt = new Date();
    if (this.samples.length < SAMPLES) this.samples.push(ms);
    else this.samples[this.nextSample] = ms;
    this.nextSample = (this.nextSample + 1) % SAMPLES;
    this.floor = undefined;
  }

  private wentDown(reason: string): void {
    const wasDown = this.downUntil !== 0;
    this.downUntil = performance.now() + this.options.negativeTtlMs;
    this.ok = false;
    this.noteError(reason);
    if (!wasDown) {
      this.options.log?.warn(`${this.options.name}: the directory (${this.options.directory.description}) failed: ${reason}; answering without looked-up log-in names, asking again in ${Math.round(this.options.negativeTtlMs / 1000)} s`);
    }
  }

  private noteError(reason: string): void {
    this.lastError = reason;
    this.lastErrorAt = new Date();
  }

  private floorMs(): number {
    if (this.floor === undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      const quantile = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * FLOOR_QUANTILE))]!;
      this.floor = Math.min(quantile, this.options.timeoutMs);
    }
    return this.floor;
  }
}

/**
 * A directory's message may quote what it was asked (PostgreSQL: invalid
 * input syntax for type integer: "alice@…"); the address never leaves here.
 */
function redact(message: string, address: string): string {
  const { localPart } = addressParts(address);
  let redacted = message.replaceAll(address, '<address>');
  if (localPart.length >= 3) redacted = redacted.replaceAll(localPart, '<address>');
  return redacted;
}

export interface CreateLoginLookupOptions {
  /** Names the lookup in messages, e.g. "lookup of providers/hoster.yaml". */
  readonly name: string;
  /** Where passwordEnv is read, when a connection is made (the CLI and serve pass process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log?: LookupLog;
}

/** The lookup a provider's `lookup` key describes. Opens nothing yet: the first find() connects. */
export function createLoginLookup(config: LoginLookupConfig, options: CreateLoginLookupOptions): LoginLookup {
  const timeoutMs = config.timeoutSeconds * 1000;
  const d = config.directory;
  let directory: LoginDirectory;
  switch (d.kind) {
    case 'ldap':
      directory = new LdapDirectory({
        url: d.url,
        startTls: d.startTls,
        bindDn: d.bindDn,
        password: passwordFrom(d.password, options.env)!,
        baseDn: d.baseDn,
        filter: d.filter,
        loginAttribute: d.loginAttribute,
        ...(d.displayNameAttribute !== undefined ? { displayNameAttribute: d.displayNameAttribute } : {}),
        ...(d.caFile !== undefined ? { caFile: d.caFile } : {}),
        timeoutMs,
      });
      break;
    case 'postgresql': {
      const password = passwordFrom(d.password, options.env);
      directory = new PostgresDirectory({ connection: d.connection, ...(password !== undefined ? { password } : {}), query: d.query, timeoutMs });
      break;
    }
    case 'sqlite':
      directory = new SqliteDirectory({ file: d.file, query: d.query, timeoutMs });
      break;
  }
  return new LoginLookup({
    name: options.name,
    directory,
    timeoutMs,
    ttlMs: config.cache.ttlSeconds * 1000,
    negativeTtlMs: config.cache.negativeTtlSeconds * 1000,
    maxEntries: config.cache.maxEntries,
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
}
