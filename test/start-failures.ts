/** Item 7 of issue 20: any start-up failure exits non-zero with one line. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import t from 'tap';
import { BIN } from './helpers/process.js';

function run(args: string[]): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut: signal === 'SIGKILL' });
    });
  });
}

t.test('a port in use ends the process with exit 1 and one line', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = String((blocker.address() as { port: number }).port);
  const result = await run(['--port', port]);
  t.notOk(result.timedOut, 'the process ended by itself');
  t.equal(result.code, 1);
  t.match(result.stderr, /^mail-autoconfig serve: .*EADDRINUSE.*\n$/);
});

t.test('an unreadable TLS file ends the process with exit 1 and one line', async (t) => {
  const result = await run(['--port', '0', '--https-port', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem']);
  t.notOk(result.timedOut, 'the process ended by itself');
  t.equal(result.code, 1);
  t.match(result.stderr, /^mail-autoconfig serve: .*\/nonexistent\/.*\n$/);
});

t.test('a metrics port in use ends the process with exit 1 and one line', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = String((blocker.address() as { port: number }).port);
  const result = await run(['--port', '0', '--metrics-port', port]);
  t.notOk(result.timedOut, 'the process ended by itself');
  t.equal(result.code, 1);
  t.match(result.stderr, /^mail-autoconfig serve: .*EADDRINUSE.*\n$/);
});
