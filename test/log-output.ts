/** Log lines are batched into large writes, in order, and nothing is lost at a flush. */
import t from 'tap';
import { BatchedLogOutput } from '../src/cli/log-output.js';

function output(batchChars: number) {
  const writes: string[] = [];
  let syncFlushes = 0;
  const out = new BatchedLogOutput({ write: (chunk: string) => void writes.push(chunk), pending: () => 0, onIdle: () => undefined, flushSync: () => void syncFlushes++ }, { batchChars, flushMs: 60_000 });
  t.teardown(() => out.close());
  return { out, writes, syncFlushes: () => syncFlushes };
}

t.test('lines wait until a batch is full, then go out as one write', async (t) => {
  const { out, writes } = output(30);
  out.write('{"n":1}\n');
  out.write('{"n":2}\n');
  t.same(writes, [], 'nothing written below the batch size');
  out.write('{"n":3}\n');
  out.write('{"n":4}\n');
  t.same(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n'], 'one write with the lines in order');
});

t.test('flushSync writes what waits and flushes the output', async (t) => {
  const { out, writes, syncFlushes } = output(8192);
  out.write('{"n":1}\n');
  out.flushSync();
  t.same(writes, ['{"n":1}\n']);
  t.equal(syncFlushes(), 1);
  out.flushSync();
  t.same(writes, ['{"n":1}\n'], 'an empty batch is not written');
});

t.test('lines waiting are written after the flush interval', async (t) => {
  const writes: string[] = [];
  const out = new BatchedLogOutput({ write: (chunk: string) => void writes.push(chunk), pending: () => 0, onIdle: () => undefined, flushSync: () => undefined }, { flushMs: 20 });
  t.teardown(() => out.close());
  out.write('{"n":1}\n');
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.same(writes, ['{"n":1}\n']);
});
