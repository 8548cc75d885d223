/** The real `mail-autoconfig serve` as a child process, as operators run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { PROJECT_ROOT } from '../../src/paths.js';

export const BIN = join(PROJECT_ROOT, 'dist', 'src', 'bin', 'mail-autoconfig.js');

export interface ServerProcess {
  readonly process: ChildProcess;
  /** Every line the process wrote to stdout and stderr. */
  readonly lines: string[];
  /** Base URLs it listens on, as logged ("Server listening at …"). */
  readonly urls: string[];
  readonly exited: Promise<number | null>;
}

/** Start `serve` with flags and wait until `expectListeners` listeners are up. */
export async function spawnServe(t: Test, args: string[], env: Record<string, string> = {}, expectListeners = 1): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const urls: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join('\n')}`)), 20_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        lines.push(line);
        const match = /Server listening at (https?:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) urls.push(match[1]!);
        if (urls.length >= expectListeners) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      if (urls.length < expectListeners) reject(new Error(`server exited with ${code}:\n${lines.join('\n')}`));
    });
  });
  return { process: child, lines, urls, exited };
}
