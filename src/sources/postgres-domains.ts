/**
 * A provider's domains from the hoster's own PostgreSQL database (a
 * provider's `domainsQuery`, issue 21): the admin's query returns one column
 * of domain names; every replica runs it at start, on a NOTIFY on the
 * `listen` channel (a trigger on the customer table sends it), and every
 * refresh interval in case a notification was missed.
 *
 * Faults stay here: a query that fails, times out or returns the wrong
 * columns, and a database that is down, leave the last good list in service;
 * state() says what went wrong and since when, for /readyz and metrics. The
 * LISTEN connection and the refresh come back by themselves, with backoff.
 *
 * The password is fetched for each new connection (so a rotated password
 * file is picked up) and appears in no message, state or log line.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { MAX_REPORTED_PROBLEMS } from '../catalog/domain-list.js';
import { PackedDomainCollector, PackedList } from './packed-list.js';
import type { PasswordSource } from '../catalog/model.js';

export interface DomainSourceLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface PostgresDomainSourceOptions {
  /** Names the source in messages, e.g. "domainsQuery of providers/hoster.yaml". */
  readonly name: string;
  /** postgresql:// URL; a password in it is removed from every message. */
  readonly connection: string;
  /** Called for each new connection; see passwordFrom. */
  readonly password?: () => Promise<string>;
  readonly query: string;
  /** Channel to LISTEN on; a NOTIFY there makes the query run again. */
  readonly listen?: string;
  /** Run the query this often, NOTIFY or not. */
  readonly refreshMs: number;
  /** Bounds a connection attempt and the query (statement_timeout, and the client's own). */
  readonly timeoutMs: number;
  /** First and longest wait before reconnecting or retrying after a failure (default 500 ms, 30 s). */
  readonly backoffMs?: { readonly first: number; readonly max: number };
  readonly log?: DomainSourceLog;
  /**
   * Run the query on this pool (made with domainsPool for the same
   * connection, password and timeout), shared with other sources and not
   * ended by close(); without it the source has a pool of its own.
   */
  readonly pool?: pg.Pool;
  /**
   * LISTEN through this connection (a DatabaseListener of the same
   * database), shared with other sources and not closed by close();
   * without it the source has a LISTEN connection of its own.
   */
  readonly listener?: DatabaseListener;
}

/**
 * The connections a source reads through: a pool of `max`, idle ones closed
 * after 30 s. Sources of one database share one (DomainSources): 2,000
 * providers with a domainsQuery then read through a few connections
 * instead of opening 2,000 at start (docs/performance.md).
 */
export function domainsPool(options: Pick<PostgresDomainSourceOptions, 'connection' | 'password' | 'timeoutMs' | 'log'>, name: string, max: number): pg.Pool {
  // Reads have a deadline of their own (readOnce): pg's query_timeout gives a query a callback, and a query with a
  // callback keeps all its rows.
  const { query_timeout: _ownDeadline, ...config } = sourceClientConfig(options);
  const pool = new pg.Pool({ ...config, max, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
  // An idle client whose connection drops emits here; without a listener it would crash the process.
  pool.on('error', (error) => options.log?.warn(`${name}: idle database connection lost: ${error.message}`));
  return pool;
}

function sourceClientConfig(options: Pick<PostgresDomainSourceOptions, 'connection' | 'password' | 'timeoutMs'>): pg.ClientConfig {
  return {
    ...postgresClientConfig(options.connection, options.password, options.timeoutMs),
    // A LISTEN connection is idle for hours: keepalives find a dead peer.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** What the last read left: the state without the connection's. */
export type ReadOutcome = Omit<PostgresDomainState, 'listening' | 'connection'>;

export interface PostgresDomainState {
  /** The last read succeeded. */
  readonly ok: boolean;
  /** Why the last read failed (kept until the next success). */
  readonly lastError?: string;
  readonly lastErrorAt?: Date;
  readonly lastSuccessAt?: Date;
  /** Rows the last good read returned, and the domains kept of them. */
  readonly rowCount: number;
  readonly domainCount: number;
  /** Rows of the last good read that were not kept (at most 1000, then a count). */
  readonly problems: readonly string[];
  /** The LISTEN connection is up (always false without a channel). */
  readonly listening: boolean;
  /** The connection URL without any password. */
  readonly connection: string;
}

/** The new list, packed (its domains one after another, off the heap; see packed-list.ts). */
export type DomainListener = (domains: PackedList) => void;

/** Where the model says the password is → a function reading it when a connection needs it. */
export function passwordFrom(source: PasswordSource | undefined, env: Readonly<Record<string, string | undefined>>): (() => Promise<string>) | undefined {
  if (source === undefined) return undefined;
  if ('file' in source) {
    // A trailing newline is how editors and `echo` leave a secret file.
    return async () => (await readFile(source.file, 'utf8')).replace(/\r?\n$/, '');
  }
  return async () => {
    const value = env[source.env];
    if (value === undefined) throw new Error(`the environment variable ${source.env} (passwordEnv) is not set`);
    return value;
  };
}

/** The URL as it may be shown: no password, in the user part or as a parameter. */
export function redactConnection(connection: string): string {
  try {
    const url = new URL(connection);
    if (url.password !== '') url.password = 'redacted';
    if (url.searchParams.has('password')) url.searchParams.set('password', 'redacted');
    return url.toString();
  } catch {
    return 'an invalid connection URL';
  }
}

/**
 * A pg client configuration from a postgresql:// URL, the password function
 * and one timeout bounding the connection attempt and each statement. Shared
 * with the log-in lookup (src/directory/sql.ts).
 */
export function postgresClientConfig(connection: string, password: (() => Promise<string>) | undefined, timeoutMs: number, clientTimeoutMarginMs = 1000): pg.ClientConfig {
  // Parsed here rather than passed as connectionString: pg would let the
  // URL's empty password override the password function.
  const { password: _none, ...fromUrl } = parseIntoClientConfig(connection);
  const timeout = Math.max(1, Math.round(timeoutMs));
  return {
    ...fromUrl,
    ...(password !== undefined ? { password } : {}),
    connectionTimeoutMillis: timeout,
    // The server stops the query (statement_timeout); the client gives up a little later if the server cannot.
    statement_timeout: timeout,
    query_timeout: timeout + clientTimeoutMarginMs,
    application_name: 'mail-autoconfig',
  };
}

export class PostgresDomainSource {
  private readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private readonly listeners = new Set<DomainListener>();
  private readonly backoff: { readonly first: number; readonly max: number };
  /** The last good list, packed: a hoster's million domains as strings would stay on the serving heap. */
  private current = PackedList.empty;
  private status: ReadOutcome = { ok: false, rowCount: 0, domainCount: 0, problems: [] };
  private listening = false;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private unsubscribe: (() => void) | undefined;
  private ownListener: DatabaseListener | undefined;
  /** The connection as shown, parsed once: /readyz and each scrape of /metrics read every source's state, 2,000 of them at a hoster. */
  private readonly shownConnection: string;

  constructor(private readonly options: PostgresDomainSourceOptions) {
    this.shownConnection = redactConnection(options.connection);
    this.backoff = options.backoffMs ?? { first: 500, max: 30_000 };
    this.ownPool = options.pool === undefined;
    this.pool = options.pool ?? domainsPool(options, options.name, 2);
  }

  /** The first read (success or not), then LISTEN and the refresh interval. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.options.listen !== undefined && !this.closed) {
      const listener = this.options.listener ?? (this.ownListener = new DatabaseListener(this.options, this.options.name));
      this.unsubscribe = listener.subscribe(this.options.listen, {
        notified: () => void this.refresh(),
        listening: (up) => {
          this.listening = up;
        },
      });
    }
  }

  /** The last good list (empty until the first good read), as strings made now. */
  get domains(): readonly string[] {
    return this.current.toArray();
  }

  /** Called with the new list whenever a read finds other rows, or the same in another order (a diff then finds no change). Returns the unsubscribe. */
  onChange(listener: DomainListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(): PostgresDomainState {
    return { ...this.status, listening: this.listening, connection: this.shownConnection };
  }

  /**
   * The last read's outcome, not copied (a read replaces it, never changes
   * it): DomainSources.summary() reads 2,000 of them per scrape and probe,
   * and state()'s copy cost about 1.5 µs each (docs/performance.md).
   */
  get outcome(): ReadOutcome {
    return this.status;
  }

  /**
   * Run the query now. A refresh asked for while one runs makes one more
   * run after it (a burst of NOTIFYs costs at most two reads).
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = undefined;
      this.scheduleRefresh();
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    this.unsubscribe?.();
    await this.ownListener?.close();
    await this.running;
    if (this.ownPool) await this.pool.end().catch(() => {});
  }

  /** After a good read, the refresh interval; after a failure, sooner, backing off. */
  private scheduleRefresh(): void {
    if (this.closed) return;
    clearTimeout(this.refreshTimer);
    const delay = this.failures === 0 ? this.options.refreshMs : Math.min(this.options.refreshMs, this.backoffDelay(this.failures));
    this.refreshTimer = setTimeout(() => void this.refresh(), delay);
    this.refreshTimer.unref();
  }

  private backoffDelay(failures: number): number {
    return Math.min(this.backoff.first * 2 ** Math.max(failures - 1, 0), this.backoff.max);
  }

  /**
   * One read of the query, its rows collected into the packed list one by
   * one as they arrive (pg's Query without a callback emits each row and
   * keeps none): a hoster's million rows never stand on the heap at once
   * (read whole, 1.5 million ran `npm start`'s 192 MiB heap out of memory),
   * in the one round trip of the simple protocol (a cursor's batches cost
   * two, and took a start with 2,000 sources from 4.8 s to 7.5 s). The
   * server stops a query after the timeout (statement_timeout); the read
   * gives up a second later in any case, the connection closed, when the
   * server cannot say so (it stopped answering).
   */
  private async readOnce(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return this.failed(describePostgresError(error));
    }
    let released = false;
    const release = (error?: Error): void => {
      if (!released) client.release(error);
      released = true;
    };
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      // Ends the connection: the query fails with it.
      release(new Error('read timed out'));
    }, this.options.timeoutMs + READ_MARGIN_MS);
    try {
      const outcome = await this.readRows(client);
      release();
      if (typeof outcome === 'string') return this.failed(outcome);
      this.succeeded(outcome.list, outcome.rowCount, outcome.problems);
    } catch (error) {
      release(error instanceof Error ? error : new Error(String(error)));
      this.failed(timedOut ? `the query took longer than allowed (no answer within ${this.options.timeoutMs + READ_MARGIN_MS} ms)` : describePostgresError(error));
    } finally {
      clearTimeout(deadline);
    }
  }

  /** The query's rows, collected as they arrive; a string says why they are not domain names. */
  private readRows(client: pg.PoolClient): Promise<{ list: PackedList; rowCount: number; problems: string[] } | string> {
    const collector = new PackedDomainCollector('row');
    const problems: string[] = [];
    let unreported = 0;
    let rowCount = 0;
    /** Why the rows are no list of domains (a column too many, numbers): the rest of them is only counted. */
    let unusable: string | undefined;
    const columns = (fields: readonly pg.FieldDef[]): string | undefined =>
      fields.length === 1 ? undefined : `the query returns ${fields.length} columns (${fields.map((f) => f.name).join(', ') || 'none'}); it must return one column of domain names`;
    const query = new pg.Query({ text: this.options.query, rowMode: 'array' } as pg.QueryConfig);
    return new Promise((resolve, reject) => {
      query.on('row', (row: unknown[], result?: pg.ResultBuilder) => {
        rowCount++;
        if (unusable !== undefined) return;
        if (rowCount === 1 && result !== undefined) unusable = columns(result.fields);
        const value = row[0];
        if (unusable === undefined && value !== null && typeof value !== 'string') {
          unusable = `the column "${result?.fields[0]?.name ?? '?'}" holds ${typeof value} values (row ${rowCount}), not domain names as text`;
        }
        if (unusable !== undefined) return;
        const problem = value === null ? 'NULL is not a domain name' : collector.add(value as string, rowCount);
        if (problem === undefined) return;
        if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${this.options.name}, row ${rowCount}: ${problem}`);
        else unreported++;
      });
      query.on('error', reject);
      query.on('end', (result: pg.ResultBuilder | pg.ResultBuilder[]) => {
        if (Array.isArray(result)) return resolve(`the query is ${result.length} statements; it must be one`);
        unusable ??= columns(result.fields);
        if (unusable !== undefined) return resolve(unusable);
        if (unreported > 0) problems.push(`${this.options.name}: ${unreported} more row(s) not kept`);
        resolve({ list: collector.finish(), rowCount, problems });
      });
      client.query(query);
    });
  }

  private succeeded(list: PackedList, rowCount: number, problems: readonly string[]): void {
    const recovered = this.failures > 0;
    const sameProblems = problems.length === this.status.problems.length && problems.every((p, i) => p === this.status.problems[i]);
    this.failures = 0;
    this.status = { ok: true, lastSuccessAt: new Date(), rowCount, domainCount: list.count, problems };
    if (recovered) this.options.log?.info(`${this.options.name}: read ${list.count} domain(s) again after a failure`);
    // Each refresh finds the same bad rows again; say so when they change, not every time.
    if (problems.length > 0 && !sameProblems) this.options.log?.warn(`${problems.length} row(s) not kept; the first: ${problems[0]}`);
    // The same rows in the same order is no change; in another order the listener's diff finds none.
    if (list.equals(this.current)) return;
    this.current = list;
    for (const listener of this.listeners) listener(list);
  }

  private failed(reason: string): void {
    this.failures++;
    const { lastSuccessAt, rowCount, domainCount, problems } = this.status;
    this.status = { ok: false, lastError: reason, lastErrorAt: new Date(), ...(lastSuccessAt ? { lastSuccessAt } : {}), rowCount, domainCount, problems };
    this.options.log?.warn(`${this.options.name}: ${reason}; keeping the last good list of ${this.current.count} domain(s)`);
  }
}

/** What a source hears from its database's LISTEN connection. */
export interface ListenSubscriber {
  /** A NOTIFY on the channel, or the connection (re)made: notifications sent meanwhile are lost, read again. */
  notified(): void;
  /** Whether the channel is listened on now. */
  listening(up: boolean): void;
}

/**
 * One LISTEN connection to a database for every channel its sources listen
 * on: 2,000 providers of one hoster's database with a `listen` each opened
 * 2,000 connections, beyond PostgreSQL's default max_connections (100).
 * When it drops, a new one after a backoff, listening on every channel
 * again; each subscriber is then told to read once.
 */
export class DatabaseListener {
  private readonly channels = new Map<string, Set<ListenSubscriber>>();
  private readonly backoff: { readonly first: number; readonly max: number };
  private client: pg.Client | undefined;
  /** The channels the current connection LISTENs on. */
  private readonly listened = new Set<string>();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private connected = false;

  constructor(
    private readonly options: Pick<PostgresDomainSourceOptions, 'connection' | 'password' | 'timeoutMs' | 'log' | 'backoffMs'>,
    private readonly name: string,
  ) {
    this.backoff = options.backoffMs ?? { first: 500, max: 30_000 };
  }

  /** Listen on `channel` for `subscriber` (the connection is made at the first); returns the unsubscribe. */
  subscribe(channel: string, subscriber: ListenSubscriber): () => void {
    let subscribers = this.channels.get(channel);
    if (subscribers === undefined) this.channels.set(channel, (subscribers = new Set()));
    subscribers.add(subscriber);
    if (this.listened.has(channel)) subscriber.listening(true);
    // A failed LISTEN means a lost connection, which the loop sees and makes again.
    else void this.listenOn(channel).catch(() => {});
    this.loop ??= this.keepListening();
    return () => {
      subscribers.delete(subscriber);
      if (subscribers.size > 0 || this.channels.get(channel) !== subscribers) return;
      this.channels.delete(channel);
      if (this.listened.delete(channel)) void this.client?.query(`UNLISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.client?.end().catch(() => {});
    await this.loop;
  }

  /** LISTEN on the connection there is (none: the loop will, when it connects). */
  private async listenOn(channel: string): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.connected) return;
    await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    if (this.client !== client || !this.channels.has(channel)) return;
    this.listened.add(channel);
    for (const subscriber of this.channels.get(channel) ?? []) {
      subscriber.listening(true);
      subscriber.notified();
    }
  }

  private async keepListening(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const client = new pg.Client(sourceClientConfig(this.options));
      this.client = client;
      const ended = new Promise<string>((resolve) => {
        client.on('error', (error) => resolve(describePostgresError(error)));
        client.on('end', () => resolve('the connection ended'));
      });
      client.on('notification', (message) => {
        for (const subscriber of this.channels.get(message.channel) ?? []) subscriber.notified();
      });
      try {
        await client.connect();
        this.connected = true;
        // Channels subscribed meanwhile are listened on by listenOn, now that there is a connection.
        for (const channel of [...this.channels.keys()]) if (!this.listened.has(channel)) await this.listenOn(channel);
        if (attempt > 0) this.options.log?.info(`${this.name}: listening on ${[...this.listened].join(', ')} again`);
        attempt = 0;
        const reason = await ended;
        if (!this.closed) this.options.log?.warn(`${this.name}: LISTEN connection lost: ${reason}`);
      } catch (error) {
        if (!this.closed && attempt === 0) this.options.log?.warn(`${this.name}: cannot LISTEN on ${[...this.channels.keys()].join(', ')}: ${describePostgresError(error)}`);
      }
      this.connected = false;
      this.listened.clear();
      for (const subscribers of this.channels.values()) for (const subscriber of subscribers) subscriber.listening(false);
      await client.end().catch(() => {});
      if (this.closed) break;
      attempt++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.backoff.first * 2 ** Math.max(attempt - 1, 0), this.backoff.max));
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** pg's errors in one line: the server's message and code, or the socket's. */
export function describePostgresError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as Error & { code?: string };
  const message = error.message || (error as Error & { errors?: Error[] }).errors?.map((e) => e.message).join('; ') || error.name;
  if (/canceling statement due to statement timeout|Query read timeout/i.test(message)) return `the query took longer than allowed (${message})`;
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}


/** How long after the server's statement_timeout a read gives up by itself. */
const READ_MARGIN_MS = 1000;
