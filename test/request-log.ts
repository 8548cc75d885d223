/**
 * The request log line is written by hand for speed; it must be the line
 * pino itself writes for the same fields, and loggers pino formats
 * differently must still get pino's line.
 */
import { pino, type LoggerOptions } from 'pino';
import t from 'tap';
import type { FastifyBaseLogger } from 'fastify';
import type { Served } from '../src/answers/exchange.js';
import { logRequest } from '../src/server/observe.js';

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = pino(options, { write: (line: string) => void lines.push(line) });
  return { log: log as unknown as FastifyBaseLogger, lines };
}

/** Calls logRequest and says whether it went through log.info (pino's serialiser) rather than the hand-written line. */
function viaPino(log: FastifyBaseLogger, ...args: Parameters<typeof logRequest> extends [unknown, ...infer R] ? R : never): boolean {
  const info = log.info;
  let called = false;
  log.info = function (this: FastifyBaseLogger, ...a: Parameters<typeof info>) {
    called = true;
    return info.apply(this, a);
  } as typeof info;
  try {
    logRequest(log, ...args);
  } finally {
    log.info = info;
  }
  return called;
}

/** What pino writes for the fields logRequest logs. */
function pinoLine(log: FastifyBaseLogger, lines: string[], fields: Record<string, unknown>): string {
  log.info(fields, 'request');
  return lines.pop()!;
}

/** The line without its time, which differs between two calls. */
const timeless = (line: string) => line.replace(/"time":\d+,/, '');

const cases: { name: string; url: string; path: string; host: string | undefined; loggedHost: string | null; served: Served | null; status: number }[] = [
  { name: 'an answer', url: '/mail/config-v1.1.xml?emailaddress=alice@example.com', path: '/mail/config-v1.1.xml', host: 'Autoconfig.Hoster.example:8443', loggedHost: 'autoconfig.hoster.example', served: { format: 'thunderbird', domain: 'example.com' }, status: 200 },
  { name: 'a refusal with its reason', url: '/v1.1/nowhere.example', path: '/v1.1/nowhere.example', host: '127.0.0.1:8080', loggedHost: '127.0.0.1', served: { format: 'thunderbird', domain: 'nowhere.example', reason: 'no mail provider is configured here for "nowhere.example"\u0001' }, status: 404 },
  { name: 'an address in the path', url: '/autodiscover/autodiscover.json/v1.0/alice%40example.com?Protocol=x', path: '/autodiscover/autodiscover.json/v1.0/<address>', host: '[::1]:8080', loggedHost: '[::1]', served: { format: 'outlook-json' }, status: 400 },
  { name: 'no format', url: '/odd"path\\x', path: '/odd"path\\x', host: undefined, loggedHost: null, served: null, status: 404 },
  { name: 'a Host that is no host name', url: '/v1.1/example.com', path: '/v1.1/example.com', host: 'alice@example.com"}\n{"level":60', loggedHost: '<invalid>', served: { format: 'thunderbird', domain: 'example.com' }, status: 200 },
];

t.test('the hand-written line is the line pino writes', async (t) => {
  for (const c of cases) {
    for (const [kind, make] of [
      ['root logger', () => capture()],
      ['child logger with a request id', () => { const root = capture(); return { log: root.log.child({ reqId: 'req-7' }), lines: root.lines }; }],
    ] as const) {
      const { log, lines } = make();
      t.notOk(viaPino(log, undefined, 'GET', c.url, c.host, c.served, c.status, 1.23456), `${c.name}, ${kind}: written by hand`);
      const ours = lines.pop()!;
      const expected = pinoLine(log, lines, {
        method: 'GET',
        path: c.path,
        host: c.loggedHost,
        format: c.served?.format ?? null,
        domain: c.served?.domain ?? null,
        ...(c.served?.reason !== undefined ? { reason: c.served.reason } : {}),
        status: c.status,
        ms: 1.23,
      });
      t.equal(timeless(ours), timeless(expected), `${c.name}, ${kind}`);
      t.doesNotThrow(() => JSON.parse(ours), `${c.name}, ${kind}: valid JSON`);
    }
  }
});

t.test('loggers with another line format get pino\'s own line', async (t) => {
  const formats: [string, LoggerOptions][] = [
    ['message key', { messageKey: 'message' }],
    ['level label', { formatters: { level: (label) => ({ level: label }) } }],
    ['ISO time', { timestamp: pino.stdTimeFunctions.isoTime }],
    ['mixin', { mixin: () => ({ service: 'autoconfig' }) }],
    ['redaction', { redact: ['domain'] }],
  ];
  for (const [name, options] of formats) {
    const { log, lines } = capture(options);
    t.ok(viaPino(log, undefined, 'GET', '/v1.1/example.com', 'example.com', { format: 'thunderbird', domain: 'example.com' }, 200, 0.5), `${name}: written by pino`);
    const ours = lines.pop()!;
    const expected = pinoLine(log, lines, { method: 'GET', path: '/v1.1/example.com', host: 'example.com', format: 'thunderbird', domain: 'example.com', status: 200, ms: 0.5 });
    t.equal(timeless(ours).replace(/"time":"[^"]*",/, ''), timeless(expected).replace(/"time":"[^"]*",/, ''), name);
  }
});

t.test('no line above the info level', async (t) => {
  const { log, lines } = capture({ level: 'warn' });
  logRequest(log, undefined, 'GET', '/v1.1/example.com', 'example.com', null, 200, 0.5);
  t.same(lines, []);
});

t.test('a duration JSON cannot hold is written as pino writes it', async (t) => {
  const { log, lines } = capture();
  logRequest(log, undefined, 'GET', '/v1.1/example.com', undefined, null, 200, Number.NaN);
  const ours = lines.pop()!;
  const expected = pinoLine(log, lines, { method: 'GET', path: '/v1.1/example.com', host: null, format: null, domain: null, status: 200, ms: Number.NaN });
  t.equal(timeless(ours), timeless(expected));
  t.equal(JSON.parse(ours).ms, null);
});
