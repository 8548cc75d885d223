/**
 * Log-in names from SQL (issue 22): the admin's query, with the address as
 * its only parameter (never in the SQL text), returns the log-in name in
 * the first column of the first row and optionally the display name in a
 * second column.
 *
 * PostgreSQL through a pg Pool (connections reused, a connection attempt
 * and each statement bounded by the timeout, server- and client-side);
 * SQLite for small setups through better-sqlite3, opened read-only.
 * better-sqlite3 is an optional dependency loaded only when a provider uses
 * SQLite, so an install whose native build failed still serves everything
 * else. Its calls are synchronous: fine for an indexed one-row lookup in a
 * local file (microseconds), but the timeout cannot interrupt a slow query,
 * only bound the wait for a locked database.
 */
import pg from 'pg';
import type { Database, Statement } from 'better-sqlite3';
import { describePostgresError, postgresClientConfig } from '../sources/postgres-domains.js';
import { DirectoryAnswerError, type LoginDirectory, type LoginName } from './directory.js';

/** What a result looks like, whichever database gave it. */
interface QueryAnswer {
  readonly columns: readonly string[];
  readonly row: readonly unknown[] | undefined;
}

/**
 * First row, first column: the log-in name; a second column: the display
 * name. Anything else is a DirectoryAnswerError saying what is wrong, so the
 * admin sees it in the lookup's state.
 */
export function loginFromRow({ columns, row }: QueryAnswer): LoginName | undefined {
  if (columns.length < 1 || columns.length > 2) {
    throw new DirectoryAnswerError(`the query returns ${columns.length} columns (${columns.join(', ') || 'none'}); it must return the log-in name and optionally the display name`);
  }
  if (row === undefined) return undefined;
  const [login, displayName] = row;
  const loginText = asText(login);
  if (loginText === undefined || loginText === '') {
    throw new DirectoryAnswerError(`the log-in name column "${columns[0]}" holds ${describeValue(login)}, not a log-in name`);
  }
  if (columns.length === 1 || displayName === null || displayName === undefined || displayName === '') return { login: loginText };
  if (typeof displayName !== 'string') throw new DirectoryAnswerError(`the display name column "${columns[1]}" holds ${describeValue(displayName)}, not text`);
  return { login: loginText, displayName };
}

/** Text, or a whole number (customer numbers are often integer columns; pg gives int8 as text already). */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint') return String(value);
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return 'empty text';
  return `a ${Buffer.isBuffer(value) ? 'binary' : typeof value} value`;
}

export interface PostgresDirectoryOptions {
  /** postgresql:// URL; a password in it is never used (the model forbids one). */
  readonly connection: string;
  /** Called for each new connection; see passwordFrom in src/sources/postgres-domains.ts. */
  readonly password?: () => Promise<string>;
  /** One parameter, $1: the address. */
  readonly query: string;
  readonly timeoutMs: number;
  /** Connections kept at most (default 4): lookups wait for one rather than open more. */
  readonly poolSize?: number;
}

export class PostgresDirectory implements LoginDirectory {
  readonly description: string;
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresDirectoryOptions) {
    const url = new URL(options.connection);
    this.description = `postgresql ${url.host}${url.pathname}`;
    // The client-side margin stays small: a lookup is bounded as a whole by lookup.ts.
    this.pool = new pg.Pool({ ...postgresClientConfig(options.connection, options.password, options.timeoutMs, 200), max: options.poolSize ?? 4, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle client whose connection drops emits here; without a listener it would crash the process.
    this.pool.on('error', () => {});
  }

  async find(address: string): Promise<LoginName | undefined> {
    let result: pg.QueryArrayResult<unknown[]>;
    try {
      result = await this.pool.query<unknown[]>({ text: this.options.query, values: [address], rowMode: 'array' });
    } catch (error) {
      const reason = describePostgresError(error);
      // SQLSTATE classes 42 (syntax, no such table/column), 22 (data) and 0A: the query is wrong, the database is fine.
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && /^(42|22|0A)/.test(code)) throw new DirectoryAnswerError(`the query failed: ${reason}`);
      throw new Error(`the query failed: ${reason}`);
    }
    return loginFromRow({ columns: result.fields.map((f) => f.name), row: result.rows[0] });
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

export interface SqliteDirectoryOptions {
  /** Absolute path of the database file. */
  readonly file: string;
  /** One parameter, ?: the address. */
  readonly query: string;
  /** How long to wait for a database another process has locked. */
  readonly timeoutMs: number;
}

/** SQLite's codes for "cannot be read now" (https://www.sqlite.org/rescode.html); others mean the query is wrong. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|NOMEM|CORRUPT|NOTADB|FULL)/;

export class SqliteDirectory implements LoginDirectory {
  readonly description: string;
  private statement: Promise<{ db: Database; statement: Statement<[string], unknown[]> }> | undefined;

  constructor(private readonly options: SqliteDirectoryOptions) {
    this.description = `sqlite ${options.file}`;
  }

  async find(address: string): Promise<LoginName | undefined> {
    const { statement } = await this.prepared();
    let row: unknown[] | undefined;
    try {
      row = statement.get(address);
    } catch (error) {
      throw this.classify(error, 'the query failed');
    }
    return loginFromRow({ columns: statement.columns().map((c) => c.name), row });
  }

  async close(): Promise<void> {
    const opened = this.statement;
    this.statement = undefined;
    if (opened) await opened.then(({ db }) => db.close(), () => {});
  }

  /** Opened and prepared once, at the first lookup; a failed open is tried again at the next. */
  private prepared(): Promise<{ db: Database; statement: Statement<[string], unknown[]> }> {
    this.statement ??= (async () => {
      let Sqlite: typeof import('better-sqlite3');
      try {
        Sqlite = (await import('better-sqlite3')).default;
      } catch (error) {
        throw new Error(`SQLite lookups need the optional dependency better-sqlite3, which is not installed or not built here (${(error as Error).message.split('\n')[0]})`);
      }
      let db: Database | undefined;
      try {
        db = new Sqlite(this.options.file, { readonly: true, fileMustExist: true, timeout: Math.round(this.options.timeoutMs) });
        const statement = db.prepare<[string], unknown[]>(this.options.query);
        if (!statement.reader) throw new DirectoryAnswerError('the query returns no rows (it must be a SELECT)');
        return { db, statement: statement.raw(true) };
      } catch (error) {
        db?.close();
        throw this.classify(error, 'cannot open or prepare');
      }
    })();
    const current = this.statement;
    current.catch(() => {
      if (this.statement === current) this.statement = undefined;
    });
    return current;
  }

  private classify(error: unknown, what: string): Error {
    if (error instanceof DirectoryAnswerError) return error;
    const code = (error as { code?: unknown }).code;
    const message = `${what}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`;
    return typeof code === 'string' && SQLITE_UNAVAILABLE.test(code) ? new Error(message) : new DirectoryAnswerError(message);
  }
}
