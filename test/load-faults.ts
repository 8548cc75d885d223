/**
 * bench/load-faults.mjs in the suite: 60 s at saturation over every format
 * while the catalog is reloaded every 2 s (good and broken edits alternating)
 * and the signing certificate is rotated, then SIGTERM under load. The script
 * prints its figures; this test holds it to its invariants.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PROJECT_ROOT } from '../src/paths.js';
import { figure } from './helpers/figures.js';

const run = promisify(execFile);

t.test('load, reloads, certificate rotation and shutdown: nothing fails, memory stays flat', async (t) => {
  const duration = process.env.LOAD_DURATION ?? '60';
  const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'bench', 'load-faults.mjs')], {
    env: { ...process.env, DURATION: duration },
    timeout: (Number(duration) + 60) * 1000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` }));
  figure(stdout.split('\n').filter((l) => l !== '' && !l.startsWith('{')).join('\n'));
  const summary = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('{"durationS"')) ?? '{}');
  t.ok(summary.requests > 1000, `${summary.requests} requests`);
  t.equal(summary.non2xx, 0, 'no non-2xx answer');
  t.equal(summary.errors, 0, 'no failed request');
  t.equal(summary.timeouts, 0, 'no timeout');
  t.ok(summary.reloadsSeen >= summary.reloads, `${summary.reloadsSeen} reloads for ${summary.reloads} edits`);
  t.equal(summary.signingSubjectAfterRotation, 'CN=second', 'the rotated signing certificate is in use');
  t.ok(summary.memoryMiB.growthPercent < 10, `resident memory grew ${summary.memoryMiB.growthPercent} % between 10 s and the end`);
  t.equal(summary.shutdown.exitCode, 0, 'clean exit after SIGTERM');
  t.same(summary.shutdown.failures, [], 'no request failed at shutdown');
  t.equal(summary.shutdown.answered, summary.shutdown.received, 'every request read was answered');
});
