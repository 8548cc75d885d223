/**
 * A throwaway OpenLDAP server for a test (issue 22): Debian's slapd with a
 * minimal slapd.conf in a temporary folder (mdb backend, suffix
 * dc=example,dc=com), listening on free loopback ports only: ldap:// (with
 * STARTTLS) and ldaps://, with a test CA. A service account
 * (cn=autoconfig,ou=services,dc=example,dc=com) may bind with a password
 * and read people; entries are added with ldapadd as the rootdn.
 *
 * slapd runs in the foreground with the stats log level, so a test can
 * count the searches the server received (searches()). stop()/start() take
 * the directory away and give it back (connections refused); pause()/resume()
 * freeze it (SIGSTOP: connections and operations hang, as with a dead host).
 *
 * As root (CI), slapd drops to the openldap user when there is one (-u/-g),
 * which then owns the folder; as any other user it runs as that user.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { freeTcpPort, osUser } from './os.js';

const run = promisify(execFile);
const SLAPD = '/usr/sbin/slapd';
const LDAPADD = '/usr/bin/ldapadd';
const SCHEMA = '/etc/ldap/schema';
const MODULES = '/usr/lib/ldap';

export const SUFFIX = 'dc=example,dc=com';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const SERVICE_DN = `cn=autoconfig,ou=services,${SUFFIX}`;

/** Why the LDAP suites cannot run here, or undefined when they can. */
export function slapdMissing(): string | undefined {
  for (const path of [SLAPD, LDAPADD, join(SCHEMA, 'inetorgperson.schema'), join(MODULES, 'back_mdb.so')]) {
    if (!existsSync(path)) return `OpenLDAP is not installed (apt-get install slapd ldap-utils: ${path} is missing); skipping the LDAP lookup tests`;
  }
  return undefined;
}

export interface Slapd {
  /** ldap://127.0.0.1:port (STARTTLS offered). */
  readonly url: string;
  /** ldaps://127.0.0.1:port. */
  readonly secureUrl: string;
  /** The service account the lookups bind as, and its password. */
  readonly bindDn: string;
  readonly bindPassword: string;
  /** PEM file of the CA that signed the server's certificate (for 127.0.0.1 and localhost). */
  readonly caFile: string;
  /** A folder for the test's own files (password files). */
  readonly dir: string;
  /** Add entries (LDIF) as the rootdn. */
  add(ldif: string): Promise<void>;
  /** The filters of the searches received so far, in order (from the stats log). */
  searches(): string[];
  /** Binds received so far (DNs). */
  binds(): string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP, and wait until slapd has really stopped. */
  pause(): Promise<void>;
  resume(): void;
}

export async function startSlapd(t: Test): Promise<Slapd> {
  const missing = slapdMissing();
  if (missing !== undefined) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'slapd-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const rootPassword = `root-${Math.random().toString(36).slice(2)}`;
  const bindPassword = `bind-${Math.random().toString(36).slice(2)}`;
  const [port, securePort] = [await freeTcpPort(), await freeTcpPort()];
  const caFile = makeServerCertificate(dir);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include ${SCHEMA}/${s}.schema`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    `modulepath ${MODULES}`,
    'moduleload back_mdb',
    `TLSCACertificateFile ${caFile}`,
    `TLSCertificateFile ${dir}/server.pem`,
    `TLSCertificateKeyFile ${dir}/server.key`,
    'database mdb',
    'maxsize 67108864',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    `rootpw ${rootPassword}`,
    `directory ${data}`,
    'index objectClass eq',
    'index mail eq',
    // The service account reads people and nothing else; passwords only for binding.
    'access to attrs=userPassword by anonymous auth by * none',
    `access to dn.subtree="${PEOPLE}" by dn.exact="${SERVICE_DN}" read by * none`,
    'access to * by * none',
    '',
  ].join('\n'));
  const rootPasswordFile = join(dir, 'root-password');
  writeFileSync(rootPasswordFile, rootPassword, { mode: 0o600 });

  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await osUser('openldap') : undefined;
  if (owner) for (const path of [dir, data, ...readdirSync(dir).map((f) => join(dir, f))]) chownSync(path, owner.uid, owner.gid);

  const url = `ldap://127.0.0.1:${port}`;
  const secureUrl = `ldaps://127.0.0.1:${securePort}`;
  const log: string[] = [];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const args = ['-d', 'stats', '-f', conf, '-h', `${url}/ ${secureUrl}/`, ...(owner ? ['-u', 'openldap', '-g', 'openldap'] : [])];
    const started = spawn(SLAPD, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    let partial = '';
    started.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      log.push(...lines);
    });
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    const deadline = Date.now() + 15_000;
    while (!(await accepts(port))) {
      if (child !== started) throw new Error(`slapd exited at start:\n${log.slice(-20).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`slapd did not listen within 15 s:\n${log.slice(-20).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    void exited;
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGCONT');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  await start();
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ldapadd = async (ldif: string): Promise<void> => {
    const file = join(dir, `add-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
    writeFileSync(file, ldif);
    try {
      await run(LDAPADD, ['-x', '-H', url, '-D', `cn=admin,${SUFFIX}`, '-y', rootPasswordFile, '-f', file]);
    } finally {
      rmSync(file, { force: true });
    }
  };
  await ldapadd([
    `dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Example', 'dc: example', '',
    `dn: ou=services,${SUFFIX}`, 'objectClass: organizationalUnit', 'ou: services', '',
    `dn: ${PEOPLE}`, 'objectClass: organizationalUnit', 'ou: people', '',
    `dn: ${SERVICE_DN}`, 'objectClass: simpleSecurityObject', 'objectClass: organizationalRole', 'cn: autoconfig', `userPassword: ${bindPassword}`, '',
  ].join('\n'));

  const opsOf = (kind: string): string[] =>
    log.flatMap((line) => {
      const match = new RegExp(`op=\\d+ ${kind} (.*)$`).exec(line);
      return match ? [match[1]!] : [];
    });
  return {
    url,
    secureUrl,
    bindDn: SERVICE_DN,
    bindPassword,
    caFile,
    dir,
    add: ldapadd,
    searches: () => opsOf('SRCH').flatMap((s) => /filter="(.*)"$/.exec(s)?.[1] ?? []),
    binds: () => opsOf('BIND').flatMap((s) => /dn="(.*?)" method=/.exec(s)?.[1] ?? []),
    stop,
    start,
    async pause() {
      const running = child;
      if (running?.pid === undefined) return;
      running.kill('SIGSTOP');
      // The signal is delivered asynchronously: wait until every thread has stopped ("T" in /proc).
      const deadline = Date.now() + 2000;
      while (!/^\S+ \(.*\) T /.test(readFileSync(`/proc/${running.pid}/stat`, 'utf8')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      for (const task of readdirSync(`/proc/${running.pid}/task`)) {
        while (!/\) [Tt] /.test(readFileSync(`/proc/${running.pid}/task/${task}/stat`, 'utf8')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    resume: () => void child?.kill('SIGCONT'),
  };
}

/**
 * A subtest with its own slapd, or, where OpenLDAP is not installed, that
 * subtest skipped with the one line saying why (the rest of the file runs).
 */
export function slapdSuite(t: Test, name: string, body: (t: Test, slapd: Slapd) => Promise<void>): void {
  const missing = slapdMissing();
  t.test(name, { skip: missing ?? false }, async (t) => body(t, await startSlapd(t)));
}

/** A CA and a server certificate for 127.0.0.1 and localhost; returns the CA file. */
function makeServerCertificate(dir: string): string {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test LDAP CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  if (!statSync(join(dir, 'server.pem')).isFile()) throw new Error('no server certificate');
  return join(dir, 'ca.pem');
}

/** An LDIF person: uid is the log-in name, every address a mail value (aliases are more values). */
export function person(uid: string, addresses: readonly string[], displayName?: string): string {
  return [
    `dn: uid=${uid},${PEOPLE}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${displayName ?? uid}`, `sn: ${uid}`,
    ...(displayName !== undefined ? [`displayName: ${displayName}`] : []),
    ...addresses.map((a) => `mail: ${a}`), '',
  ].join('\n');
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
