// Hosters at scale (issue 21), part of npm run bench: catalogs of
// HOSTER_PROVIDERS providers (2,000) serving HOSTER_DOMAINS customer domains
// (1,000,000) in total, once from domain files and once from PostgreSQL
// (a domainsQuery per provider, against a real PostgreSQL the bench starts on
// loopback), against a reference catalog of 10 providers measured in the
// same run, and against a second reference of as many providers with ten
// domains each (from files): the first ratio is what the whole catalog costs,
// the second what the million domains cost apart from the providers. In
// every catalog provider p0 also claims domains by MX pattern;
// a dnsmasq the bench starts answers their MX questions (--dns-servers).
//
// Per catalog: INSTANCES (2) processes are loaded, each in every round (two
// processes of the same code and flags differ by 10-20 % here, by what V8
// decided during their start-up), and a row's figures are the medians over
// all instances and rounds. Per catalog: start-up (spawn to /readyz listing
// every domain: the catalog's count for files, the sources' counts for
// PostgreSQL; the median of STARTS),
// resident memory after start and after the load (VmRSS, VmHWM). Per catalog
// and request: Thunderbird ?emailaddress for (1) a listed domain, a different
// one of the catalog's domains each request, and (2) an MX-matched domain
// whose MX answer is cached (all asked once before; the dnsmasq's query log
// shows none asked during the load): requests/s, p50, p99, and the ratio to
// the reference, the median of the loads' ratios with their quartiles; the
// service's CPU time per request (all its threads, from /proc) and its
// ratio. Because the machine's speed drifts between minutes, every load of
// another catalog runs between two loads of the reference (its instances in
// turn) and is compared with their mean; each round loads every catalog, in
// an order that turns each round.
//
// Run alone (after npm run build): node bench/hosters.mjs. Environment as
// run.mjs (ROUNDS, SECONDS, CONNECTIONS, CORE, LOAD_CORE, ONLY, a regular
// expression on the rows' names; the reference is measured whenever a row of
// its request is) and HOSTER_PROVIDERS, HOSTER_DOMAINS, MX_DOMAINS (1,000),
// STARTS (3), INSTANCES (2), HOSTERS_OUT (bench/results-hosters.json), LISTED_SPAN
// (ask only the first N domains of each catalog), HOSTER_BASELINE_ROOT (the
// root of another build, built: the million from files is served by it too,
// as one more catalog, so that a change's effect is measured in the same run),
// SERVICE_NODE_FLAGS (more Node flags for the instances, e.g. --cpu-prof). PostgreSQL and
// dnsmasq run on LOAD_CORE. Heap used and full collections are read from
// each instance's metrics port.
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { root, serviceNodeFlags } from './production.mjs';
import { cpuTimes, fetchOnce, gcSeconds, freePort, majorCollections, majorGcPer100k, median, memory, quartiles, metric, runSettings, SETTINGS, waitForReady, wrk } from './tools.mjs';

const run = promisify(execFile);
const env = process.env;
const { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, core: CORE, loadCore: LOAD_CORE } = SETTINGS;
const PROVIDERS = Number(env.HOSTER_PROVIDERS ?? 2000);
const DOMAINS = Number(env.HOSTER_DOMAINS ?? 1_000_000);
const MX_DOMAINS = Number(env.MX_DOMAINS ?? 1000);
const STARTS = Number(env.STARTS ?? 3);
/** Instances of each catalog kept for the load (the last starts): two processes of the same code differ by 10-20 % on this machine. */
const INSTANCES = Math.min(Number(env.INSTANCES ?? 2), STARTS);
const PROVIDER_REFERENCE_DOMAINS = 10 * PROVIDERS;
const OUT = env.HOSTERS_OUT ?? join(root, 'bench', 'results-hosters.json');
const BASELINE_ROOT = env.HOSTER_BASELINE_ROOT;

const count = (n) => n.toLocaleString('en');
/** Domain k is kunde<k>.example, served by provider p<k mod providers>; MX-matched ones are m<j>.mx-kunden.example. */
const CATALOGS = [
  { key: 'reference', name: '10 providers (reference)', providers: 10, domains: 2000, source: 'yaml' },
  // The reference once more, in processes of its own: the ratio identical catalogs show, the bench's own spread
  // (processes of the same code differ by what V8 decided at their start; the machine drifts). Measured with the large ones.
  { key: 'twin', name: "10 providers again (the reference's twin)", providers: 10, domains: 2000, source: 'yaml' },
  // The same number of providers with few domains: what the million domains cost, apart from what 2,000 providers cost.
  { key: 'providers', name: `${count(PROVIDERS)} providers, ${count(PROVIDER_REFERENCE_DOMAINS)} domains from files (the providers' reference)`, providers: PROVIDERS, domains: PROVIDER_REFERENCE_DOMAINS, source: 'file' },
  { key: 'file', name: `${count(PROVIDERS)} providers, ${count(DOMAINS)} domains from files`, providers: PROVIDERS, domains: DOMAINS, source: 'file' },
  { key: 'postgres', name: `${count(PROVIDERS)} providers, ${count(DOMAINS)} domains from PostgreSQL`, providers: PROVIDERS, domains: DOMAINS, source: 'postgres' },
  ...(BASELINE_ROOT ? [{ key: 'file-baseline', name: `${count(PROVIDERS)} providers, ${count(DOMAINS)} domains from files, served by the baseline build`, providers: PROVIDERS, domains: DOMAINS, source: 'file', root: BASELINE_ROOT }] : []),
  // The reference and one more provider whose few domains (never asked for) come from PostgreSQL: what a database
  // client in the serving process costs, apart from the number of providers and domains. Measured only when ONLY
  // selects it (ONLY=PostgreSQL), not in every run.
  { key: 'reference-db', name: '10 providers and 1 reading 500 domains from PostgreSQL', providers: 10, domains: 2000, source: 'yaml', databaseProvider: true, onlyWhenAsked: true },
];
const REQUESTS = [
  { key: 'listed', name: 'listed domain' },
  { key: 'mx', name: 'MX-matched, warm cache' },
];
const MX_ZONE = 'mx-kunden.example';
/** Any host: the service answers on a host that is no provider's service host. */
const HOST = 'autoconfig.example.net';
const STRIDE = 7919;
/** Ask only the first LISTED_SPAN domains of each catalog (all without it): whether a listed domain's cost is the catalog's size or the breadth of the domains asked. */
const LISTED_SPAN = env.LISTED_SPAN ? Number(env.LISTED_SPAN) : Infinity;

const rowName = (catalog, request) => `hosters, ${catalog.name}: ${request.name}`;

/** The rows ONLY selects (every row without ONLY), each with its catalog and request. */
export function hosterRows(only = env.ONLY) {
  const pattern = only ? new RegExp(only, 'i') : undefined;
  return CATALOGS.flatMap((catalog) => REQUESTS.map((request) => ({ catalog, request, name: rowName(catalog, request) })))
    .filter((row) => (pattern ? pattern.test(row.name) : !row.catalog.onlyWhenAsked));
}

// --- the catalogs --------------------------------------------------------------------

function providerYaml(i, catalog, database) {
  const lines = [`id: p${i}`, `name: Provider ${i}`];
  if (catalog.source === 'yaml') lines.push('domains:', ...domainsOf(i, catalog).map((d) => `  - ${d}`));
  if (catalog.source === 'file') lines.push(`domainsFile: p${i}.txt`);
  if (catalog.source === 'postgres') {
    // No LISTEN channel: it would keep one more connection per provider open.
    lines.push('domainsQuery:', `  connection: postgresql://autoconfig@127.0.0.1:${database.port}/postgres`, '  passwordFile: db-password', `  query: SELECT domain FROM mail_domains WHERE provider = 'p${i}'`, '  refreshSeconds: 3600');
  }
  if (i === 0) lines.push('mxPatterns: ["*.mx.hoster.example"]');
  lines.push('incoming:', `  - { type: imap, host: imap.p${i}.example }`, 'outgoing:', `  - { host: smtp.p${i}.example }`, '');
  return lines.join('\n');
}

function domainsOf(i, catalog) {
  const domains = [];
  for (let k = i; k < catalog.domains; k += catalog.providers) domains.push(`kunde${k}.example`);
  return domains;
}

/** A catalog's provider files in a new folder `dir` (bench/cache-misses.mjs writes its catalogs with it too). */
export function writeCatalog(dir, catalog, database) {
  mkdirSync(dir);
  for (let i = 0; i < catalog.providers; i++) {
    writeFileSync(join(dir, `p${i}.yaml`), providerYaml(i, catalog, database));
    if (catalog.source === 'file') writeFileSync(join(dir, `p${i}.txt`), `${domainsOf(i, catalog).join('\n')}\n`);
  }
  if (catalog.databaseProvider) {
    const connection = [`  connection: postgresql://autoconfig@127.0.0.1:${database.port}/postgres`, '  passwordFile: db-password', '  refreshSeconds: 3600'];
    writeFileSync(join(dir, 'pdb.yaml'), ['id: pdb', 'name: Provider from the database', 'domainsQuery:', ...connection,
      `  query: SELECT 'extra-' || domain FROM mail_domains WHERE provider = 'p${PROVIDERS - 1}'`,
      'incoming:', '  - { type: imap, host: imap.pdb.example }', 'outgoing:', '  - { host: smtp.pdb.example }', ''].join('\n'));
  }
  if (catalog.source === 'postgres' || catalog.databaseProvider) writeFileSync(join(dir, 'db-password'), `${database.rolePassword}\n`);
}

// --- PostgreSQL and dnsmasq on loopback (as test/helpers/postgres.ts and dns-server.ts) -------

async function startPostgres(maxConnections) {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const bin = `/usr/lib/postgresql/${versions[0]}/bin`;
  // A folder of its own: the server's user must reach it.
  const dir = mkdtempSync(join(tmpdir(), 'bench-postgres-'));
  // PostgreSQL refuses to run as root: then as the postgres user, who owns the folder.
  // On the load's core, like wrk: the service's core stays the service's.
  const asRoot = process.getuid() === 0;
  const server = (command, args) => run('taskset', ['-c', LOAD_CORE, ...(asRoot ? ['runuser', '-u', 'postgres', '--'] : []), join(bin, command), ...args]);
  if (asRoot) {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then((ids) => ids.map((r) => Number(r.stdout)));
    chownSync(dir, uid, gid);
  }
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  await server('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  rmSync(pwfile);
  const port = await freePort();
  writeFileSync(join(dir, 'data', 'postgresql.conf'), `${readFileSync(join(dir, 'data', 'postgresql.conf'), 'utf8')}
port = ${port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '${dir}'
max_connections = ${maxConnections}
fsync = off
synchronous_commit = off
full_page_writes = off
`);
  const stop = async () => {
    await server('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  await server('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const sql = async (text) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  };
  return { port, sql, stop };
}

/** A table of every catalog's domains, by provider, and the role the service reads it as. */
async function fillDatabase(database, catalog) {
  database.rolePassword = `role-${Math.random().toString(36).slice(2)}`;
  await database.sql(`
    CREATE TABLE mail_domains (provider text NOT NULL, domain text NOT NULL);
    INSERT INTO mail_domains SELECT 'p' || (k % ${catalog.providers}), 'kunde' || k || '.example' FROM generate_series(0, ${catalog.domains - 1}) k;
    CREATE INDEX ON mail_domains (provider);
    ANALYZE mail_domains;
    CREATE ROLE autoconfig LOGIN PASSWORD '${database.rolePassword}';
    GRANT SELECT ON mail_domains TO autoconfig;
  `);
}

/** The service's connections, to wait until a stopped instance's are gone. */
const serviceConnections = async (database) => Number((await database.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mail-autoconfig'")).rows[0].count);

async function startDnsmasq(work) {
  const dir = join(work, 'dnsmasq');
  mkdirSync(dir);
  const log = join(dir, 'queries.log');
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(conf, Array.from({ length: MX_DOMAINS }, (_, j) => `mx-host=m${j}.${MX_ZONE},mx01.mx.hoster.example,10\n`).join(''));
  const port = await freePort();
  const child = spawn('taskset', ['-c', LOAD_CORE, '/usr/sbin/dnsmasq',
    '-k', '--no-resolv', '--no-hosts', `--conf-file=${conf}`, '--pid-file=', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    `--auth-server=ns.${MX_ZONE},127.0.0.1`, `--auth-zone=${MX_ZONE}`, '--auth-ttl=3600', `--auth-soa=1,hostmaster.${MX_ZONE},1200,180,1209600`,
    '--log-queries', `--log-facility=${log}`,
    ...(process.getuid() === 0 ? ['--user=nobody', '--group=nogroup'] : []),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  for (let i = 0; ; i++) {
    try {
      await resolver.resolveMx(`m0.${MX_ZONE}`);
      break;
    } catch (error) {
      if (i >= 50 || child.exitCode !== null) throw new Error(`dnsmasq did not answer: ${error.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Every MX question it was asked (dnsmasq logs a line before it answers).
  const queries = () => (readFileSync(log, 'utf8').match(/\[MX\] \S+ from /g) ?? []).length;
  return { server: `127.0.0.1:${port}`, queries, stop: () => child.kill('SIGTERM') };
}

// --- the service -----------------------------------------------------------------------

/** Every domain of the catalog is in service: in the catalog's index, or in its sources' lists. */
function allLoaded(catalog) {
  return (readyz) => {
    const sources = readyz.domainSources;
    return catalog.source === 'postgres'
      ? sources?.sources === catalog.providers && sources.down.length === 0 && sources.domains === catalog.domains
      : readyz.catalog.domains === catalog.domains;
  };
}

const heapUsedMiB = (metricsPort) => metric(metricsPort, 'mail_autoconfig_nodejs_heap_size_used_bytes') / 2 ** 20;

/** Instances not stopped yet, for the end of a run that failed. */
const running = new Set();

async function startService(catalog, dnsServer) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', CORE, process.execPath, ...serviceNodeFlags(), join(catalog.root ?? root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', '--providers', catalog.dir, '--dns-servers', dnsServer, '--metrics-port', String(metricsPort)], {
    env: { ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  await waitForReady(port, { ready: allLoaded(catalog), everyMs: 20, timeoutMs: 600_000, exited: () => child.exitCode !== null });
  return { port, metricsPort, child, startupMs: performance.now() - t0, atStart: { ...memory(child.pid), heapMiB: heapUsedMiB(metricsPort) } };
}

async function stopService(service, database) {
  const exited = new Promise((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGTERM');
  await exited;
  if (database) while ((await serviceConnections(database)) > 0) await new Promise((r) => setTimeout(r, 100));
}

const thunderbirdPath = (domain) => `/mail/config-v1.1.xml?emailaddress=alice%40${domain}`;

/** wrk's requests: another listed domain each time (a stride through all of them), or the MX-matched ones in turn. */
function luaFor(catalog, request) {
  const domain = request.key === 'listed' ? `"kunde" .. ((counter * ${STRIDE}) % ${Math.min(catalog.domains, LISTED_SPAN)}) .. ".example"` : `"m" .. (counter % ${MX_DOMAINS}) .. ".${MX_ZONE}"`;
  return `wrk.headers["Host"] = ${JSON.stringify(HOST)}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/mail/config-v1.1.xml?emailaddress=alice%40" .. ${domain})
end
`;
}

// --- the run ---------------------------------------------------------------------------

export async function benchHosters() {
  const rows = hosterRows();
  if (rows.length === 0) return undefined;
  const requests = REQUESTS.filter((r) => rows.some((row) => row.request === r));
  const large = rows.some((row) => ['file', 'postgres', 'file-baseline'].includes(row.catalog.key));
  const catalogs = CATALOGS.filter((c) => c.key === 'reference' || ((c.key === 'providers' || c.key === 'twin') && large) || rows.some((row) => row.catalog === c));
  const work = mkdtempSync(join(tmpdir(), 'bench-hosters-'));
  const stops = [];
  try {
    const dns = await startDnsmasq(work);
    stops.push(dns.stop);
    // The database's rows are the PostgreSQL catalog's, also when only the reference with one database provider is measured.
    const postgresCatalog = catalogs.some((c) => c.source === 'postgres' || c.databaseProvider) && CATALOGS.find((c) => c.source === 'postgres');
    let database;
    if (postgresCatalog) {
      // One connection per provider at start, and room for a stopped instance's while they close.
      database = await startPostgres(2 * postgresCatalog.providers + 20);
      stops.push(database.stop);
      await fillDatabase(database, postgresCatalog);
    }
    for (const catalog of catalogs) {
      catalog.dir = join(work, catalog.key);
      writeCatalog(catalog.dir, catalog, database);
    }

    // Start-up: STARTS starts of each catalog, interleaved; the last INSTANCES stay for the load.
    const services = new Map();
    const instances = new Map(catalogs.map((catalog) => [catalog, []]));
    for (let start = 0; start < STARTS; start++) {
      for (const catalog of catalogs) {
        const service = await startService(catalog, dns.server);
        process.stderr.write(`start ${start + 1}/${STARTS} ${catalog.name}: ${Math.round(service.startupMs)} ms, ${Math.round(service.atStart.rssMiB)} MiB resident\n`);
        const starts = [...(services.get(catalog)?.starts ?? []), service];
        if (start < STARTS - INSTANCES) await stopService(service, catalog.source === 'postgres' ? database : undefined);
        else instances.get(catalog).push(service);
        services.set(catalog, { ...instances.get(catalog)[0] ?? service, starts });
      }
    }
    const everyInstance = [...instances].flatMap(([catalog, list]) => list.map((service) => [catalog, service]));

    // Every answer is a 200 before the load; every MX answer is cached, then none is asked again.
    for (const [catalog, { port }] of everyInstance) {
      for (const domain of [`kunde0.example`, `kunde${catalog.domains - 1}.example`, ...Array.from({ length: MX_DOMAINS }, (_, j) => `m${j}.${MX_ZONE}`)]) {
        const answer = await fetchOnce(port, { path: thunderbirdPath(domain), host: HOST });
        if (answer.status !== 200) throw new Error(`${catalog.name}: ${domain}: ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`);
      }
    }
    const load = (catalog, service, request, seconds) => {
      const { port, metricsPort } = service;
      const { pid } = service.child;
      const before = { collections: majorCollections(metricsPort), gc: gcSeconds(metricsPort), cpu: cpuTimes(pid) };
      const result = wrk({ port, path: '/', lua: luaFor(catalog, request), seconds, connections: CONNECTIONS, core: LOAD_CORE, work });
      const cpu = cpuTimes(pid);
      const perRequest = (s) => (s * 1e6) / (result.rps * seconds);
      const userUs = perRequest(cpu.user - before.cpu.user);
      const systemUs = perRequest(cpu.system - before.cpu.system);
      return { ...result, majorCollections: majorCollections(metricsPort) - before.collections, gcUs: perRequest(gcSeconds(metricsPort) - before.gc), cpuUs: userUs + systemUs, userUs, systemUs };
    };
    // Warm-up: JIT, and each provider's prepared document.
    for (const request of requests) for (const [catalog, service] of everyInstance) load(catalog, service, request, 2);
    const mxQueriesBefore = dns.queries();

    const runs = new Map(catalogs.flatMap((catalog) => requests.map((request) => [`${catalog.key}/${request.key}`, []])));
    const [referenceCatalog, ...candidates] = catalogs;
    const references = instances.get(referenceCatalog);
    for (let round = 0; round < ROUNDS; round++) {
      for (const request of requests) {
        // Every instance of every other catalog, each load between two loads of the reference (its instances in
        // turn): the machine's speed drifts by up to 2x between minutes, and a load's ratio to the mean of the
        // two just before and after it cancels a steady drift, which a round's one reference measured up to
        // half a minute away did not (the figures' spread, docs/performance.md).
        const turn = round % Math.max(candidates.length, 1);
        const order = candidates.map((_, i) => candidates[(i + turn) % candidates.length]);
        const loads = order.flatMap((catalog) => instances.get(catalog).map((service) => [catalog, service]));
        let referenceLoads = 0;
        const loadReference = () => {
          const service = references[(round + referenceLoads++) % references.length];
          const result = load(referenceCatalog, service, request, SECONDS);
          runs.get(`${referenceCatalog.key}/${request.key}`).push({ ...result, ratio: 1, cpuRatio: 1, userRatio: 1 });
          return result;
        };
        let before = loadReference();
        const byCatalog = new Map(order.map((catalog) => [catalog, []]));
        const providersOf = new Map();
        for (const [catalog, service] of loads) {
          const result = load(catalog, service, request, SECONDS);
          const after = loadReference();
          const reference = Object.fromEntries(['rps', 'cpuUs', 'userUs'].map((key) => [key, (before[key] + after[key]) / 2]));
          before = after;
          byCatalog.get(catalog).push({ result, reference });
          if (catalog.key === 'providers') providersOf.set(service, result);
        }
        // Against the same providers with few domains: that catalog's median in the round (it is no bracket, only a second view).
        const providersResults = [...providersOf.values()];
        const providersReference = providersResults.length > 0 && { rps: median(providersResults.map((r) => r.rps)), cpuUs: median(providersResults.map((r) => r.cpuUs)) };
        for (const [catalog, results] of byCatalog) {
          for (const { result, reference } of results) {
            runs.get(`${catalog.key}/${request.key}`).push({
              ...result,
              ratio: result.rps / reference.rps,
              cpuRatio: result.cpuUs / reference.cpuUs,
              userRatio: result.userUs / reference.userUs,
              ...(providersReference ? { providersRatio: result.rps / providersReference.rps, providersCpuRatio: result.cpuUs / providersReference.cpuUs } : {}),
            });
          }
        }
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${request.name}: ${[...byCatalog].map(([c, r]) => `${r.map((x) => x.result.rps / x.reference.rps).map((x) => x.toFixed(2)).join('/')} ${c.key}`).join(', ')} (ratios to the reference around each)\n`);
      }
    }
    const mxQueriesDuringLoad = dns.queries() - mxQueriesBefore;
    // A reload during the load (the reload worker shares the service's core) would make the figures another measurement.
    const reloads = {};
    for (const [catalog, { port }] of everyInstance) reloads[catalog.key] = (reloads[catalog.key] ?? 0) + JSON.parse((await fetchOnce(port, { path: '/readyz', host: 'x' })).body.toString('utf8')).reload.reloads - 1;

    const round2 = (x) => Math.round(x * 100) / 100;
    const table = catalogs.flatMap((catalog) => requests.map((request) => {
      const r = runs.get(`${catalog.key}/${request.key}`);
      return {
        row: rowName(catalog, request),
        rps: Math.round(median(r.map((x) => x.rps))),
        p50ms: round2(median(r.map((x) => x.p50))),
        p99ms: round2(median(r.map((x) => x.p99))),
        ratioToReference: round2(median(r.map((x) => x.ratio))),
        // The middle half of the loads' ratios: how far one median of this machine's runs can be trusted.
        ratioQuartiles: quartiles(r.map((x) => x.ratio)).map(round2),
        // CPU time of the service per request (all its threads): steadier than requests/s on a shared machine.
        cpuUsPerRequest: Math.round(median(r.map((x) => x.cpuUs)) * 10) / 10,
        cpuRatioToReference: round2(median(r.map((x) => x.cpuRatio))),
        // The same time split: the service's own code and collector (user) and the kernel's socket work (system), and the collector alone.
        userUs: Math.round(median(r.map((x) => x.userUs)) * 10) / 10,
        userRatioToReference: round2(median(r.map((x) => x.userRatio))),
        // Against the same providers with few domains: what the number of domains costs.
        ...(r[0].providersRatio !== undefined ? { ratioToProviders: round2(median(r.map((x) => x.providersRatio))), cpuRatioToProviders: round2(median(r.map((x) => x.providersCpuRatio))) } : {}),
        systemUs: Math.round(median(r.map((x) => x.systemUs)) * 10) / 10,
        gcUs: Math.round(median(r.map((x) => x.gcUs)) * 10) / 10,
        errors: r.reduce((sum, x) => sum + x.errors, 0),
        // Over all of the row's runs, per 100,000 requests.
        majorGcPer100k: majorGcPer100k(r, SECONDS),
        // Each instance's run of each round, instance by instance within a round.
        rounds: r.map((x) => ({ rps: Math.round(x.rps), p99ms: round2(x.p99), cpuUs: Math.round(x.cpuUs * 10) / 10, ratio: round2(x.ratio) })),
      };
    }));
    // What a Prometheus scrape and a readiness probe take (the event loop's time: both read every source's state), the median of 5.
    const opsMs = new Map();
    for (const [catalog, service] of services) {
      const timed = async (port, path) => {
        const t0 = performance.now();
        const answer = await fetchOnce(port, { path, host: 'x' });
        if (answer.status !== 200) throw new Error(`${catalog.name}: ${path}: ${answer.status}`);
        return performance.now() - t0;
      };
      const scrapes = [];
      const probes = [];
      for (let i = 0; i < 5; i++) {
        scrapes.push(await timed(service.metricsPort, '/metrics'));
        probes.push(await timed(service.port, '/readyz'));
      }
      opsMs.set(catalog, { scrapeMs: Math.round(median(scrapes) * 10) / 10, readyzMs: Math.round(median(probes) * 10) / 10 });
    }
    const catalogFigures = catalogs.map((catalog) => {
      const service = services.get(catalog);
      const afterLoad = { ...memory(service.child.pid), heapMiB: heapUsedMiB(service.metricsPort) };
      return {
        catalog: catalog.name,
        providers: catalog.providers,
        domains: catalog.domains,
        startupMs: Math.round(median(service.starts.map((s) => s.startupMs))),
        startupRangeMs: [Math.round(Math.min(...service.starts.map((s) => s.startupMs))), Math.round(Math.max(...service.starts.map((s) => s.startupMs)))],
        heapAfterStartMiB: Math.round(service.atStart.heapMiB),
        rssAfterStartMiB: Math.round(service.atStart.rssMiB),
        peakAfterStartMiB: Math.round(service.atStart.peakMiB),
        heapAfterLoadMiB: Math.round(afterLoad.heapMiB),
        rssAfterLoadMiB: Math.round(afterLoad.rssMiB),
        peakAfterLoadMiB: Math.round(afterLoad.peakMiB),
        ...opsMs.get(catalog),
      };
    });
    const result = {
      ...runSettings(),
      starts: STARTS,
      instances: INSTANCES,
      serviceNodeFlags: env.SERVICE_NODE_FLAGS ?? '',
      mxDomains: MX_DOMAINS,
      ...(Number.isFinite(LISTED_SPAN) ? { listedSpan: LISTED_SPAN } : {}),
      mxQueriesDuringLoad,
      reloadsDuringRun: reloads,
      catalogs: catalogFigures,
      rows: table,
    };
    console.table(catalogFigures.map(({ startupRangeMs, ...figures }) => figures));
    console.table(table.map(({ rounds, ...figures }) => figures));
    console.log(`MX questions at the DNS server during the load: ${mxQueriesDuringLoad} (every answer came from the cache when 0); catalog reloads after the first load: ${JSON.stringify(reloads)}`);
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written to ${OUT}`);
    return result;
  } finally {
    for (const child of running) child.kill('SIGTERM');
    for (const stop of stops.reverse()) await stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchHosters();
