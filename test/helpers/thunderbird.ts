/**
 * Real Thunderbird as a client: Debian's package, driven headless by
 * ../shared/tb-harness. One call runs a batch of harness jobs in one
 * Thunderbird start; a suite that needs it is skipped with one line where
 * the harness or the binary is missing (and fails in CI, which installs it).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { sharedMissing, TB_HARNESS_DIR } from './shared.js';

export const THUNDERBIRD = process.env.TB_BINARY ?? '/usr/bin/thunderbird';

/** One server of the account Thunderbird derived (the harness's names of Thunderbird's constants). */
export interface TbServer {
  type: string;
  hostname: string;
  port: number;
  socketType: string;
  auth: string;
  username: string;
}

export interface TbResult {
  job: Record<string, unknown>;
  ok: boolean;
  config?: {
    subSource: string;
    displayName: string;
    incoming: TbServer;
    incomingAlternatives?: TbServer[];
    outgoing: TbServer;
    outgoingAlternatives?: TbServer[];
  };
  /** discover jobs: which of Thunderbird's lookups won, and how each ended. */
  discovery?: { winner: string | null; lookups: Record<string, { state: string; subSource?: string; error?: { message?: string } }> };
  error?: { message?: string };
  /** What the harness proxy saw while the job ran (an HTTPS request only as its CONNECT). */
  proxyLog: { method: string; url: string; action: string }[];
}

/** The fields a test compares, without the harness's extras (numeric values, auth alternatives). */
export function pick(s: TbServer): TbServer {
  return { type: s.type, hostname: s.hostname, port: s.port, socketType: s.socketType, auth: s.auth, username: s.username };
}

/** Run `jobs` in one Thunderbird start, trusting `caFiles`; a job that finds no configuration is a result, not an error. */
export async function runThunderbird(jobs: readonly Record<string, unknown>[], caFiles: readonly string[] = []): Promise<{ version: string; results: TbResult[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tb-batch-'));
  const batchFile = join(dir, 'batch.json');
  writeFileSync(batchFile, JSON.stringify(jobs));
  // The harness prints its JSON and calls process.exit at once. Read through
  // a pipe, the end of it was lost once while the whole suite ran (a
  // JSON.parse error at 219,264 octets in a CI run); a file takes every
  // write before the exit.
  const outputFile = join(dir, 'output.json');
  const errorFile = join(dir, 'stderr.txt');
  const out = openSync(outputFile, 'w');
  const err = openSync(errorFile, 'w');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('node', [join(TB_HARNESS_DIR, 'tb-config.mjs'), '--batch', batchFile, '--thunderbird', THUNDERBIRD, ...caFiles.flatMap((f) => ['--ca-file', f])], {
      stdio: ['ignore', out, err],
      timeout: 600_000,
    });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => {
    closeSync(out);
    closeSync(err);
  });
  const stdout = readFileSync(outputFile, 'utf8');
  const stderr = readFileSync(errorFile, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  // Exit 1 means "some job failed", which refusals and self-tests do on purpose.
  if (code !== 0 && !(code === 1 && stdout)) throw new Error(`the Thunderbird harness exited with ${code}: ${(stderr || stdout).slice(-500)}`);
  const output = JSON.parse(stdout) as { thunderbird: { version: string }; results: TbResult[] };
  return { version: output.thunderbird.version, results: output.results };
}

/** Run `main` as the file's one test where Thunderbird can run; else one line on why not (`alsoMissing`: another tool's reason). */
export function withThunderbird(name: string, main: (t: Test) => Promise<void>, alsoMissing?: string): void {
  const missing = sharedMissing('tb-harness') || alsoMissing;
  if (missing) {
    t.plan(0, missing);
  } else if (!existsSync(THUNDERBIRD)) {
    // CI installs thunderbird (.ci/run); there a missing binary is a failure.
    if (process.env.CI) t.fail(`Thunderbird is not installed at ${THUNDERBIRD}`);
    else t.plan(0, `Thunderbird is not installed at ${THUNDERBIRD} (apt-get install thunderbird)`);
  } else {
    t.test(name, main);
  }
}
