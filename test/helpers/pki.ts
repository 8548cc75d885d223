/** A throw-away root, intermediate and leaf, made with openssl at test time. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly rootFile: string;
  readonly keyFile: string;
  /** Leaf then intermediate, PEM. */
  readonly chainFile: string;
  readonly keyPem: string;
  readonly chainPem: string;
}

export type KeyKind = 'rsa' | 'p256';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function newKey(kind: KeyKind): string[] {
  return kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
}

/** A root, an intermediate and a leaf for `names` (its subjectAltName; the first is the CN). */
export function makePki(kind: KeyKind, leafDays = 30, names: readonly string[] = ['autoconfig.example.com']): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `pki-${kind}-`));
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  openssl(['req', '-x509', ...newKey(kind), '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '2', '-subj', '/CN=Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...newKey(kind), '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Test Intermediate'], dir);
  openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '2', '-extfile', 'ca.ext'], dir);
  openssl(['req', ...newKey(kind), '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${names[0]}`], dir);
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', String(leafDays), '-extfile', 'leaf.ext'], dir);
  const chainPem = readFileSync(join(dir, 'leaf.pem'), 'utf8') + readFileSync(join(dir, 'int.pem'), 'utf8');
  writeFileSync(join(dir, 'chain.pem'), chainPem);
  return {
    dir,
    rootFile: join(dir, 'root.pem'),
    keyFile: join(dir, 'leaf.key'),
    chainFile: join(dir, 'chain.pem'),
    keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    chainPem,
  };
}

/** openssl cms -verify; returns the embedded content, or throws with openssl's words. */
export function opensslVerify(pki: TestPki, signed: Buffer, name: string): Buffer {
  const input = join(pki.dir, `${name}.signed`);
  const output = join(pki.dir, `${name}.content`);
  writeFileSync(input, signed);
  execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-binary', '-purpose', 'any', '-CAfile', pki.rootFile, '-in', input, '-out', output], { stdio: 'pipe' });
  return readFileSync(output);
}

/** Certificate files at fixed paths, as a renewal job would keep them, starting with `pki`. */
export function liveFiles(pki: TestPki, name: string): { keyFile: string; certFile: string; renew(next: TestPki): void } {
  const keyFile = join(pki.dir, `${name}.key`);
  const certFile = join(pki.dir, `${name}.pem`);
  const install = (from: TestPki): void => {
    copyFileSync(from.keyFile, keyFile);
    copyFileSync(from.chainFile, certFile);
  };
  install(pki);
  return { keyFile, certFile, renew: install };
}
