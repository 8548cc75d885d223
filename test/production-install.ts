/**
 * What the container image runs, without a Docker engine: a production-only
 * install (npm ci --omit=dev --ignore-scripts) of the built package in a
 * clean folder, started with `npm start`, answering, then stopped.
 * Prints start-up time and idle memory.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { httpFetch } from '../src/http-client.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { figure } from './helpers/figures.js';

const run = promisify(execFile);

t.test('production install and start path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'prod-'));
  for (const entry of ['package.json', 'package-lock.json', 'providers', 'templates', 'dist']) cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 240_000 });
  t.notOk(existsSync(join(dir, 'node_modules', 'typescript')), 'no dev dependencies');
  t.notOk(existsSync(join(dir, 'node_modules', 'tap')));

  const started = Date.now();
  const child = spawn('npm', ['start'], { cwd: dir, env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const startupMs = Date.now() - started;
  t.equal((await httpFetch(`${url}/healthz`)).status, 200);
  t.equal((await httpFetch(`${url}/mail/config-v1.1.xml?emailaddress=alice%40example.com`)).status, 200);
  t.equal((await httpFetch(`${url}/setup?emailaddress=alice%40example.com`)).status, 200, 'templates and static files are in the package');
  await new Promise((r) => setTimeout(r, 500));
  // npm start → node: the service is the child of npm's process (read from /proc, no procps needed).
  const parentOf = (pid: string): string | undefined => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1];
    } catch {
      return undefined; // gone while we looked
    }
  };
  const servicePid = readdirSync('/proc').find((entry) => /^\d+$/.test(entry) && parentOf(entry) === String(child.pid));
  const rssMiB = Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${servicePid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  t.comment(`npm start to listening: ${startupMs} ms; resident memory at idle: ${rssMiB} MiB`);
  figure(`production install (npm ci --omit=dev) and npm start: ${startupMs} ms to listening, ${rssMiB} MiB resident at idle`);
  t.ok(rssMiB > 0 && rssMiB < 200, `idle memory ${rssMiB} MiB`);
  child.kill('SIGTERM');
  await exited;
  await new Promise((r) => setTimeout(r, 300));
  // npm forwards SIGTERM to its child; `exec` in the start script makes that child the service itself.
  t.match(output, '"msg":"stopped"', 'SIGTERM to npm reaches the service, which stops cleanly');
});
