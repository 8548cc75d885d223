// npm run bench:cache: what a listed domain's answer costs in instructions
// and in the CPU's caches, counted, not timed: the Thunderbird answer
// (catalog lookup, prepared document, filling) is called in the process, a
// different domain (and so another provider) each request, under valgrind's
// cachegrind with the last-level cache set to this machine's per-core L2
// (1 MiB, 16-way). Counts do not follow the machine's speed or load, as
// requests per second do (docs/performance.md); they still vary somewhat
// between runs with where the heap and libraries land, so compare several
// runs' ranges rather than single figures. Per catalog, two runs of REQUESTS_A
// and REQUESTS_B requests; their difference divided by the extra requests
// is the cost of one request in steady state (start-up, the catalog's load
// and the first documents cancel out).
//
// Needs valgrind (Debian's valgrind). Takes some minutes: code runs about
// 50 times slower under it. Environment: CATALOGS ("10:2000,2000:20000",
// providers:domains), REQUESTS_A (20000), REQUESTS_B (50000), LL (the
// simulated cache: "bytes,ways,line", 1048576,16,64), BUILD (the root of the
// build to count, this one by default: another worktree's, for an A/B).
//
// node bench/cache-misses.mjs --child <providers> <domains> <requests> runs
// the loop itself (what valgrind runs).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeCatalog } from './hosters.mjs';
import { root } from './production.mjs';

const STRIDE = 7919;
const build = process.env.BUILD ?? root;

if (process.argv[2] === '--child') {
  const [providers, domains, requests] = process.argv.slice(3).map(Number);
  await child(providers, domains, requests);
  process.exit(0);
}

/** The hosters bench's catalog with its domains in the YAML files: domain k is kunde<k>.example of provider p<k mod providers>. */
async function child(providers, domains, requests) {
  const { CatalogStore } = await import(join(build, 'dist/src/catalog/store.js'));
  const { thunderbirdResponse } = await import(join(build, 'dist/src/formats/thunderbird.js'));
  const { parseAddress } = await import(join(build, 'dist/src/mailbox.js'));
  const work = mkdtempSync(join(tmpdir(), 'cache-misses-'));
  try {
    const dir = join(work, 'catalog');
    writeCatalog(dir, { providers, domains, source: 'yaml' });
    const catalog = (await CatalogStore.open([dir])).current();
    let octets = 0;
    for (let n = 0; n < requests; n++) {
      // As a request has it: the address parsed anew, the provider looked up.
      const mailbox = parseAddress(`alice@kunde${(n * STRIDE) % domains}.example`).value;
      const provider = catalog.byDomain(mailbox.domain);
      const { body, etag } = thunderbirdResponse(provider, mailbox.domain, mailbox, 'en');
      octets += body.length + etag.length;
    }
    if (octets === 0) throw new Error('no answers');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const run = promisify(execFile);
const EVENTS = ['Ir', 'I1mr', 'ILmr', 'Dr', 'D1mr', 'DLmr', 'Dw', 'D1mw', 'DLmw'];

/** cachegrind's totals for one child run. */
async function counted(providers, domains, requests) {
  const out = join(mkdtempSync(join(tmpdir(), 'cachegrind-')), 'out');
  const ll = process.env.LL ?? '1048576,16,64';
  // Synchronous optimisation and collection: valgrind runs one thread at a
  // time, and a background compile would land at a different request in
  // every run (and the two runs would not cancel out).
  await run('valgrind', ['--tool=cachegrind', '--cache-sim=yes', `--LL=${ll}`, `--cachegrind-out-file=${out}`, process.execPath, '--no-concurrent-recompilation', '--single-threaded-gc', new URL(import.meta.url).pathname, '--child', String(providers), String(domains), String(requests)], { maxBuffer: 1 << 24 });
  const summary = readFileSync(out, 'utf8').split('\n').find((line) => line.startsWith('summary:'));
  rmSync(out, { force: true });
  if (!summary) throw new Error('cachegrind wrote no summary');
  return Object.fromEntries(summary.split(/\s+/).slice(1).map((value, i) => [EVENTS[i], Number(value)]));
}

async function perRequest(providers, domains, a, b) {
  const [first, second] = await Promise.all([counted(providers, domains, a), counted(providers, domains, b)]);
  return Object.fromEntries(EVENTS.map((event) => [event, (second[event] - first[event]) / (b - a)]));
}

const catalogs = (process.env.CATALOGS ?? '10:2000,2000:20000').split(',').map((c) => c.split(':').map(Number));
const a = Number(process.env.REQUESTS_A ?? 20000);
const b = Number(process.env.REQUESTS_B ?? 50000);
const rows = [];
for (const [providers, domains] of catalogs) {
  const cost = await perRequest(providers, domains, a, b);
  rows.push({
    catalog: `${providers.toLocaleString('en')} providers, ${domains.toLocaleString('en')} domains`,
    instructions: Math.round(cost.Ir),
    'L1 data misses (read)': Math.round(cost.D1mr * 10) / 10,
    'L2 misses (read)': Math.round(cost.DLmr * 10) / 10,
    'L2 misses (write)': Math.round(cost.DLmw * 10) / 10,
  });
}
const reference = rows[0];
for (const row of rows) row['L2 read misses ÷ first'] = Math.round((row['L2 misses (read)'] / Math.max(reference['L2 misses (read)'], 0.1)) * 10) / 10;
console.log(`Thunderbird answer in the process (${build}), per request (cachegrind, last-level cache ${process.env.LL ?? '1048576,16,64'}; ${(b - a).toLocaleString('en')} requests counted):`);
console.table(rows);
