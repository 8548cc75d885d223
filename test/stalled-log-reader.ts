/**
 * Item 6 of issue 20: answers never wait for the log. While standard output
 * is not read, log lines wait in a bounded buffer, lines beyond it are
 * dropped and counted (a metric and a "dropped N log lines" line), and what
 * waits is written at exit.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Agent, request as httpRequest } from 'node:http';
import t from 'tap';
import { BatchedLogOutput, type LogSink } from '../src/cli/log-output.js';
import { BIN } from './helpers/process.js';
import { figure } from './helpers/figures.js';

/** A sink that takes chunks only while `open`. */
function gatedSink() {
  const written: string[] = [];
  let pending = '';
  let idle: (() => void) | undefined;
  const sink: LogSink & { open(): void } = {
    write(chunk) {
      pending = chunk;
    },
    pending: () => pending.length,
    onIdle(callback) {
      idle = callback;
    },
    flushSync() {
      if (pending) written.push(pending), (pending = '');
    },
    open() {
      if (pending) written.push(pending);
      pending = '';
      idle?.();
    },
  };
  return { sink, written };
}

t.test('a stalled sink: lines wait up to the bound, the rest are dropped and counted, then reported', async (t) => {
  const { sink, written } = gatedSink();
  const out = new BatchedLogOutput(sink, { batchChars: 100, flushMs: 60_000, maxWaitingChars: 1000, reportMs: 60_000 });
  t.teardown(() => out.close());
  const line = `${JSON.stringify({ msg: 'x'.repeat(40) })}\n`;
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) out.write(line);
  t.ok(performance.now() - started < 500, 'writing never waits');
  t.ok(out.waitingChars() <= 1000 + 100, `at most the bound waits (${out.waitingChars()})`);
  t.ok(out.dropped > 9000, `${out.dropped} lines dropped`);
  sink.open();
  out.reportDropped();
  for (let i = 0; i < 50 && out.waitingChars() > 0; i++) sink.open();
  out.flushSync();
  const text = written.join('');
  t.match(text, new RegExp(`"msg":"dropped ${out.dropped} log lines`), 'the drop is reported in the log');
  t.ok(text.split('\n').filter(Boolean).every((l) => JSON.parse(l)), 'every line written is whole');
});

t.test('flushSync writes what waits', async (t) => {
  const { sink, written } = gatedSink();
  const out = new BatchedLogOutput(sink, { batchChars: 8192, flushMs: 60_000 });
  out.write('{"n":1}\n');
  out.write('{"n":2}\n');
  out.close();
  t.same(written.join(''), '{"n":1}\n{"n":2}\n');
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function get(port: number, path: string, agent: Agent, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, path, agent, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout: no answer within 5 s')));
    r.on('error', reject);
    r.end();
  });
}

t.test('the service answers while nobody reads its standard output', async (t) => {
  const port = await freePort();
  const token = 'log-test-token-0123456789';
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', '--log-level', 'info', '--metrics-token', token], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 100; i++) {
    if (await get(port, '/healthz', agent).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const total = 12_000;
  let answered = 0;
  let failed = '';
  const started = Date.now();
  await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
    for (let i = worker; i < total && !failed; i += 8) {
      const response = await get(port, '/mail/config-v1.1.xml?emailaddress=alice%40example.com', agent).catch((e: Error) => ({ status: 0, body: e.message }));
      if (response.status === 200) answered++;
      else failed = `${response.status} ${response.body}`;
    }
  }));
  t.equal(failed, '', 'no request failed');
  t.equal(answered, total, `${answered} of ${total} answered in ${Date.now() - started} ms with standard output unread`);
  const metrics = await get(port, '/metrics', agent, { authorization: `Bearer ${token}` });
  const dropped = Number(/^mail_autoconfig_log_lines_dropped_total (\d+)/m.exec(metrics.body)?.[1] ?? NaN);
  t.ok(dropped > 0, `dropped lines are counted (${dropped})`);
  // Reading again: the waiting lines come out, with the report of the dropped ones.
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  const until = Date.now() + 15_000;
  while (Date.now() < until && !/dropped \d+ log lines/.test(output)) await new Promise((r) => setTimeout(r, 200));
  t.match(output, /"msg":"dropped \d+ log lines/, 'a line says how many were dropped');
  figure(`stalled stdout: ${answered} requests answered while standard output was not read; ${dropped} log lines dropped and counted`);
});
