// Log-in names from the provider's directory (a provider's `lookup`), part of
// npm run bench: Thunderbird ?emailaddress answers of a provider whose log-in
// names come from a real OpenLDAP the bench starts on loopback (slapd on the
// load's core, so the service's core is its own), against the same provider
// without a lookup in the same service (the reference), each request a
// different address:
// - "warm": LOGIN_WARM (100) addresses in turn, all found and cached;
// - "new address, found": LOGIN_PEOPLE (50,000) addresses in turn with a
//   cache of 1,000 entries, so every request asks the directory;
// - "new address, not found": addresses the directory does not have, every
//   one new (negative results are cached, but never asked again here).
// Requests/s, p50 and p99 and the ratio to the reference, the median of
// ROUNDS interleaved rounds (the machine's speed drifts between minutes),
// and the directory's searches counted in its log.
//
// Run alone (after npm run build): node bench/logins.mjs. Environment as
// run.mjs (ROUNDS, SECONDS, CONNECTIONS, CORE, LOAD_CORE, ONLY: a regular
// expression on the rows' names) and LOGIN_PEOPLE, LOGINS_OUT
// (bench/results-logins.json).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, serviceNodeFlags } from './production.mjs';
import { cpuSeconds, fetchOnce, freePort, median, runSettings, SETTINGS, waitForReady, wrk } from './tools.mjs';

const env = process.env;
const { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, core: CORE, loadCore: LOAD_CORE } = SETTINGS;
const PEOPLE = Number(env.LOGIN_PEOPLE ?? 50_000);
const WARM = 100;
const OUT = env.LOGINS_OUT ?? join(root, 'bench', 'results-logins.json');
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA = '/etc/ldap/schema';
const MODULES = '/usr/lib/ldap';
const SUFFIX = 'dc=example,dc=com';
const HOST = 'autoconfig.example';

/** name, the provider's domain, the address of request number `counter` (Lua). */
const ROWS = [
  { name: 'login lookup: none (reference)', domain: 'plain.example', local: `"u" .. (counter % ${PEOPLE})` },
  { name: 'login lookup: warm cache', domain: 'lookup.example', local: `"u" .. (counter % ${WARM})` },
  { name: 'login lookup: new address, found', domain: 'lookup.example', local: `"u" .. (counter % ${PEOPLE})` },
  { name: 'login lookup: new address, not found', domain: 'lookup.example', local: `"x${Date.now().toString(36)}-" .. counter` },
];

export function loginRows(only = env.ONLY) {
  const rows = ROWS.filter((row) => !only || new RegExp(only, 'i').test(row.name));
  // The reference whenever anything is measured: every ratio is to it.
  return rows.length === 0 || rows.includes(ROWS[0]) ? rows : [ROWS[0], ...rows];
}

/** An OpenLDAP with PEOPLE entries (uid u<i>, mail u<i>@lookup.example), loaded offline by slapadd. */
async function startSlapd(work) {
  const dir = mkdtempSync(join(work, 'slapd-'));
  const port = await freePort();
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include ${SCHEMA}/${s}.schema`),
    `pidfile ${dir}/slapd.pid`, `modulepath ${MODULES}`, 'moduleload back_mdb',
    'database mdb', 'maxsize 1073741824', `suffix "${SUFFIX}"`, `rootdn "cn=admin,${SUFFIX}"`, `rootpw ${password}`,
    `directory ${dir}`, 'index objectClass eq', 'index mail eq', '',
  ].join('\n'));
  const entries = [`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n`, `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`];
  for (let i = 0; i < PEOPLE; i++) entries.push(`dn: uid=u${i},ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: Person ${i}\nsn: ${i}\nmail: u${i}@lookup.example\n`);
  writeFileSync(join(dir, 'people.ldif'), entries.join('\n'));
  execFileSync(SLAPADD, ['-q', '-f', conf, '-l', join(dir, 'people.ldif')], { stdio: 'pipe' });
  const log = join(dir, 'stats.log');
  const child = spawn('sh', ['-c', `exec taskset -c ${LOAD_CORE} ${SLAPD} -d stats -f ${conf} -h ldap://127.0.0.1:${port}/ 2>${log}`], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      execFileSync('ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-D', `cn=admin,${SUFFIX}`, '-w', password, '-b', SUFFIX, '-s', 'base', 'dn'], { stdio: 'pipe' });
      break;
    } catch (error) {
      if (i > 100 || child.exitCode !== null) throw new Error(`slapd did not start: ${readFileSync(log, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `ldap://127.0.0.1:${port}`, password, child, searches: () => (readFileSync(log, 'utf8').match(/ SRCH base=/g) ?? []).length };
}

function providerYaml(domain, lookup) {
  return `id: ${domain.replace('.', '-')}\nname: { en: Bench }\nshortName: Bench\ndomains: [${domain}]\nusername: ask\nincoming:\n  - { type: imap, host: imap.hoster.example }\noutgoing:\n  - { host: smtp.hoster.example }\n${lookup}`;
}

export async function benchLogins() {
  const rows = loginRows();
  if (rows.length === 0) return undefined;
  for (const path of [SLAPD, SLAPADD, join(MODULES, 'back_mdb.so')]) {
    if (!existsSync(path)) {
      console.log(`login lookup rows skipped: ${path} is missing (apt-get install slapd ldap-utils)`);
      return undefined;
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'bench-logins-'));
  const slapd = await startSlapd(work);
  const providers = join(work, 'providers');
  execFileSync('mkdir', ['-p', providers]);
  writeFileSync(join(work, 'ldap-password'), slapd.password);
  writeFileSync(join(providers, 'plain.yaml'), providerYaml('plain.example', ''));
  writeFileSync(join(providers, 'lookup.yaml'), providerYaml('lookup.example', `lookup:
  ldap:
    url: ${slapd.url}
    bindDn: cn=admin,${SUFFIX}
    passwordFile: ${join(work, 'ldap-password')}
    baseDn: ou=people,${SUFFIX}
    filter: (mail=%EMAILADDRESS%)
    loginAttribute: uid
  cache: { ttlSeconds: 3600, negativeTtlSeconds: 3600, maxEntries: 1000 }
`));
  const port = await freePort();
  const service = spawn('taskset', ['-c', CORE, process.execPath, ...serviceNodeFlags(), join(root, 'dist/src/bin/mail-autoconfig.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--rate-limit', '0', '--providers', providers], {
    env: { ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForReady(port, { exited: () => service.exitCode !== null });
    const found = (await fetchOnce(port, { path: '/mail/config-v1.1.xml?emailaddress=u1%40lookup.example', host: HOST })).body.toString('utf8');
    if (!found.includes('<username>u1</username>')) throw new Error(`the lookup does not answer: ${found.slice(0, 400)}`);
    const lua = (row) => `wrk.headers["Host"] = ${JSON.stringify(HOST)}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/mail/config-v1.1.xml?emailaddress=" .. ${row.local} .. "%40${row.domain}")
end
`;
    // Warm: every warm address asked once, so the runs find them cached.
    for (let i = 0; i < WARM; i++) await fetchOnce(port, { path: `/mail/config-v1.1.xml?emailaddress=u${i}%40lookup.example`, host: HOST });
    const runs = new Map(rows.map((row) => [row.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = rows.map((_, i) => rows[(i + round) % rows.length]);
      for (const row of order) {
        const searchesBefore = slapd.searches();
        const cpuBefore = cpuSeconds(service.pid);
        const result = wrk({ port, path: '/', lua: lua(row), seconds: SECONDS, connections: CONNECTIONS, core: LOAD_CORE, work });
        const requests = result.rps * SECONDS;
        runs.get(row.name).push({ ...result, searches: slapd.searches() - searchesBefore, cpuMicroseconds: ((cpuSeconds(service.pid) - cpuBefore) * 1e6) / requests });
      }
    }
    const reference = runs.get(ROWS[0].name);
    const table = rows.map((row) => {
      const measured = runs.get(row.name);
      return {
        name: row.name,
        rps: Math.round(median(measured.map((r) => r.rps))),
        p50: Number(median(measured.map((r) => r.p50)).toFixed(2)),
        p99: Number(median(measured.map((r) => r.p99)).toFixed(2)),
        ratio: Number(median(measured.map((r, i) => r.rps / reference[i].rps)).toFixed(2)),
        // The service's CPU time per request: steadier than requests/s, and it tells waiting from working.
        cpuMicroseconds: Number(median(measured.map((r) => r.cpuMicroseconds)).toFixed(1)),
        cpuRatio: Number(median(measured.map((r, i) => r.cpuMicroseconds / reference[i].cpuMicroseconds)).toFixed(2)),
        directorySearchesPerRequest: Number(median(measured.map((r) => r.searches / Math.max(1, r.rps * SECONDS))).toFixed(2)),
        errors: measured.reduce((sum, r) => sum + r.errors, 0),
      };
    });
    console.log(`\nLog-in lookups (LDAP on loopback, ${PEOPLE} people, cache 1,000; median of ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections):`);
    console.log('row'.padEnd(40), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), '÷ ref'.padStart(7), 'CPU µs'.padStart(8), '÷ ref'.padStart(7), 'searches/req'.padStart(13), 'errors'.padStart(7));
    for (const r of table) {
      console.log(r.name.padEnd(40), String(r.rps).padStart(8), r.p50.toFixed(2).padStart(8), r.p99.toFixed(2).padStart(8), r.ratio.toFixed(2).padStart(7),
        r.cpuMicroseconds.toFixed(1).padStart(8), r.cpuRatio.toFixed(2).padStart(7), r.directorySearchesPerRequest.toFixed(2).padStart(13), String(r.errors).padStart(7));
    }
    writeFileSync(OUT, `${JSON.stringify({ ...runSettings(), people: PEOPLE, rows: table }, null, 2)}\n`);
    return table;
  } finally {
    service.kill('SIGTERM');
    slapd.child.kill('SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchLogins();
