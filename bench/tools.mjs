// What the benchmarks share: free ports, one request, waiting for /readyz,
// wrk runs with their figures read back as JSON, a process's memory, the
// service's metrics.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { serviceNodeFlags } from './production.mjs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/** The first and third quartile (linear between the order statistics, as a spreadsheet's QUARTILE). */
export function quartiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => {
    const place = q * (sorted.length - 1);
    const low = Math.floor(place);
    return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (place - low);
  };
  return [at(0.25), at(0.75)];
}

export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * One request ({ method, path, host, body }) to 127.0.0.1:port on a
 * connection of its own (a kept-alive one may have been closed by the
 * server meanwhile); the status, headers and body.
 */
export function fetchOnce(port, endpoint) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent: false, path: endpoint.path, method: endpoint.method ?? 'GET', headers: { host: endpoint.host, 'content-type': 'text/xml; charset=utf-8' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (endpoint.body) req.write(endpoint.body);
    req.end();
  });
}

/**
 * Until /readyz answers 200 (catalog loaded, listening) and `ready` accepts
 * its answer, polled every `everyMs`; throws after `timeoutMs` or when
 * `exited` says the process is gone.
 */
export async function waitForReady(port, { ready = () => true, everyMs = 5, timeoutMs = 20_000, exited = () => false } = {}) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until && !exited()) {
    try {
      const answer = await fetchOnce(port, { path: '/readyz', host: 'x' });
      if (answer.status === 200 && ready(JSON.parse(answer.body.toString('utf8')))) return;
    } catch {}
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(exited() ? `the service on ${port} exited before it was ready` : `nothing ready on ${port}`);
}

/** wrk's summary as one JSON line (requests, seconds, p50 and p99 in ms, errors, non-2xx answers). */
const DONE = `done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\":%d,\\"seconds\\":%f,\\"p50\\":%f,\\"p99\\":%f,\\"errors\\":%d,\\"non2xx\\":%d}\\n", summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
`;

/**
 * wrk with one thread on `core` against 127.0.0.1:port, `lua` setting up
 * the requests (wrk.method, wrk.headers, a request function); the script is
 * written into `work`. Requests per second, p50 and p99 in ms, errors.
 */
export function wrk({ port, path, lua, seconds, connections, core, work }) {
  const script = join(work, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(script, `${lua}\n${DONE}`);
  const out = execFileSync('taskset', ['-c', core, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
  const result = JSON.parse(out.split('\n').find((l) => l.startsWith('JSON ')).slice(5));
  return { rps: result.requests / result.seconds, p50: result.p50, p99: result.p99, errors: result.errors + result.non2xx };
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU time a process has used so far (user and system, all its threads), in seconds. */
export function cpuSeconds(pid) {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** A process's CPU time in user space (its code, V8, the collector) and in the kernel (sockets), in seconds. */
export function cpuTimes(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
}

/** Seconds spent in garbage collection so far (every kind), from prom-client's GC histogram. */
export function gcSeconds(metricsPort) {
  const text = execFileSync('curl', ['-sf', `http://127.0.0.1:${metricsPort}/metrics`], { encoding: 'utf8' });
  return text.split('\n').filter((l) => l.startsWith('mail_autoconfig_nodejs_gc_duration_seconds_sum{')).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Resident memory of a process now and at its peak (VmRSS, VmHWM), in MiB; NaN once it is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mib = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
    return { rssMiB: mib('VmRSS'), peakMiB: mib('VmHWM') };
  } catch {
    return { rssMiB: NaN, peakMiB: NaN };
  }
}

/** The service's metrics (its --metrics-port): the value of a sample, by its name and labels as written. */
export function metric(metricsPort, sample) {
  const text = execFileSync('curl', ['-sf', `http://127.0.0.1:${metricsPort}/metrics`], { encoding: 'utf8' });
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? NaN : Number(line.slice(sample.length + 1));
}

/**
 * Full (mark-compact) collections so far, from prom-client's GC histogram.
 * They are what lengthens the tail: each one stops the service for several
 * milliseconds, where a scavenge takes a fraction of one.
 */
export const majorCollections = (metricsPort) => metric(metricsPort, 'mail_autoconfig_nodejs_gc_duration_seconds_count{kind="major"}') || 0;

/** Full collections per 100,000 requests over runs of `seconds` each ({ rps, majorCollections }), to a tenth. */
export const majorGcPer100k = (runs, seconds) =>
  Math.round((100_000 * runs.reduce((sum, x) => sum + x.majorCollections, 0)) / runs.reduce((sum, x) => sum + x.rps * seconds, 0) * 10) / 10;

/**
 * How every benchmark measures, from the environment: ROUNDS (3) of
 * SECONDS (5) each, CONNECTIONS (50), the service pinned to CORE (0) and
 * the load (wrk, and the servers the benchmarks start) to LOAD_CORE (1).
 */
export const SETTINGS = {
  rounds: Number(process.env.ROUNDS ?? 3),
  seconds: Number(process.env.SECONDS ?? 5),
  connections: Number(process.env.CONNECTIONS ?? 50),
  core: process.env.CORE ?? '0',
  loadCore: process.env.LOAD_CORE ?? '1',
};

/** What a results file says of how it was measured: when, which Node and flags, how long, where pinned. */
export function runSettings() {
  const { rounds, seconds, connections, core, loadCore } = SETTINGS;
  return { date: new Date().toISOString(), node: process.version, rounds, secondsPerRun: seconds, connections, pinned: { service: core, load: loadCore }, nodeFlags: serviceNodeFlags() };
}
