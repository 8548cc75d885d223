// Signed Apple profiles per second on this machine, RSA-2048 and P-256, for
// distinct mailboxes (every profile built and signed), 8 at a time as
// concurrent requests would. Prints a small table.
// Run: npm run bench:signing (taskset -c 0 for one core)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../dist/src/catalog/catalog.js';
import { chooseAppleServers, renderApple } from '../dist/src/formats/apple.js';
import { createSigner } from '../dist/src/formats/signing.js';
import { parseAddress } from '../dist/src/mailbox.js';
import { BUNDLED_PROVIDERS_DIR } from '../dist/src/paths.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);

function selfSigned(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const key = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...key, '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=bench'], { cwd: dir, stdio: 'pipe' });
  return { keyPem: readFileSync(join(dir, 'k.pem'), 'utf8'), certPem: readFileSync(join(dir, 'c.pem'), 'utf8') };
}

const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
const provider = catalog.byDomain('example.com');
const choice = chooseAppleServers(provider);
const rows = [];
for (const kind of ['rsa', 'p256']) {
  const { keyPem, certPem } = selfSigned(kind);
  const signer = await createSigner(keyPem, certPem);
  let n = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() - start < DURATION_MS) {
      const mailbox = parseAddress(`user${n++}@example.com`).value;
      await signer.sign(renderApple(provider, mailbox, choice.servers, { identifierPrefix: 'com.example.bench' }));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const seconds = (performance.now() - start) / 1000;
  rows.push({ key: kind === 'rsa' ? 'RSA-2048' : 'ECDSA P-256', profiles: n, seconds: seconds.toFixed(2), perSecond: Math.round(n / seconds) });
}
console.table(rows);
console.log(JSON.stringify({ benchmark: 'signed-profiles', node: process.version, rows }));
