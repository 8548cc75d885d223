// CPU time per request of two builds of the service, side by side: each
// serves the bundled providers pinned to one core, wrk (on the other core)
// asks each endpoint for SECONDS, the builds alternating ROUNDS times; the
// service's own CPU time (from /proc) divided by the requests answered. This
// is steadier than requests per second on a machine whose speed drifts.
//   node bench/cpu-ab.mjs <root of build A> <root of build B>   (both built)
// Environment: ROUNDS (5), SECONDS (3), CONNECTIONS (20).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { productionNodeFlags } from './production.mjs';

const [rootA, rootB] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error('usage: node bench/cpu-ab.mjs <build A> <build B>');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 20);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const ENDPOINTS = [
  { name: 'Thunderbird ?emailaddress', path: '/mail/config-v1.1.xml?emailaddress=alice%40example.com', host: 'example.com' },
  { name: 'Thunderbird by Host', path: '/mail/config-v1.1.xml', host: 'autoconfig.example.com' },
  { name: 'ISPDB /v1.1/<domain>', path: '/v1.1/example.com', host: 'example.com' },
  { name: 'Autodiscover v2 JSON', path: '/autodiscover/autodiscover.json?Email=alice%40example.com&Protocol=AutodiscoverV1', host: 'autodiscover.example.com' },
  { name: 'Apple profile, unsigned', path: '/mobileconfig?emailaddress=alice%40example.com', host: 'example.com' },
  { name: 'setup page', path: '/setup?emailaddress=alice%40example.com', host: 'example.com' },
];

async function start(root, port) {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...productionNodeFlags(), join(root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', '--providers', join(root, 'providers')], { stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/healthz`]);
      return child;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${root} did not start`);
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function wrk(port, endpoint) {
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '-H', `Host: ${endpoint.host}`, `http://127.0.0.1:${port}${endpoint.path}`]).toString();
  return Number(/(\d+) requests in/.exec(out)[1]);
}

const builds = [
  { name: 'A', root: rootA, port: 18101 },
  { name: 'B', root: rootB, port: 18102 },
];
for (const build of builds) build.child = await start(build.root, build.port);
const results = ENDPOINTS.map(() => ({ A: [], B: [] }));
for (let round = 0; round < ROUNDS; round++) {
  ENDPOINTS.forEach((endpoint, i) => {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const before = cpuTicks(build.child.pid);
      const requests = wrk(build.port, endpoint);
      const ticks = cpuTicks(build.child.pid) - before;
      results[i][build.name].push((ticks / TICKS / requests) * 1e6);
    }
  });
}
for (const build of builds) build.child.kill();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('| request | A: µs CPU per request | B: µs CPU per request | B ÷ A |');
console.log('| --- | --- | --- | --- |');
ENDPOINTS.forEach((endpoint, i) => {
  const a = median(results[i].A);
  const b = median(results[i].B);
  console.log(`| ${endpoint.name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)} |`);
});
