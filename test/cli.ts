/** The real CLI as a child process: exit codes and output. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PROJECT_ROOT } from '../src/paths.js';
import { dnsmasqMissing, startDnsmasq } from './helpers/dns-server.js';
import { ISPDB_DIR, sharedMissing } from './helpers/shared.js';

const run = promisify(execFile);
const BIN = join(PROJECT_ROOT, 'dist', 'src', 'bin', 'mail-autoconfig.js');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { maxBuffer: 32 * 1024 * 1024, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.before(async () => {
  // The CLI runs from the build, as installed; build it once for this file.
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT });
});

t.test('--help on every command, exit 2 on usage errors', async (t) => {
  for (const command of ['serve', 'validate', 'render', 'import', 'dns', 'check', 'lookup']) {
    const help = await cli(command, '--help');
    t.equal(help.code, 0, `${command} --help`);
    t.match(help.stdout, `Usage: mail-autoconfig ${command}`);
  }
  t.equal((await cli()).code, 2);
  t.equal((await cli('frobnicate')).code, 2);
  t.equal((await cli('render', 'thunderbird')).code, 2);
  t.equal((await cli('render', 'carrier-pigeon', 'a@example.com')).code, 2);
  t.equal((await cli('validate', '--no-such-flag')).code, 2);
  t.equal((await cli('lookup')).code, 2);
  t.equal((await cli('lookup', 'no-at-sign')).code, 2);
});

t.test('validate: file:line:column problems, a summary, exit 1 on errors; --json', async (t) => {
  const ok = await cli('validate');
  t.equal(ok.code, 0);
  t.match(ok.stdout, '2 of 2 provider file(s) valid, 4 domain(s), 0 error(s)');
  const dir = mkdtempSync(join(tmpdir(), 'validate-'));
  writeFileSync(join(dir, 'broken.yaml'), 'id: broken\nname: Broken\ndomains: [broken.example]\nincoming:\n  - { type: imap, host: imap.broken.example, socketType: TLS }\noutgoing:\n  - { host: smtp.broken.example }\n');
  const bad = await cli('validate', dir);
  t.equal(bad.code, 1);
  t.match(bad.stdout, `${join(dir, 'broken.yaml')}:5:58: error: socketType: "TLS" is not one of ssl, starttls, plain`);
  const json = await cli('validate', '--json', dir);
  t.equal(json.code, 1);
  t.match(JSON.parse(json.stdout), { valid: false, problems: [{ line: 5, column: 58, severity: 'error' }] });
});

t.test('validate: service hosts and MX patterns claimed by two providers, each at its place; both providers still load', async (t) => {
  const hoster = (id: string, hosts: string, patterns: string) =>
    `id: ${id}\nname: ${id}\nserviceHosts: [${hosts}]\nmxPatterns: [${patterns}]\nincoming:\n  - { type: imap, host: imap.${id}.example }\noutgoing:\n  - { host: smtp.${id}.example }\n`;
  const dir = mkdtempSync(join(tmpdir(), 'validate-hosters-'));
  writeFileSync(join(dir, 'a.yaml'), hoster('a', 'autoconfig.hoster.example', '"*.mx.hoster.example"'));
  writeFileSync(join(dir, 'b.yaml'), hoster('b', 'autoconfig.b.example, autoconfig.hoster.example', '"*.mx.hoster.example", "*.hoster.example"'));
  const result = await cli('validate', dir);
  t.equal(result.code, 1, 'a name claimed twice is an error');
  t.match(result.stdout, `${join(dir, 'b.yaml')}:3:38: error: service host autoconfig.hoster.example is already claimed by provider a (${join(dir, 'a.yaml')})`);
  t.match(result.stdout, `${join(dir, 'b.yaml')}:4:14: error: MX pattern *.mx.hoster.example is already claimed by provider a`);
  t.match(result.stdout, `${join(dir, 'b.yaml')}:4:37: warning: MX pattern *.hoster.example overlaps *.mx.hoster.example of provider a`);
  t.match(result.stdout, '2 of 2 provider file(s) valid, 0 domain(s), 2 error(s)');
  const json = JSON.parse((await cli('validate', '--json', dir)).stdout);
  t.match(json, { valid: false, providers: 2, problems: [{ line: 3, column: 38, severity: 'error' }, { line: 4, column: 14, severity: 'error' }, { line: 4, column: 37, severity: 'warning' }] });
});

t.test('render prints what the server answers', async (t) => {
  const tb = await cli('render', 'thunderbird', 'alice@example.com');
  t.equal(tb.code, 0);
  t.match(tb.stdout, '<username>alice@example.com</username>');
  const outlook = await cli('render', 'outlook', 'alice@example.com', '--headers');
  t.match(outlook.stdout, '<Encryption>TLS</Encryption>');
  t.match(outlook.stderr, 'content-type: application/xml; charset=utf-8');
  const guide = await cli('render', 'guide', 'alice@example.com');
  t.match(guide.stdout, '<h1>Settings for alice@example.com</h1>');
  const apple = await cli('render', 'apple', 'alice@example.com');
  t.match(apple.stdout, '<string>com.apple.mail.managed</string>');
  const unknown = await cli('render', 'thunderbird', 'alice@unknown.example');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, '404: no mail provider is configured here for unknown.example');
});

t.test('import: the whole ISPDB, then validate it; no overwrite without --force', { skip: sharedMissing('ispdb') }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'import-'));
  const first = await cli('import', ISPDB_DIR, '--out', out);
  t.equal(first.code, 0, first.stderr.slice(0, 500));
  t.match(first.stdout, `imported 163 of 163 file(s) into ${out}`);
  t.match(first.stdout, /office365\.com\.xml: not carried over: incomingServer\[3\] type=ews/);
  t.match(first.stderr, '… 160/163 files', 'progress on large inputs');
  t.equal(readdirSync(out).length, 163);
  const validated = await cli('validate', out);
  t.equal(validated.code, 0, 'the imported catalog is valid');
  const again = await cli('import', join(ISPDB_DIR, 'web.de.xml'), '--out', out);
  t.equal(again.code, 1);
  t.match(again.stderr, 'exists; not overwritten (use --force)');
  t.equal((await cli('import', join(ISPDB_DIR, 'web.de.xml'), '--out', out, '--force')).code, 0);
});

t.test('dns: zone-file records with "." for services not offered; --json; exit codes', async (t) => {
  const zone = await cli('dns', 'example.com', '--public-url', 'https://autoconfig.hoster.example');
  t.equal(zone.code, 0);
  t.match(zone.stdout, /^autoconfig\.example\.com\.\s+3600 IN CNAME autoconfig\.hoster\.example\.$/m);
  t.match(zone.stdout, /^_autodiscover\._tcp\.example\.com\.\s+3600 IN SRV\s+0 0 443 autoconfig\.hoster\.example\.$/m);
  t.match(zone.stdout, /^_imaps\._tcp\.example\.com\.\s+3600 IN SRV\s+0 1 993 imap\.example\.com\.$/m);
  t.match(zone.stdout, /^_imap\._tcp\.example\.com\.\s+3600 IN SRV\s+0 0 0 \.$/m, 'no IMAP STARTTLS: "."');
  t.match(zone.stdout, /^_submission\._tcp\.example\.com\.\s+3600 IN SRV\s+0 1 587 smtp\.example\.com\.$/m);
  t.match(zone.stdout, /^ua-auto-config\.example\.com\.\s+3600 IN CNAME autoconfig\.hoster\.example\.$/m, 'PACC: the host record');
  t.match(zone.stdout, /^_ua-auto-config\.example\.com\.\s+3600 IN TXT\s+"v=UAAC1; a=sha256; d=[A-Za-z0-9+/]{43}="$/m, 'PACC: the digest record');
  t.match(zone.stdout, /^_caldavs\._tcp\.example\.com\.\s+3600 IN SRV\s+0 1 443 dav\.example\.com\.$/m, 'RFC 6764 §3');
  t.match(zone.stdout, /^_caldavs\._tcp\.example\.com\.\s+3600 IN TXT\s+"path=\/calendars\/"$/m, 'RFC 6764 §4');
  t.match(zone.stdout, /^_carddavs\._tcp\.example\.com\.\s+3600 IN TXT\s+"path=\/contacts\/"$/m);
  const hoster = JSON.parse((await cli('dns', 'bücher.example', '--address', '192.0.2.10', '--json')).stdout);
  t.equal(hoster.domain, 'xn--bcher-kva.example');
  t.match(hoster.records, [{ name: 'autoconfig.xn--bcher-kva.example.', type: 'A', data: '192.0.2.10' }]);
  t.match(hoster.records.filter((r: { name: string }) => r.name.startsWith('_submission._tcp')), [{ data: '0 1 587 secure-smtp.hoster.example.' }]);
  t.notOk(hoster.records.some((r: { name: string }) => r.name.includes('ua-auto-config')), 'no PACC records for a provider PACC cannot describe');
  t.match(hoster.notes, [/^no PACC records: PACC \(draft-ietf-mailmaint-pacc-03\) describes only .*the log-in name is not the address/]);
  t.match(hoster.records.filter((r: { name: string }) => r.name.includes('dav')), [{ name: '_caldavs._tcp.xn--bcher-kva.example.', data: '0 0 0 .' }, { name: '_carddavs._tcp.xn--bcher-kva.example.', data: '0 0 0 .' }]);
  t.equal((await cli('dns', 'unknown.example', '--target', 'a.example')).code, 1);
  t.equal((await cli('dns', 'example.com')).code, 2, 'no public host given');
});

t.test('check: a good deployment passes; a broken one is named row by row', async (t) => {
  const { startServer } = await import('./helpers/server.js');
  const { createServer } = await import('node:http');
  const { httpFetch } = await import('../src/http-client.js');
  const { url } = await startServer(t);
  const good = await cli('check', 'alice@example.com', '--url', url);
  t.equal(good.code, 0, good.stdout);
  t.match(good.stdout, /^13 passed, 0 failed, 1 with a warning$/m);
  t.match(good.stdout, /^pass  PACC ua-auto-config\.example\.com\s+imap, pop3, submit, caldav, carddav; d=[A-Za-z0-9+/]{43}=$/m);
  t.match(good.stdout, /^warn  PACC digest in _ua-auto-config\.example\.com TXT\s+no TXT record could be read/m, 'no DNS server answers for example.com here');

  // Wrong content type for Thunderbird, no Apple route: what a careless proxy does.
  const broken = createServer(async (req, res) => {
    if ((req.url ?? '').startsWith('/mobileconfig')) return void res.writeHead(404).end('not found');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const upstream = await httpFetch(url + req.url, { method: req.method ?? 'GET', host: req.headers.host ?? '', body: Buffer.concat(chunks), headers: { 'content-type': req.headers['content-type'] ?? '' } });
    const type = /config-v1\.1|user-agent-configuration/.test(req.url ?? '') ? 'text/html' : upstream.headers['content-type'] ?? '';
    res.writeHead(upstream.status, { 'content-type': type }).end(upstream.body);
  });
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => broken.close());
  const address = broken.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const bad = await cli('check', 'alice@example.com', '--url', `http://127.0.0.1:${port}`);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^FAIL  Thunderbird autoconfig\.example\.com \?emailaddress\s+Content-Type text\/html: clients will not read it$/m);
  t.match(bad.stdout, /^pass  Thunderbird ISPDB \/v1\.1\/<domain>/m);
  t.match(bad.stdout, /^FAIL  Apple profile\s+HTTP 404: not found$/m);
  t.match(bad.stdout, /^pass  Outlook POST \/AutoDiscover\/AutoDiscover\.xml/m);
  t.match(bad.stdout, /^FAIL  PACC ua-auto-config\.example\.com\s+Content-Type text\/html: clients will not read it$/m);
  const json = JSON.parse((await cli('check', 'alice@example.com', '--url', `http://127.0.0.1:${port}`, '--json')).stdout);
  t.ok(json.rows.some((r: { ok: boolean }) => !r.ok));
});

t.test('PACC digest round trip: dns prints the TXT record, check finds it in DNS and matches it against the bytes served', { skip: dnsmasqMissing() }, async (t) => {
  const { startServer } = await import('./helpers/server.js');
  const { httpFetch } = await import('../src/http-client.js');
  const { createHash } = await import('node:crypto');
  const { url } = await startServer(t);
  const records = JSON.parse((await cli('dns', 'example.com', '--target', 'autoconfig.hoster.example', '--json')).stdout).records as { name: string; type: string; data: string }[];
  const txt = records.find((r) => r.name === '_ua-auto-config.example.com.' && r.type === 'TXT')!.data;
  const served = await httpFetch(`${url}/.well-known/user-agent-configuration.json`, { host: 'ua-auto-config.example.com' });
  t.equal(txt, `"v=UAAC1; a=sha256; d=${createHash('sha256').update(served.body).digest('base64')}"`, 'dns prints the digest of the exact bytes the server sends');

  const published = await startDnsmasq(t, { zone: 'example.com', mx: [], ttl: 60, extraArguments: [
    // dnsmasq takes the text as it is on its command line: without the zone file's quotes.
    `--txt-record=_ua-auto-config.example.com,${txt.slice(1, -1)}`,
    '--txt-record=_ua-auto-config.example.com,v=spf1 -all',
  ] });
  const good = await cli('check', 'alice@example.com', '--url', url, '--dns', published.server);
  t.equal(good.code, 0, good.stdout);
  t.match(good.stdout, /^pass  PACC digest in _ua-auto-config\.example\.com TXT\s+d=\S+ matches the bytes served$/m);
  t.match(good.stdout, /^13 passed, 0 failed$/m);

  // The record of an older document (another provider edit): clients would reject this one.
  const stale = await startDnsmasq(t, { zone: 'example.com', mx: [], ttl: 60, extraArguments: ['--txt-record=_ua-auto-config.example.com,v=UAAC1; a=sha256; d=pmYPPHjEZltsRZf355Rj/LjB2IUXTSbAOcuz2FauY38='] });
  const bad = await cli('check', 'alice@example.com', '--url', url, '--dns', stale.server);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^FAIL  PACC digest in _ua-auto-config\.example\.com TXT\s+the TXT names d=pmYPPHjEZltsRZf355Rj\/LjB2IUXTSbAOcuz2FauY38=, the bytes served hash to d=\S+: clients reject the document/m);
});

/** A hoster as the README describes it, with one listed customer domain. */
function hosterFolder(serviceHosts = 'autoconfig.hoster.example, autodiscover.hoster.example', imapHost = 'sslmailpool.hoster.example'): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoster-dns-'));
  writeFileSync(join(dir, 'customers.txt'), 'listed.test.example\n');
  writeFileSync(join(dir, 'hoster.yaml'), `id: hoster
name: Hoster Mail
serviceHosts: [${serviceHosts}]
mxPatterns: ["*.mx.hoster.example"]
domainsFile: customers.txt
incoming:
  - { type: imap, host: ${imapHost} }
outgoing:
  - { host: smtprelaypool.hoster.example }
`);
  return dir;
}

interface ZoneRecord { name: string; type: string; data: string }

t.test('dns --hoster: the records published once, then the per-customer template or one domain', async (t) => {
  const folder = hosterFolder();
  const text = await cli('dns', '--hoster', 'hoster', '--providers', folder);
  t.equal(text.code, 0, text.stderr);
  const [once, perDomain] = text.stdout.split('\n\n') as [string, string];
  t.match(once, /^; Published once by the hoster \(provider hoster\)/);
  t.match(once, /^autoconfig\.hoster\.example\.\s+3600 IN A\s+<address of the service>$/m, 'the first service host takes the addresses');
  t.match(once, /^autodiscover\.hoster\.example\.\s+3600 IN CNAME autoconfig\.hoster\.example\.$/m);
  t.match(once, /^; Thunderbird's MX step, for a customer whose MX is <name>\.mx\.hoster\.example \(mxPatterns "\*\.mx\.hoster\.example"\), asks https:\/\/autoconfig\.mx\.hoster\.example\/… then https:\/\/autoconfig\.hoster\.example\/…: autoconfig\.hoster\.example is a service host$/m);
  t.notMatch(once, /customer-domain/, 'no customer record among the hoster\'s');
  t.match(perDomain, /^; Per customer domain: replace <customer-domain> \(mail-autoconfig dns --hoster hoster --domain <d>/);
  t.match(perDomain, /^autoconfig\.<customer-domain>\.\s+3600 IN CNAME autoconfig\.hoster\.example\.$/m);
  t.match(perDomain, /^_autodiscover\._tcp\.<customer-domain>\.\s+3600 IN SRV\s+0 0 443 autoconfig\.hoster\.example\.$/m);
  t.match(perDomain, /^<customer-domain>\.\s+3600 IN MX\s+10 <name>\.mx\.hoster\.example\.$/m);
  t.match(perDomain, /^_ua-auto-config\.<customer-domain>\.\s+3600 IN TXT\s+"v=UAAC1; a=sha256; d=[A-Za-z0-9+/]{43}="$/m, 'the document names no domain: one digest for all');

  const one = JSON.parse((await cli('dns', '--hoster', 'hoster', '--providers', folder, '--domain', 'Kunde.Example', '--address', '192.0.2.10', '--json')).stdout);
  t.match(one.once.records, [{ name: 'autoconfig.hoster.example.', type: 'A', data: '192.0.2.10' }, { name: 'autodiscover.hoster.example.', type: 'A', data: '192.0.2.10' }]);
  t.equal(one.perDomain.domain, 'kunde.example');
  t.match(one.perDomain.records, [{ name: 'autoconfig.kunde.example.', type: 'CNAME', data: 'autoconfig.hoster.example.' }], 'customers point at the service host, not the address');
  t.ok(one.perDomain.records.some((r: ZoneRecord) => r.name === 'kunde.example.' && r.type === 'MX'));

  // Neither name Thunderbird's MX step asks is a service host: say so, and print the record it needs.
  const missing = await cli('dns', '--hoster', 'hoster', '--providers', hosterFolder('webmail.hoster.example'));
  t.match(missing.stdout, /neither is a service host; add autoconfig\.hoster\.example to serviceHosts \(its record is below\) and give it a certificate/);
  t.match(missing.stdout, /^autoconfig\.hoster\.example\.\s+3600 IN CNAME webmail\.hoster\.example\.$/m);

  t.equal((await cli('dns', 'example.com', '--hoster', 'hoster')).code, 2, 'a domain or --hoster, not both');
  t.equal((await cli('dns', '--domain', 'kunde.example')).code, 2, '--domain needs --hoster');
  t.equal((await cli('dns', '--hoster', 'hoster', '--providers', folder, '--domain', 'not a domain')).code, 2);
  t.equal((await cli('dns', '--hoster', 'nobody', '--providers', folder)).code, 1);
  const noHosts = await cli('dns', '--hoster', 'hoster-example');
  t.equal(noHosts.code, 2, 'a provider without service hosts needs the public host');
  t.match(noHosts.stderr, /^provider hoster-example has no serviceHosts: give the public host/);
  const notListed = await cli('dns', 'kunde.test.example', '--providers', folder);
  t.equal(notListed.code, 1);
  t.match(notListed.stderr, 'a hoster\'s customer domain: mail-autoconfig dns --hoster <hoster> --domain kunde.test.example');
  const listed = await cli('dns', 'listed.test.example', '--providers', folder);
  t.match(listed.stdout, /^autoconfig\.listed\.test\.example\.\s+3600 IN CNAME autoconfig\.hoster\.example\.$/m, "a hoster's listed domain points at its first service host by default");
});

/** dnsmasq arguments that publish records as `dns --json` prints them (the service's address: 127.0.0.1). */
function dnsmasqRecords(records: readonly ZoneRecord[]): string[] {
  const bare = (name: string) => name.replace(/\.$/, '');
  return records.map(({ name, type, data }) => {
    const fields = data.split(' ');
    switch (type) {
      case 'A': return `--host-record=${bare(name)},${data.startsWith('<') ? '127.0.0.1' : data}`;
      case 'CNAME': return `--cname=${bare(name)},${bare(data)}`;
      case 'MX': return `--mx-host=${bare(name)},${bare(fields[1]!.replace('<name>', 'mx1'))},${fields[0]}`;
      case 'TXT': return `--txt-record=${bare(name)},${data.slice(1, -1)}`;
      case 'SRV': return fields[3] === '.' ? `--srv-host=${bare(name)}` : `--srv-host=${bare(name)},${bare(fields[3]!)},${fields[2]},${fields[0]},${fields[1]}`;
      default: throw new Error(`no dnsmasq form for ${type}`);
    }
  });
}

t.test('check --hoster: what dns --hoster prints, published, passes; a wrong customer and a wrong hoster are named row by row', { skip: dnsmasqMissing() }, async (t) => {
  const { spawnServe } = await import('./helpers/process.js');
  const folder = hosterFolder();
  const plan = JSON.parse((await cli('dns', '--hoster', 'hoster', '--providers', folder, '--domain', 'good.test.example', '--json')).stdout);
  const dns = await startDnsmasq(t, { zone: 'test.example', mx: [{ domain: 'bad.test.example', host: 'mail.elsewhere.example' }], ttl: 60, extraArguments: [
    '--auth-zone=hoster.example',
    ...dnsmasqRecords([...plan.once.records, ...plan.perDomain.records]),
    // bad.: its names point elsewhere.
    '--host-record=www.bad.test.example,192.0.2.8', '--cname=autoconfig.bad.test.example,www.bad.test.example',
    '--host-record=autodiscover.bad.test.example,192.0.2.7',
  ] });
  const server = await spawnServe(t, ['--providers', folder, '--port', '0', '--rate-limit', '0', '--dns-servers', dns.server]);
  const url = server.urls[0]!;
  const check = (...args: string[]) => cli('check', '--hoster', 'hoster', '--providers', folder, '--url', url, '--dns', dns.server, ...args);

  const once = await check();
  t.equal(once.code, 0, once.stdout);
  t.match(once.stdout, /^pass  DNS autoconfig\.hoster\.example\s+127\.0\.0\.1$/m);
  t.match(once.stdout, /^pass  Thunderbird autodiscover\.hoster\.example \(any address\)\s+2 servers, first imap sslmailpool\.hoster\.example:993 TLS$/m);
  t.match(once.stdout, /^pass  Thunderbird for Android autoconfig\.hoster\.example \(no address\)\s+2 servers, first imap sslmailpool\.hoster\.example:993 TLS$/m, "Android's MX step, without an address");
  t.match(once.stdout, /^pass  Thunderbird MX step, MX <name>\.mx\.hoster\.example\s+asks autoconfig\.mx\.hoster\.example, then autoconfig\.hoster\.example: autoconfig\.hoster\.example answers$/m);
  t.match(once.stdout, /^warn  certificates\s+not checked: --url is http/m);

  const good = await check('--domain', 'good.test.example');
  t.equal(good.code, 0, good.stdout);
  for (const row of [
    /^pass  MX of good\.test\.example\s+mx1\.mx\.hoster\.example: a host of provider hoster$/m,
    /^pass  Thunderbird MX step for good\.test\.example\s+asks autoconfig\.mx\.hoster\.example, then autoconfig\.hoster\.example: autoconfig\.hoster\.example answers$/m,
    /^pass  DNS autoconfig\.good\.test\.example\s+CNAME autoconfig\.hoster\.example$/m,
    /^pass  DNS autodiscover\.good\.test\.example\s+CNAME autoconfig\.hoster\.example$/m,
    /^pass  SRV _autodiscover\._tcp\.good\.test\.example\s+autoconfig\.hoster\.example:443$/m,
    /^pass  Thunderbird autoconfig\.good\.test\.example\s+2 servers/m,
  ]) t.match(good.stdout, row);
  const json = JSON.parse((await check('--domain', 'good.test.example', '--json')).stdout);
  t.match(json, { hoster: 'hoster', domain: 'good.test.example', rows: [{ check: 'DNS autoconfig.hoster.example', ok: true }] });

  // Listed, with nothing published: served, with warnings only.
  const listed = await check('--domain', 'listed.test.example');
  t.equal(listed.code, 0, listed.stdout);
  t.match(listed.stdout, /^warn  MX of listed\.test\.example\s+.*listed by provider hoster, which wins$/m);
  t.match(listed.stdout, /^warn  DNS autoconfig\.listed\.test\.example\s+no record: Thunderbird falls back to its MX step/m);

  const bad = await check('--domain', 'bad.test.example');
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^FAIL  MX of bad\.test\.example\s+mail\.elsewhere\.example, matching none of \*\.mx\.hoster\.example; not in the lists of provider hoster either$/m);
  t.match(bad.stdout, /^FAIL  DNS autoconfig\.bad\.test\.example\s+CNAME www\.bad\.test\.example: not a service host of provider hoster/m);
  t.match(bad.stdout, /^FAIL  DNS autodiscover\.bad\.test\.example\s+192\.0\.2\.7: not the addresses of a service host/m);
  t.match(bad.stdout, /^warn  SRV _autodiscover\._tcp\.bad\.test\.example\s+no record/m);
  t.match(bad.stdout, /^FAIL  Thunderbird autoconfig\.bad\.test\.example\s+HTTP 404: no mail provider is configured here for bad\.test\.example$/m);

  // The provider file the hoster thinks is deployed names a service host that neither resolves nor is served.
  const wrong = await cli('check', '--hoster', 'hoster', '--providers', hosterFolder('webmail.hoster.example'), '--url', url, '--dns', dns.server);
  t.equal(wrong.code, 1);
  t.match(wrong.stdout, /^FAIL  DNS webmail\.hoster\.example\s+does not resolve \(ENOTFOUND\): publish it \(mail-autoconfig dns --hoster hoster\)$/m);
  t.match(wrong.stdout, /^FAIL  Thunderbird webmail\.hoster\.example \(any address\)\s+HTTP (404|503)/m, "not a service host: the service looks for the probe address's domain");
  t.match(wrong.stdout, /^FAIL  Thunderbird MX step, MX <name>\.mx\.hoster\.example\s+asks autoconfig\.mx\.hoster\.example, then autoconfig\.hoster\.example: none is a service host of provider hoster; add autoconfig\.hoster\.example to serviceHosts/m);

  // A provider file other than the one deployed: the service host answers, with other settings.
  const stale = await cli('check', '--hoster', 'hoster', '--providers', hosterFolder('autoconfig.hoster.example', 'imap.old-cluster.hoster.example'), '--url', url, '--dns', dns.server);
  t.equal(stale.code, 1);
  t.match(stale.stdout, /^FAIL  Thunderbird autoconfig\.hoster\.example \(any address\)\s+another provider's settings \(first imap sslmailpool\.hoster\.example:993 TLS; provider hoster has imap\.old-cluster\.hoster\.example\)$/m);
  t.match(stale.stdout, /^FAIL  Thunderbird for Android autoconfig\.hoster\.example \(no address\)\s+another provider's settings \(first imap sslmailpool\.hoster\.example:993 TLS; provider hoster has imap\.old-cluster\.hoster\.example\)$/m);
  t.match(stale.stdout, /^FAIL  Thunderbird MX step, MX <name>\.mx\.hoster\.example\s+.*: autoconfig\.hoster\.example is a service host but does not answer as it should \(above\)$/m);

  // Servers named after the customer's domain: Android's MX step, which sends no address, cannot be answered.
  const perDomain = await cli('check', '--hoster', 'hoster', '--providers', hosterFolder('autoconfig.hoster.example', 'imap.%EMAILDOMAIN%'), '--url', url, '--dns', dns.server);
  t.match(perDomain.stdout, /^warn  Thunderbird for Android autoconfig\.hoster\.example \(no address\)\s+not answered: the servers of provider hoster name the customer's domain/m);

  // Over https the certificate of each service host is checked: Thunderbird's MX step asks over https only.
  const { makePki } = await import('./helpers/pki.js');
  const pki = makePki('p256', 30, ['autoconfig.hoster.example']);
  const secure = await spawnServe(t, ['--providers', folder, '--port', '0', '--https-port', '0', '--tls-cert', pki.chainFile, '--tls-key', pki.keyFile, '--rate-limit', '0', '--dns-servers', dns.server], {}, 2);
  const tls = await cliWith({ NODE_EXTRA_CA_CERTS: pki.rootFile }, 'check', '--hoster', 'hoster', '--providers', folder, '--url', secure.urls.find((u) => u.startsWith('https:'))!, '--dns', dns.server);
  t.equal(tls.code, 1, tls.stdout);
  t.match(tls.stdout, /^pass  Thunderbird autoconfig\.hoster\.example \(any address\)\s+2 servers/m);
  t.match(tls.stdout, /^FAIL  Thunderbird autodiscover\.hoster\.example \(any address\)\s+no answer: .*altnames/m, 'the certificate does not name it');
  t.match(tls.stdout, /^pass  Thunderbird MX step, MX <name>\.mx\.hoster\.example\s+.*autoconfig\.hoster\.example answers$/m);
  t.notMatch(tls.stdout, /certificates/, 'no "not checked" row over https');

  t.equal((await cli('check', 'a@example.com', '--hoster', 'hoster')).code, 2, 'an address or --hoster, not both');
  t.equal((await cli('check', '--domain', 'good.test.example')).code, 2, '--domain needs --hoster');
  t.equal((await cli('check', '--hoster', 'hoster', '--dns', 'ns.example')).code, 2, 'a DNS server is an address');
  t.equal((await cli('check', '--hoster', 'nobody', '--providers', folder)).code, 1);
});
