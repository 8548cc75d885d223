/**
 * DNS servers the tests control, on loopback only:
 *
 * - startDnsmasq: Debian's dnsmasq as an authoritative server for one zone
 *   (so negative answers carry an SOA, RFC 2308), with MX records, every
 *   query written to a log file the test counts (`--log-queries`).
 * - startFakeDnsServer: a UDP (and optionally TCP) socket that answers as a
 *   test says: never (a black hole: the timeout case), with garbage, with
 *   SERVFAIL, or with any packet built with dns-packet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import type { Test } from 'tap';

export const DNSMASQ = '/usr/sbin/dnsmasq';

/** Why the DNS suites cannot run here, or undefined when they can. */
export function dnsmasqMissing(): string | undefined {
  return existsSync(DNSMASQ) ? undefined : `dnsmasq is not installed (apt-get install dnsmasq-base); skipping`;
}

export interface MxRecord {
  readonly domain: string;
  readonly host: string;
  readonly preference?: number;
}

export interface Dnsmasq {
  /** "127.0.0.1:port", as MxResolver takes it. */
  readonly server: string;
  /** MX queries the server has logged for a name (any name when omitted). */
  queries(name?: string): Promise<number>;
  stop(): Promise<void>;
}

export interface DnsmasqOptions {
  /** The zone served authoritatively: names below it that have no record are NXDOMAIN. */
  readonly zone: string;
  readonly mx: readonly MxRecord[];
  /** TTL of every record and of negative answers (SOA). */
  readonly ttl: number;
  readonly extraArguments?: readonly string[];
}

/** A dnsmasq on a free loopback port, stopped and removed by the test's teardown. */
export async function startDnsmasq(t: Test, options: DnsmasqOptions): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-'));
  const log = join(dir, 'queries.log');
  let child: ChildProcess | undefined;
  let port = 0;
  let output = '';
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freeUdpPort();
    const args = [
      '-k', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=',
      `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      `--auth-server=ns.${options.zone},127.0.0.1`, `--auth-zone=${options.zone}`,
      `--auth-ttl=${options.ttl}`, `--auth-soa=1,hostmaster.${options.zone},1200,180,1209600`,
      '--log-queries', `--log-facility=${log}`,
      ...options.mx.map((mx) => `--mx-host=${mx.domain},${mx.host},${mx.preference ?? 10}`),
      // Root opens the log, then dnsmasq runs as nobody (it refuses nothing as root, but need not be).
      ...(process.getuid?.() === 0 ? ['--user=nobody', '--group=nogroup'] : []),
      ...(options.extraArguments ?? []),
    ];
    const started = spawn(DNSMASQ, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    if (await answersOn(port, `ready.${options.zone}`, exited)) child = started;
    else started.kill('SIGKILL');
  }
  if (child === undefined) throw new Error(`dnsmasq did not start: ${output}`);
  const running = child;
  const stop = async (): Promise<void> => {
    if (running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
  };
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    server: `127.0.0.1:${port}`,
    async queries(name?: string) {
      // dnsmasq writes the line before it answers; a moment lets the write land.
      await sleep(50);
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      let count = 0;
      for (const match of text.matchAll(/(?:query|auth)\[MX\] (\S+) from /g)) if (name === undefined || match[1] === name) count++;
      return count;
    },
    stop,
  };
}

/** Send MX questions for a probe name until dnsmasq answers (or exits). */
async function answersOn(port: number, probe: string, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 50 && !gone; i++) {
    const socket = createSocket('udp4');
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 100);
      socket.once('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.send(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'MX', name: probe }] }), port, '127.0.0.1');
    });
    socket.close();
    if (answered) return true;
    await sleep(50);
  }
  return false;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** What a fake server does with one query: the bytes to send back, or null for silence. */
export type FakeAnswer = (query: DecodedPacket, raw: Buffer) => Buffer | null;

export interface FakeDnsServer {
  readonly server: string;
  /** Datagrams (and TCP messages) received. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A UDP socket on a free loopback port answering with `udp`; TCP on the same port when `tcp` is given. */
export async function startFakeDnsServer(t: Test, udp: FakeAnswer, tcp?: FakeAnswer): Promise<FakeDnsServer> {
  const socket: Socket = createSocket('udp4');
  let received = 0;
  socket.on('message', (raw, from) => {
    received++;
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return;
    }
    const reply = udp(query, raw);
    if (reply !== null) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  let tcpServer: Server | undefined;
  if (tcp !== undefined) {
    tcpServer = createServer((connection) => {
      let buffered = Buffer.alloc(0);
      connection.on('error', () => {});
      connection.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        received++;
        const raw = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        const reply = tcp(dnsPacket.decode(raw), raw);
        if (reply === null) return;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        connection.end(Buffer.concat([length, reply]));
      });
    });
    await new Promise<void>((resolve) => tcpServer!.listen(port, '127.0.0.1', resolve));
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => socket.close(resolve));
    if (tcpServer) await new Promise<void>((resolve) => tcpServer!.close(() => resolve()));
  };
  t.teardown(close);
  return { server: `127.0.0.1:${port}`, received: () => received, close };
}

/** Reads and never answers: the timeout case. */
export const blackHole: FakeAnswer = () => null;

/** Bytes that are no DNS message at all (shorter than a header). */
export const garbage: FakeAnswer = () => Buffer.from('this is not DNS');

/** The question sent back with an error RCODE (SERVFAIL, REFUSED). */
export function rcodeAnswer(rcode: 'SERVFAIL' | 'REFUSED'): FakeAnswer {
  const code = rcode === 'SERVFAIL' ? 2 : 5;
  // The RCODE is the low four bits of the flags word (RFC 1035 4.1.1).
  return (query) => dnsPacket.encode({ type: 'response', id: query.id, flags: dnsPacket.RECURSION_AVAILABLE | code, questions: query.questions });
}

/** An MX answer to the question asked, as a server on the internet might send it. */
export function mxAnswer(records: readonly { host: string; preference: number }[], ttl: number, flags = 0): FakeAnswer {
  return (query) =>
    dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_AVAILABLE | flags,
      questions: query.questions,
      answers: flags & dnsPacket.TRUNCATED_RESPONSE ? [] : records.map((r) => ({
        type: 'MX', name: query.questions![0]!.name, ttl, class: 'IN', data: { preference: r.preference, exchange: r.host },
      })),
    });
}
