/**
 * Customer domains found by MX (issue 21): for a domain the catalog does not
 * list, its most preferred MX host decides the provider, as Thunderbird's own
 * MX step does (../shared/research/thunderbird.md §2.2: "the lowest prio host
 * is used").
 *
 * Node's resolver (dns.resolveMx) does not return TTLs, and caching by TTL is
 * the point of this module, so queries are built and read with dns-packet
 * (RFC 1035 wire format) and sent over node:dgram: one UDP socket per lookup
 * on a random port with a random id (RFC 5452), EDNS(0) with a 1232-byte
 * payload (the DNS flag day 2020 size), and TCP when an answer comes back
 * truncated (RFC 7766).
 *
 * Every outcome is one of the MxAnswer kinds below; a lookup never throws and
 * never takes longer than the configured timeout.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { getServers } from 'node:dns';
import { isIP, connect } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type StringAnswer } from 'dns-packet';
import type { MxPatternIndex } from '../catalog/mx-patterns.js';
import { normalizeDomain } from '../mailbox.js';

/** The resolver's answer for a domain, before any provider is looked at. */
export type MxAnswer =
  /** The most preferred MX host, normalised (ASCII, lower case, no trailing dot). */
  | { readonly kind: 'mx'; readonly host: string; readonly reason: string }
  /** The domain exists but names no usable MX host: no MX records, a null MX (RFC 7505), or an MX that is not a host name. */
  | { readonly kind: 'noMx'; readonly reason: string }
  /** The domain does not exist (RCODE 3). */
  | { readonly kind: 'nxdomain'; readonly reason: string }
  /** The DNS server could not answer: SERVFAIL, REFUSED or another error code, or the socket failed. */
  | { readonly kind: 'servfail'; readonly reason: string }
  /** No answer within the timeout from any server. */
  | { readonly kind: 'timeout'; readonly reason: string }
  /** An answer that is not DNS, or not the answer to our question. */
  | { readonly kind: 'garbage'; readonly reason: string }
  /** Too many lookups in flight: this one was not started. */
  | { readonly kind: 'busy'; readonly reason: string; readonly retryAfterSeconds: number };

/** What the catalog makes of an answer: a provider, or why not. */
export type MxMatch<Owner> =
  | { readonly kind: 'matched'; readonly owner: Owner; readonly mxHost: string }
  /** The domain has an MX host (or none) that no provider's pattern covers. */
  | { readonly kind: 'noMatch'; readonly mxHost: string | null; readonly reason: string }
  | Exclude<MxAnswer, { kind: 'mx' } | { kind: 'noMx' }>;

/** Apply the catalog's patterns to an answer. */
export function matchMx<Owner>(answer: MxAnswer, patterns: MxPatternIndex<Owner>): MxMatch<Owner> {
  if (answer.kind === 'mx') {
    const owner = patterns.match(answer.host);
    return owner !== undefined
      ? { kind: 'matched', owner, mxHost: answer.host }
      : { kind: 'noMatch', mxHost: answer.host, reason: `its mail server ${answer.host} belongs to no provider served here` };
  }
  if (answer.kind === 'noMx') return { kind: 'noMatch', mxHost: null, reason: answer.reason };
  return answer;
}

/**
 * How an HTTP answer should say it: 404 when the domain is known not to be
 * ours, 503 (with Retry-After for busy) when DNS could not tell.
 */
export function httpStatusOf(match: MxMatch<unknown>): 200 | 404 | 503 {
  switch (match.kind) {
    case 'matched':
      return 200;
    case 'noMatch':
    case 'nxdomain':
      return 404;
    default:
      return 503;
  }
}

export interface DnsServer {
  readonly address: string;
  readonly port: number;
}

/** "127.0.0.1:5353", "[::1]:53", "::1", "192.0.2.1" (port 53). */
export function parseDnsServer(text: string): DnsServer | null {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text);
  const [address, port] = bracketed ? [bracketed[1]!, bracketed[2]] : withPort ? [withPort[1]!, withPort[2]] : [text, undefined];
  const portNumber = port === undefined ? 53 : Number(port);
  if (isIP(address) === 0 || portNumber < 1 || portNumber > 65535) return null;
  return { address, port: portNumber };
}

export interface MxResolverOptions {
  /** DNS servers asked in turn ("127.0.0.1:5353"); default: the system's (dns.getServers()). */
  readonly servers?: readonly string[];
  /** The longest a lookup takes, whatever the servers do (default 3000 ms). */
  readonly timeoutMs?: number;
  /** Answers are kept for their TTL, at most this long (default 3600 s). */
  readonly maxCacheSeconds?: number;
  /** Negative answers (NXDOMAIN, no MX) are kept for the SOA's TTL (RFC 2308 §5), at most this long (default 900 s). */
  readonly maxNegativeCacheSeconds?: number;
  /**
   * A negative answer without an SOA carries no TTL; RFC 2308 §5 says not to
   * cache it, which is the default (0). A recursive resolver always sends the SOA.
   */
  readonly negativeSecondsWithoutSoa?: number;
  /** SERVFAIL, timeouts and garbage are kept this long (RFC 2308 §7: at most 5 minutes; default 5 s). */
  readonly failureCacheSeconds?: number;
  /** Domains kept (default 100,000); the oldest entry goes first. */
  readonly cacheSize?: number;
  /** Different domains looked up at once; beyond it an answer is busy (default 256). */
  readonly maxInFlight?: number;
  /** The Retry-After a busy answer suggests (default 2 s). */
  readonly busyRetryAfterSeconds?: number;
  /** Milliseconds clock, for tests. */
  readonly now?: () => number;
}

/** The kinds of answer a lookup that went to DNS can end in (busy ones never start). */
export type MxAnswerKind = Exclude<MxAnswer['kind'], 'busy'>;

export interface MxResolverStats {
  /** Every resolve() call: cache hits, coalesced, busy and those that went to DNS. */
  readonly lookups: number;
  /** Packets sent (UDP attempts and TCP retries). */
  readonly queries: number;
  readonly cacheHits: number;
  /** Lookups that joined one already in flight for the same domain. */
  readonly coalesced: number;
  readonly busy: number;
  /** Lookups that went to DNS, by how they ended. */
  readonly answers: Readonly<Record<MxAnswerKind, number>>;
  readonly inFlight: number;
  readonly cached: number;
}

interface CacheEntry {
  readonly answer: MxAnswer;
  readonly expires: number;
}

const EDNS_PAYLOAD = 1232;
const MAX_CNAME_HOPS = 8;

export class MxResolver {
  private readonly servers: readonly DnsServer[];
  private readonly timeoutMs: number;
  private readonly maxCacheSeconds: number;
  private readonly maxNegativeCacheSeconds: number;
  private readonly negativeSecondsWithoutSoa: number;
  private readonly failureCacheSeconds: number;
  private readonly cacheSize: number;
  private readonly maxInFlight: number;
  private readonly busyRetryAfterSeconds: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<MxAnswer>>();
  private counts = { lookups: 0, queries: 0, cacheHits: 0, coalesced: 0, busy: 0 };
  private readonly answers: Record<MxAnswerKind, number> = { mx: 0, noMx: 0, nxdomain: 0, servfail: 0, timeout: 0, garbage: 0 };

  constructor(options: MxResolverOptions = {}) {
    const written = options.servers ?? getServers();
    const servers = written.map((text) => {
      const server = parseDnsServer(text);
      if (server === null) throw new Error(`DNS server "${text}" is not an IP address with an optional port (127.0.0.1:5353, [::1]:53)`);
      return server;
    });
    if (servers.length === 0) throw new Error('no DNS server to ask: configure one (127.0.0.1:53)');
    this.servers = servers;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxCacheSeconds = options.maxCacheSeconds ?? 3600;
    this.maxNegativeCacheSeconds = options.maxNegativeCacheSeconds ?? 900;
    this.negativeSecondsWithoutSoa = options.negativeSecondsWithoutSoa ?? 0;
    this.failureCacheSeconds = Math.min(options.failureCacheSeconds ?? 5, 300);
    this.cacheSize = options.cacheSize ?? 100_000;
    this.maxInFlight = options.maxInFlight ?? 256;
    this.busyRetryAfterSeconds = options.busyRetryAfterSeconds ?? 2;
    this.now = options.now ?? Date.now;
  }

  /** The answer for a domain: from the cache, joined to a lookup in flight, or asked now. */
  resolve(domain: string): Promise<MxAnswer> {
    this.counts.lookups++;
    const name = normalizeDomain(domain);
    if (name === null) return Promise.resolve({ kind: 'nxdomain', reason: `"${domain}" is not a domain name` });
    const cached = this.cache.get(name);
    if (cached !== undefined) {
      if (cached.expires > this.now()) {
        this.counts.cacheHits++;
        return Promise.resolve(cached.answer);
      }
      this.cache.delete(name);
    }
    const running = this.inFlight.get(name);
    if (running !== undefined) {
      this.counts.coalesced++;
      return running;
    }
    if (this.inFlight.size >= this.maxInFlight) {
      this.counts.busy++;
      return Promise.resolve({
        kind: 'busy',
        reason: `${this.inFlight.size} MX lookups are in flight, the most allowed; try again shortly`,
        retryAfterSeconds: this.busyRetryAfterSeconds,
      });
    }
    const lookup = this.lookUp(name).catch((error: unknown): Outcome => ({
      // Not expected (every path above resolves), but a lookup must never reject or stay in flight.
      answer: { kind: 'servfail', reason: `the MX lookup failed: ${error instanceof Error ? error.message : String(error)}` },
      ttlSeconds: 0,
    })).then((result) => {
      if (result.answer.kind !== 'busy') this.answers[result.answer.kind]++;
      this.inFlight.delete(name);
      this.remember(name, result);
      return result.answer;
    });
    this.inFlight.set(name, lookup);
    return lookup;
  }

  stats(): MxResolverStats {
    return { ...this.counts, answers: { ...this.answers }, inFlight: this.inFlight.size, cached: this.cache.size };
  }

  /** Forget every cached answer (tests, or an operator's request). */
  clear(): void {
    this.cache.clear();
  }

  private remember(name: string, { answer, ttlSeconds }: Outcome): void {
    if (ttlSeconds <= 0 || this.cacheSize <= 0) return;
    // Insertion order is age: the first key is the oldest entry.
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(name, { answer, expires: this.now() + ttlSeconds * 1000 });
  }

  private async lookUp(name: string): Promise<Outcome> {
    const failure = (answer: MxAnswer): Outcome => ({ answer, ttlSeconds: this.failureCacheSeconds });
    const exchange = await this.askServers(name);
    if (exchange.kind !== 'reply') return failure(exchange.answer);
    let reply = exchange.packet;
    if (reply.flag_tc) {
      const tcp = await askTcp(exchange.server, query(name, exchange.id, false), exchange.id, name, exchange.deadline - this.now());
      this.counts.queries++;
      if (tcp.kind !== 'reply') return failure(tcp.answer);
      reply = tcp.packet;
    }
    return this.interpret(name, reply, exchange.server);
  }

  /**
   * UDP to each server in turn, resending until the deadline: a server that
   * answers SERVFAIL or garbage makes the next one be asked at once; silence
   * makes it be asked after a share of the timeout.
   */
  private askServers(name: string): Promise<Exchange> {
    const id = randomInt(0x10000);
    const packet = query(name, id, true);
    const attempts = Math.max(2, this.servers.length);
    const attemptMs = this.timeoutMs / attempts;
    const deadline = this.now() + this.timeoutMs;
    return new Promise<Exchange>((resolve) => {
      const sockets = new Map<string, Socket>();
      let sent = 0;
      let lastFailure: MxAnswer | undefined;
      let retry: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (exchange: Exchange): void => {
        if (done) return;
        done = true;
        clearTimeout(retry);
        clearTimeout(overall);
        for (const socket of sockets.values()) socket.close();
        resolve(exchange);
      };
      const overall = setTimeout(() => finish({
        kind: 'failed',
        answer: lastFailure ?? { kind: 'timeout', reason: `no DNS server answered within ${this.timeoutMs} ms (${this.servers.map(describe).join(', ')})` },
      }), this.timeoutMs);
      const fail = (answer: MxAnswer): void => {
        lastFailure = answer;
        // Another server may do better; past one round there is no one new to ask.
        if (sent < this.servers.length) send();
        else finish({ kind: 'failed', answer });
      };
      const socketFor = (server: DnsServer): Socket => {
        const family = isIP(server.address) === 6 ? 'udp6' : 'udp4';
        let socket = sockets.get(family);
        if (socket === undefined) {
          socket = createSocket(family);
          socket.on('error', (error) => fail({ kind: 'servfail', reason: `DNS socket error: ${error.message}` }));
          socket.on('message', (message, from) => {
            const server = this.servers.find((s) => s.address === from.address && s.port === from.port);
            if (server === undefined || done) return; // not from a server we asked: ignore, as resolvers do
            const read = readReply(message, id, name, server, '');
            if ('answer' in read) fail(read.answer);
            else finish({ kind: 'reply', packet: read.packet, server, id, deadline });
          });
          sockets.set(family, socket);
        }
        return socket;
      };
      const send = (): void => {
        if (done) return;
        clearTimeout(retry);
        const server = this.servers[sent % this.servers.length]!;
        sent++;
        this.counts.queries++;
        socketFor(server).send(packet, server.port, server.address, (error) => {
          if (error) fail({ kind: 'servfail', reason: `cannot send to ${describe(server)}: ${error.message}` });
        });
        if (sent < attempts) retry = setTimeout(send, attemptMs);
      };
      send();
    });
  }

  private interpret(name: string, reply: Packet, server: DnsServer): Outcome {
    const rcode = (reply as Packet & { rcode?: string }).rcode;
    const negativeTtl = (): number => {
      // RFC 2308 §5: the negative TTL is the SOA's own TTL or its MINIMUM, whichever is less.
      const soa = (reply.authorities ?? []).find((r): r is Extract<Answer, { type: 'SOA' }> => r.type === 'SOA');
      const ttl = soa ? Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0) : this.negativeSecondsWithoutSoa;
      return Math.min(ttl, this.maxNegativeCacheSeconds);
    };
    if (rcode === 'NXDOMAIN') return { answer: { kind: 'nxdomain', reason: `the domain ${name} does not exist (NXDOMAIN)` }, ttlSeconds: negativeTtl() };

    // Follow a CNAME chain in the answer (a resolver answers for the alias's target).
    const answers = reply.answers ?? [];
    let owner = name;
    let ttl = Infinity;
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const alias = answers.find((r): r is StringAnswer => r.type === 'CNAME' && sameName(r.name, owner));
      if (alias === undefined) break;
      ttl = Math.min(ttl, alias.ttl ?? 0);
      owner = alias.data;
    }
    const records = answers.filter((r): r is Extract<Answer, { type: 'MX' }> => r.type === 'MX' && sameName(r.name, owner));
    if (records.length === 0) return { answer: { kind: 'noMx', reason: `the domain ${name} has no MX record` }, ttlSeconds: negativeTtl() };
    for (const record of records) {
      if (typeof record.data?.exchange !== 'string') {
        return { answer: { kind: 'garbage', reason: `${describe(server)} sent an MX record without a host` }, ttlSeconds: this.failureCacheSeconds };
      }
      ttl = Math.min(ttl, record.ttl ?? 0);
    }
    const ttlSeconds = Math.min(ttl, this.maxCacheSeconds);
    const best = mostPreferred(records.map((r) => ({ preference: r.data.preference ?? 0, host: r.data.exchange })));
    // RFC 7505: a single MX of "." says the domain takes no mail at all.
    if (best.host === '.' || best.host === '') return { answer: { kind: 'noMx', reason: `the domain ${name} accepts no mail (null MX, RFC 7505)` }, ttlSeconds };
    const host = normalizeDomain(best.host);
    if (host === null) return { answer: { kind: 'noMx', reason: `the MX host of ${name} (${JSON.stringify(best.host)}) is not a host name` }, ttlSeconds };
    return { answer: { kind: 'mx', host, reason: `the most preferred MX host of ${name} is ${host}` }, ttlSeconds };
  }
}

/** Lowest preference first (RFC 5321 §5.1); equal preferences by name, so every replica picks the same. */
export function mostPreferred<T extends { preference: number; host: string }>(records: readonly T[]): T {
  let best = records[0]!;
  for (const record of records) {
    const host = record.host.toLowerCase();
    const bestHost = best.host.toLowerCase();
    if (record.preference < best.preference || (record.preference === best.preference && host < bestHost)) best = record;
  }
  return best;
}

interface Outcome {
  readonly answer: MxAnswer;
  readonly ttlSeconds: number;
}

type Exchange =
  | { readonly kind: 'reply'; readonly packet: DecodedPacket; readonly server: DnsServer; readonly id: number; readonly deadline: number }
  | { readonly kind: 'failed'; readonly answer: MxAnswer };

function query(name: string, id: number, udp: boolean): Buffer {
  const packet: Packet = {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'MX', class: 'IN', name }],
    ...(udp ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_PAYLOAD, flags: 0, options: [] } as unknown as Answer] } : {}),
  };
  return udp ? dnsPacket.encode(packet) : dnsPacket.streamEncode(packet);
}

/**
 * A reply to our question that says yes or no (NOERROR, NXDOMAIN), or the
 * answer it amounts to: garbage, or servfail for any other RCODE.
 */
function readReply(message: Buffer, id: number, name: string, server: DnsServer, via: string): { packet: DecodedPacket } | { answer: MxAnswer } {
  const garbage = (what: string): { answer: MxAnswer } => ({ answer: { kind: 'garbage', reason: `${describe(server)} answered${via} with ${what}` } });
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(message);
  } catch (error) {
    return garbage(`${message.length} bytes that are not a DNS message (${(error as Error).message})`);
  }
  if (packet.type !== 'response') return garbage('a DNS query instead of a response');
  if (packet.id !== id) return garbage(`a response to another query (id ${packet.id}, not ${id})`);
  const question = packet.questions?.[0];
  if (packet.questions?.length !== 1 || question === undefined || question.type !== 'MX' || !sameName(question.name, name)) {
    return garbage('a response to another question');
  }
  const rcode = (packet as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { answer: { kind: 'servfail', reason: `${describe(server)} answered ${rcode}${via}` } };
  return { packet };
}

/** RFC 7766: the same question over TCP, with a two-byte length in front. */
function askTcp(server: DnsServer, packet: Buffer, id: number, name: string, timeLeftMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (exchange: Exchange): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const timer = setTimeout(() => finish({ kind: 'failed', answer: { kind: 'timeout', reason: `${describe(server)} did not answer over TCP in time` } }), Math.max(timeLeftMs, 1));
    const socket = connect({ host: server.address, port: server.port });
    socket.on('connect', () => socket.write(packet));
    socket.on('error', (error) => finish({ kind: 'failed', answer: { kind: 'servfail', reason: `TCP to ${describe(server)} failed: ${error.message}` } }));
    socket.on('end', () => finish({ kind: 'failed', answer: { kind: 'garbage', reason: `${describe(server)} closed the TCP connection without a full answer` } }));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const read = readReply(received.subarray(2, 2 + length), id, name, server, ' over TCP');
      finish('answer' in read ? { kind: 'failed', answer: read.answer } : { kind: 'reply', packet: read.packet, server, id, deadline: 0 });
    });
  });
}

function sameName(a: string, b: string): boolean {
  const strip = (n: string): string => (n.endsWith('.') ? n.slice(0, -1) : n).toLowerCase();
  return strip(a) === strip(b);
}

function describe(server: DnsServer): string {
  return isIP(server.address) === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
}
