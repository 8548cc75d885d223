/**
 * SQL log-in lookups (issue 22) against a real PostgreSQL (test/helpers/postgres.ts)
 * and a SQLite file: found / not found / alias, quotes and "'; DROP TABLE" as
 * addresses (the table is still there), the column rules, a slow query and
 * a database that goes away and comes back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DirectoryAnswerError, type LoginDirectory } from '../src/directory/directory.js';
import { loginFromRow, PostgresDirectory, SqliteDirectory } from '../src/directory/sql.js';
import { passwordFrom } from '../src/sources/postgres-domains.js';
import { postgresMissing, startPostgres } from './helpers/postgres.js';

const HOSTILE = [
  "'; DROP TABLE mailboxes; --",
  "' OR '1'='1",
  "x@example.com' OR 1=1 --",
  '"; DROP TABLE addresses; --',
  "alice@example.com'; --",
  '%',
  '_lice@example.com',
];

/** The shared cases, for any database holding the fixture below. */
async function sharedCases(t: Test, make: (query: string) => LoginDirectory, placeholder: string, stillThere: () => Promise<number>): Promise<void> {
  const JOIN = `SELECT m.login, m.full_name FROM addresses a JOIN mailboxes m ON m.id = a.mailbox WHERE a.address = ${placeholder}`;
  const directory = make(JOIN);
  t.teardown(() => directory.close());

  t.same(await directory.find('alice@example.com'), { login: 'u100', displayName: 'Alice Smith' }, 'found, with the display name');
  t.same(await directory.find('a.smith@example.com'), { login: 'u100', displayName: 'Alice Smith' }, 'an alias: the same login');
  t.same(await directory.find('bob@example.com'), { login: 'k-204711' }, 'a NULL display name is left out');
  t.equal(await directory.find('nobody@example.com'), undefined, 'not found');
  t.same(await directory.find("o'brien@example.com"), { login: 'u300', displayName: "Seán O'Brien" }, 'a quote in a real address is just a character');
  for (const hostile of HOSTILE) t.equal(await directory.find(hostile), undefined, `${JSON.stringify(hostile)} finds nothing`);
  t.equal(await stillThere(), 4, 'every table and row is still there');

  const login = make(`SELECT login FROM mailboxes m JOIN addresses a ON m.id = a.mailbox WHERE a.address = ${placeholder}`);
  t.same(await login.find('alice@example.com'), { login: 'u100' }, 'one column: the log-in name only');
  await login.close();

  const number = make(`SELECT customer_number FROM mailboxes m JOIN addresses a ON m.id = a.mailbox WHERE a.address = ${placeholder}`);
  t.same(await number.find('bob@example.com'), { login: '204711' }, 'an integer column gives its digits');
  await number.close();

  const three = make(`SELECT login, full_name, id FROM mailboxes WHERE login = ${placeholder}`);
  await t.rejects(three.find('u100'), new DirectoryAnswerError('the query returns 3 columns (login, full_name, id); it must return the log-in name and optionally the display name'));
  await three.close();

  const nullLogin = make(`SELECT NULL AS login FROM mailboxes WHERE login = ${placeholder}`);
  await t.rejects(nullLogin.find('u100'), { name: 'DirectoryAnswerError', message: /the log-in name column "login" holds NULL/ });
  await nullLogin.close();

  const wrongTable = make(`SELECT login FROM no_such_table WHERE login = ${placeholder}`);
  await t.rejects(wrongTable.find('u100'), { name: 'DirectoryAnswerError', message: /no_such_table/ }, 'a wrong query is an answer error, not an outage');
  await wrongTable.close();
}

t.test('the column rules', async (t) => {
  t.same(loginFromRow({ columns: ['login'], row: ['u1'] }), { login: 'u1' });
  t.same(loginFromRow({ columns: ['login', 'name'], row: ['u1', 'Ann'] }), { login: 'u1', displayName: 'Ann' });
  t.equal(loginFromRow({ columns: ['login'], row: undefined }), undefined);
  t.same(loginFromRow({ columns: ['n'], row: [42n] }), { login: '42' });
  t.throws(() => loginFromRow({ columns: [], row: undefined }), /returns 0 columns \(none\)/);
  t.throws(() => loginFromRow({ columns: ['login'], row: [''] }), /holds empty text/);
  t.throws(() => loginFromRow({ columns: ['login'], row: [1.5] }), /holds a number value/);
  t.throws(() => loginFromRow({ columns: ['login', 'name'], row: ['u1', 7] }), /display name column "name" holds a number value/);
});

const FIXTURE = `
  CREATE TABLE mailboxes (id integer PRIMARY KEY, login text, full_name text, customer_number integer);
  CREATE TABLE addresses (address text PRIMARY KEY, mailbox integer NOT NULL REFERENCES mailboxes(id));
  INSERT INTO mailboxes VALUES (1, 'u100', 'Alice Smith', 100100), (2, 'k-204711', NULL, 204711), (3, 'u300', 'Seán O''Brien', 300300);
  INSERT INTO addresses VALUES ('alice@example.com', 1), ('a.smith@example.com', 1), ('bob@example.com', 2), ('o''brien@example.com', 3);
`;

/** better-sqlite3 is an optional dependency: without its native build, the SQLite parts skip. */
const sqlite = await import('better-sqlite3').then((m) => m.default, () => undefined);
const SQLITE_MISSING = sqlite === undefined ? 'better-sqlite3 (optional dependency) is not installed or not built; skipping SQLite' : false;

t.test('SQLite', { skip: SQLITE_MISSING }, async (t) => {
  const Sqlite = sqlite!;
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-lookup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'logins.sqlite');
  const writer = new Sqlite(file);
  writer.exec(FIXTURE);
  t.teardown(() => writer.close());
  const count = async (): Promise<number> => (writer.prepare('SELECT count(*) AS n FROM addresses').get() as { n: number }).n;

  await sharedCases(t, (query) => new SqliteDirectory({ file, query, timeoutMs: 500 }), '?', count);

  t.test('a file that is gone: an outage; back: found again', async (t) => {
    const moved = new SqliteDirectory({ file: join(dir, 'later.sqlite'), query: 'SELECT login FROM mailboxes WHERE login = ?', timeoutMs: 500 });
    t.teardown(() => moved.close());
    const error = await moved.find('u100').then(() => undefined, (e: Error) => e);
    t.match(error, { message: /cannot open or prepare: .*(SQLITE_CANTOPEN|unable to open)/ });
    t.notOk(error instanceof DirectoryAnswerError, 'not an answer error');
    writeFileSync(join(dir, 'later.sqlite'), '');
    new Sqlite(join(dir, 'later.sqlite')).exec(FIXTURE);
    t.same(await moved.find('u100'), { login: 'u100' });
  });

  t.test('opened read-only: the lookup cannot write', async (t) => {
    const writing = new SqliteDirectory({ file, query: "INSERT INTO addresses VALUES (?, 1) RETURNING address", timeoutMs: 500 });
    await t.rejects(writing.find('mallory@example.com'), /readonly|read-only/i);
    await writing.close();
    t.equal(await count(), 4);
  });
});

t.test('PostgreSQL', { skip: postgresMissing() ?? false }, async (t) => {
  const db = await startPostgres(t);
  await db.sql(FIXTURE);
  // The lookup's own role, as a provider would set it up: read-only, with a password from a file.
  const rolePassword = `lookup-${Math.random().toString(36).slice(2)}`;
  await db.sql(`CREATE ROLE lookup LOGIN PASSWORD '${rolePassword}'; GRANT SELECT ON mailboxes, addresses TO lookup`);
  const passwordFile = join(db.dir, 'lookup-password');
  writeFileSync(passwordFile, `${rolePassword}\n`);
  const connection = `postgresql://lookup@${db.host}:${db.port}/postgres`;
  const make = (query: string, timeoutMs = 1000, password = passwordFrom({ file: passwordFile }, {})): PostgresDirectory =>
    new PostgresDirectory({ connection, ...(password ? { password } : {}), query, timeoutMs });
  const count = async (): Promise<number> => Number((await db.sql('SELECT count(*) AS n FROM addresses')).rows[0].n);

  await sharedCases(t, (query) => make(query), '$1', count);

  t.test('the password comes from the environment when the lookup is made, and is in no message', async (t) => {
    const fromEnv = make('SELECT login FROM mailboxes WHERE login = $1', 1000, passwordFrom({ env: 'LOOKUP_PW' }, { LOOKUP_PW: rolePassword }));
    t.same(await fromEnv.find('u100'), { login: 'u100' });
    await fromEnv.close();
    const wrong = make('SELECT login FROM mailboxes WHERE login = $1', 1000, async () => 'not-the-password-42');
    const error = await wrong.find('u100').then(() => undefined, (e: Error) => e);
    t.match(error?.message, /password authentication failed/);
    t.notMatch(error?.message, /not-the-password-42/);
    await wrong.close();
  });

  t.test('a slow query is stopped at the timeout', async (t) => {
    const slow = make('SELECT login FROM mailboxes, pg_sleep(3) WHERE login = $1', 300);
    const started = performance.now();
    await t.rejects(slow.find('u100'), /longer than allowed|statement timeout|timeout/i);
    const ms = performance.now() - started;
    t.ok(ms < 300 + 500, `gave up after ${ms.toFixed(0)} ms`);
    await slow.close();
  });

  t.test('the database goes away and comes back', async (t) => {
    const directory = make('SELECT login FROM mailboxes WHERE login = $1', 500);
    t.teardown(() => directory.close());
    t.same(await directory.find('u100'), { login: 'u100' }, 'a pooled connection is open');
    await db.stop();
    const started = performance.now();
    const error = await directory.find('u100').then(() => undefined, (e: Error) => e);
    t.ok(error, 'rejected while down');
    t.notOk(error instanceof DirectoryAnswerError, 'an outage, not an answer error');
    t.ok(performance.now() - started < 500 + 500, 'within the timeout');
    await db.start();
    t.same(await directory.find('u100'), { login: 'u100' }, 'found again');
  });
});
