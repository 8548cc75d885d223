/**
 * A throwaway PostgreSQL cluster for a test: Debian's initdb and pg_ctl in a
 * temporary folder, listening on a free port on 127.0.0.1 only (its Unix
 * socket in the same folder), password (SCRAM) authentication for every
 * connection. stop() and start() let a test take the database away and give
 * it back; the teardown removes everything.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then every server
 * command runs as the `postgres` OS user (runuser), which owns the folder.
 * Shared later with the LDAP/SQL log-in lookups.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Test } from 'tap';
import { freeTcpPort, osUser } from './os.js';

const run = promisify(execFile);
const ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin folder, if any. */
function binDir(): string | undefined {
  if (!existsSync(ROOT)) return undefined;
  const versions = readdirSync(ROOT).filter((v) => existsSync(join(ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(ROOT, versions[0], 'bin');
}

/** Why the PostgreSQL suites cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  return binDir() === undefined ? 'PostgreSQL is not installed (apt-get install postgresql); skipping' : undefined;
}

export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  /** The superuser, "postgres", and its password. */
  readonly user: string;
  readonly password: string;
  /** postgresql://postgres@127.0.0.1:port/postgres, without the password. */
  readonly url: string;
  /** The folder of the cluster: a place for files the test writes (password files). */
  readonly dir: string;
  /** Run SQL as the superuser (a new connection each time, so it works across restarts). */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startPostgres(t: Test): Promise<PostgresCluster> {
  const bin = binDir();
  if (bin === undefined) throw new Error(postgresMissing());
  const dir = mkdtempSync(join(tmpdir(), 'postgres-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await osUser('postgres') : undefined;
  // The folder must belong to the user the server runs as.
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const pwfile = join(dir, 'initdb-password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  const server = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args]) : run(join(bin, command), args);

  await server('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  rmSync(pwfile);
  const port = await freeTcpPort();
  appendFileSync(join(data, 'postgresql.conf'), [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    // A test cluster: durability is not the point, speed is.
    'fsync = off', 'synchronous_commit = off', 'full_page_writes = off',
    '',
  ].join('\n'));
  mkdirSync(join(dir, 'out'), { recursive: true });
  if (owner) chownSync(join(dir, 'out'), owner.uid, owner.gid);
  const log = join(dir, 'out', 'server.log');

  const start = async (): Promise<void> => {
    await server('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', 'start']);
  };
  const stop = async (): Promise<void> => {
    await server('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() => {});
  };
  await start();
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = '127.0.0.1';
  return {
    host,
    port,
    user: 'postgres',
    password,
    url: `postgresql://postgres@${host}:${port}/postgres`,
    dir,
    async sql(text, values) {
      const client = new pg.Client({ host, port, user: 'postgres', password, database: 'postgres' });
      await client.connect();
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    stop,
    start,
  };
}
