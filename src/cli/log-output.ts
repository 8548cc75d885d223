/**
 * Standard output for the log, written in batches, and never waited for.
 *
 * pino writes each line to this stream; lines are kept as a list and joined
 * into chunks of about 8 KiB. Why not sonic-boom's own minLength buffering:
 * it appends every line to one growing string and measures that string's
 * UTF-8 length on each write, which flattens and scans up to 16 KiB per
 * line (measured: about 7 µs of CPU per request on one core, more than the
 * answer itself).
 *
 * When standard output is a pipe or a socket (a log shipper, journald,
 * `| sleep`), a reader that stops reading fills it, and a synchronous write
 * then blocks the whole process: the service stopped answering after about
 * 320 requests. There the chunks go to a non-blocking stream (libuv writes
 * what the pipe takes and waits for the rest in epoll, no thread pool),
 * one chunk at a time; chunks wait here up to `maxWaitingChars`, and lines
 * beyond that are dropped and counted: `dropped` (a metric) and, every
 * `reportMs`, a log line saying how many. Files and terminals, which do not
 * stall that way, keep the synchronous writes (cheaper on a busy core than
 * handing each chunk to libuv's thread pool: 62 against 78-88 µs per
 * Thunderbird request, measured).
 *
 * Lines wait at most `flushMs` when traffic is low, and what waits is
 * written when the process exits, whatever ends it.
 */
import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { hostname } from 'node:os';
import { pino } from 'pino';

/** Where the chunks go. */
export interface LogSink {
  /** Take one chunk; called only while pending() is 0. */
  write(chunk: string): void;
  /** Characters taken but not yet written (0: ready for the next chunk). */
  pending(): number;
  /** Called when pending() has gone back to 0. */
  onIdle(callback: () => void): void;
  /** At exit: write what the sink holds, if it can without blocking for long. */
  flushSync(): void;
}

export interface BatchOptions {
  readonly batchChars?: number;
  readonly flushMs?: number;
  /** Characters waiting for a stalled sink, at most. */
  readonly maxWaitingChars?: number;
  /** How often dropped lines are reported in the log. */
  readonly reportMs?: number;
}

export class BatchedLogOutput {
  private lines: string[] = [];
  private chars = 0;
  /** Chunks waiting for the sink, oldest first. */
  private waiting: string[] = [];
  private waitingLength = 0;
  /** Lines dropped because too much was waiting; `reported` of them are in a report line. */
  dropped = 0;
  private reported = 0;
  private readonly batchChars: number;
  private readonly maxWaitingChars: number;
  private readonly timers: NodeJS.Timeout[];

  constructor(
    private readonly out: LogSink,
    { batchChars = 8192, flushMs = 500, maxWaitingChars = 1024 * 1024, reportMs = 10_000 }: BatchOptions = {},
  ) {
    this.batchChars = batchChars;
    this.maxWaitingChars = maxWaitingChars;
    out.onIdle(() => this.pump());
    this.timers = [setInterval(() => this.flush(), flushMs), setInterval(() => this.reportDropped(), reportMs)];
    for (const timer of this.timers) timer.unref();
  }

  /** One or more complete lines (pino writes each line with its newline). Never blocks. */
  write(lines: string): boolean {
    if (this.waitingLength + this.chars + lines.length > this.maxWaitingChars) {
      this.dropped++;
      return true;
    }
    this.lines.push(lines);
    this.chars += lines.length;
    if (this.chars >= this.batchChars) this.flush();
    return true;
  }

  /** Characters not yet taken by the sink. */
  waitingChars(): number {
    return this.waitingLength + this.chars;
  }

  /** Hand what is waiting to the output. */
  flush(): void {
    this.batch();
    this.pump();
  }

  /** The lines so far become a chunk waiting for the sink. */
  private batch(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.waiting.push(chunk);
    this.waitingLength += chunk.length;
  }

  /** A line saying how many lines were dropped since the last such line, if any were. */
  reportDropped(write = true): void {
    const count = this.dropped - this.reported;
    if (count === 0) return;
    const line = `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, hostname: hostname(), dropped: count, msg: `dropped ${count} log lines: standard output was not read fast enough` })}\n`;
    // The report waits like any line; while the sink is still stalled it is tried again later.
    if (this.waitingChars() + line.length > this.maxWaitingChars) return;
    this.reported += count;
    this.lines.push(line);
    this.chars += line.length;
    if (write) this.flush();
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.out.pending() === 0) {
      const chunk = this.waiting.shift()!;
      this.waitingLength -= chunk.length;
      this.out.write(chunk);
    }
  }

  /** Write everything now, before the process ends. */
  flushSync(): void {
    this.reportDropped();
    this.flush();
    this.out.flushSync();
    if (this.waiting.length > 0 && this.out.pending() === 0) this.pump();
  }

  /** Everything waiting, taken out (for a last write at exit). */
  takeWaiting(): string {
    this.reportDropped(false);
    this.batch();
    const rest = this.waiting.join('');
    this.waiting = [];
    this.waitingLength = 0;
    return rest;
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.flushSync();
  }
}

/** Synchronous writes (files, terminals): never pending. */
function syncSink(fd: number): LogSink {
  const destination = pino.destination({ dest: fd, sync: true });
  return {
    write: (chunk) => void destination.write(chunk),
    pending: () => 0,
    onIdle: () => undefined,
    flushSync: () => destination.flushSync(),
  };
}

/** A pipe or socket, written without blocking; at exit, what is left is tried for a moment. */
function streamSink(fd: number): LogSink {
  const stream = new Socket({ fd, readable: false, writable: true });
  // The log never keeps the process alive.
  stream.unref();
  let broken = false;
  let idle: () => void = () => undefined;
  // A reader that went away (EPIPE): nothing more can be written.
  stream.on('error', () => (broken = true));
  return {
    write: (chunk) => {
      if (broken) return;
      stream.write(chunk, () => {
        if (stream.writableLength === 0) idle();
      });
    },
    pending: () => (broken ? 0 : stream.writableLength),
    onIdle: (callback) => (idle = callback),
    flushSync: () => undefined,
  };
}

/**
 * The last chunks at exit, straight to the descriptor (non-blocking for a
 * stream): given up after about a second if the reader does not take them.
 */
function writeAtExit(fd: number, chunk: string): boolean {
  let rest = Buffer.from(chunk);
  const until = Date.now() + 1000;
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > until) return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  return true;
}

/** The service's log output: standard output in batches, never waited for, flushed at exit. */
export function logOutput(fd = 1): BatchedLogOutput {
  let stream = false;
  try {
    const info = fstatSync(fd);
    stream = info.isFIFO() || info.isSocket();
  } catch {
    // No standard output to look at: the synchronous writer reports its own errors.
  }
  if (!stream) {
    const output = new BatchedLogOutput(syncSink(fd));
    process.on('exit', () => output.flushSync());
    return output;
  }
  const sink = streamSink(fd);
  const output = new BatchedLogOutput(sink);
  process.on('exit', () => {
    // At exit no event loop runs: a chunk the stalled stream still holds is lost;
    // what waits here is written directly, after it, when the stream has none.
    if (sink.pending() > 0) return;
    const rest = output.takeWaiting();
    if (rest !== '') writeAtExit(fd, rest);
  });
  return output;
}
