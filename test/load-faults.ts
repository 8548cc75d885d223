/**
 * bench/load-faults.mjs in the suite: 60 s at saturation over every format
 * while the catalog is reloaded every 2 s (good and broken edits alternating)
 * and the signing certificate is rotated; a reload of a million domains, a
 * 50 MB file and an alias bomb, 5,000 stalled TLS handshakes and 10 s of
 * unread standard output during the load (issue 20); then SIGTERM under
 * load. The script prints its figures; this test holds it to its invariants.
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
    timeout: (Number(duration) + 90) * 1000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` }));
  figure(stdout.split('\n').filter((l) => l !== '' && !l.startsWith('{')).join('\n'));
  const summary = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('{"durationS"')) ?? '{}');
  t.ok(summary.requests > 1000, `${summary.requests} requests`);
  t.equal(summary.non2xx, 0, 'no non-2xx answer');
  t.equal(summary.errors, 0, 'no failed request');
  t.equal(summary.timeouts, 0, 'no timeout');
  // Edits that arrive during a long reload (the million domains) are taken together.
  t.ok(summary.lastEditInService, `the last of ${summary.reloads} edits is in service (${summary.reloadsSeen} reloads)`);
  t.equal(summary.signingSubjectAfterRotation, 'CN=second', 'the rotated signing certificate is in use');
  t.ok(summary.memoryMiB.growthPercent < 10, `resident memory grew ${summary.memoryMiB.growthPercent} % between ${summary.memoryMiB.steadyFromS} s (after the faults) and the end`);
  t.equal(summary.shutdown.exitCode, 0, 'clean exit after SIGTERM');
  t.same(summary.shutdown.failures, [], 'no request failed at shutdown');
  t.equal(summary.shutdown.answered, summary.shutdown.received, 'every request read was answered');
  const reload = summary.millionDomainReload ?? {};
  t.ok(reload.servedAfterMs > 0, `the million domains were served after ${reload.servedAfterMs} ms`);
  t.equal(reload.failed, 0, 'no probe failed during that reload');
  // The target is 50 ms; the bound leaves room for a shared machine's scheduling.
  t.ok(typeof reload.eventLoopStallMs === 'number' && reload.eventLoopStallMs < 250, `longest event-loop stall of the service during the reload ${reload.eventLoopStallMs} ms (target 50 ms)`);
  t.ok(reload.slowestAnswerMs < 250, `slowest answer during the reload ${reload.slowestAnswerMs} ms (${reload.baselineSlowestMs} ms without it)`);
  t.equal(summary.hostileFiles?.lastGoodStatus, 200, 'the last good catalog is served with a 50 MB file and an alias bomb in the folder');
  const tls = summary.stalledHandshakes ?? {};
  // From the service's last accept: the kernel may hold queued connections back for seconds (bench/load-faults.mjs).
  t.ok(tls.afterLastRiseMs !== null && tls.afterLastRiseMs <= 15_000, `descriptors ${tls.baseline} → ${tls.peak} → ${tls.end}, ${tls.backAfterMs} ms after the last opened, ${tls.afterLastRiseMs} ms after the last accept`);
  t.ok(summary.stalledStdout?.droppedLogLines > 0, `${summary.stalledStdout?.droppedLogLines} log lines dropped and reported while standard output was not read`);
});
