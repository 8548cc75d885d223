/**
 * Real Thunderbird (Debian's package, driven headless by ../shared/tb-harness)
 * sets up accounts for a hoster's customer domains that point nothing but
 * their MX at the hoster: no autoconfig.<customer> name, no listing in the
 * YAML. Thunderbird's MX step then asks
 * https://autoconfig.<MX host minus its first label>/… and
 * https://autoconfig.<MX base domain>/… with ?emailaddress=, and the service
 * (`serve`, as operators run it, over HTTPS with a test CA) must answer:
 *
 * - A: on a service host (serviceHosts), for any address;
 * - B: on any of its names, when its own MX lookup of the customer domain
 *   (at a dnsmasq the test starts) matches the provider's mxPatterns; a
 *   domain whose MX is elsewhere gets no configuration, even when
 *   Thunderbird believes the MX is the hoster's.
 *
 * One Thunderbird start runs the three lookups.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { dnsmasqMissing, startDnsmasq } from '../helpers/dns-server.js';
import { makePki } from '../helpers/pki.js';
import { spawnServe } from '../helpers/process.js';
import { pick, runThunderbird, withThunderbird, type TbResult, type TbServer } from '../helpers/thunderbird.js';

/** A hoster whose service host answers for any address; it lists no customer domain. */
const SERVICE_HOST_YAML = `id: hoster
name: Hoster Webmail
serviceHosts: [autoconfig.hoster.example]
incoming:
  - { type: imap, host: imap.hoster.example, port: 143, socketType: starttls, username: "%EMAILLOCALPART%" }
outgoing:
  - { host: smtp.hoster.example, port: 465, socketType: ssl, authentication: password-encrypted }
`;

/** A hoster known only by its MX hosts: no service host, no domain list. */
const MX_PATTERN_YAML = `id: mailpool
name: Mailpool
mxPatterns: ["*.mx.mailpool.example"]
incoming:
  - { type: pop3, host: pop.mailpool.example, port: 995, socketType: ssl }
outgoing:
  - { host: relay.mailpool.example, port: 587, socketType: starttls, username: "%EMAILLOCALPART%.%EMAILDOMAIN%" }
`;

/** The names Thunderbird's MX step asks for those MX hosts; a hoster's certificate covers them, never a customer's. */
const HOSTER_NAMES = ['autoconfig.hoster.example', 'autoconfig.mx.hoster.example', 'autoconfig.mx.mailpool.example', 'autoconfig.mailpool.example'];

interface RequestLine { msg: string; method: string; path: string; host: string | null; domain: string | null; status: number; reason?: string }

async function main(t: Test): Promise<void> {
  const dns = await startDnsmasq(t, {
    zone: 'test.example',
    ttl: 300,
    mx: [
      { domain: 'kunde-sh.test.example', host: 'mx1.mx.hoster.example', preference: 10 },
      { domain: 'kunde-mx.test.example', host: 'mx1.mx.mailpool.example', preference: 10 },
      { domain: 'kunde-mx.test.example', host: 'mx2.mx.mailpool.example', preference: 20 },
      { domain: 'umgezogen.test.example', host: 'mail.other-isp.example', preference: 10 },
    ],
  });
  const folder = mkdtempSync(join(tmpdir(), 'tb-hosters-'));
  writeFileSync(join(folder, 'hoster.yaml'), SERVICE_HOST_YAML);
  writeFileSync(join(folder, 'mailpool.yaml'), MX_PATTERN_YAML);
  const pki = makePki('p256', 2, HOSTER_NAMES);
  const server = await spawnServe(t, [
    '--providers', folder, '--port', '0', '--https-port', '0', '--tls-cert', pki.chainFile, '--tls-key', pki.keyFile,
    '--rate-limit', '0', '--dns-servers', dns.server,
  ], {}, 2);
  const tlsUpstream = server.urls.find((u) => u.startsWith('https://'));
  if (tlsUpstream === undefined) throw new Error(`no HTTPS listener:\n${server.lines.join('\n')}`);

  // No http upstream and no ISPDB: the customer's own names do not lead to the
  // hoster (over HTTPS they reach a certificate without them), so only the MX
  // step can find a configuration.
  const jobs = [
    { mode: 'discover', email: 'Anna.Meier@kunde-sh.test.example', tlsUpstream, mx: ['mx1.mx.hoster.example'] },
    { mode: 'discover', email: 'bert@kunde-mx.test.example', tlsUpstream, mx: ['mx1.mx.mailpool.example', 'mx2.mx.mailpool.example'] },
    // Thunderbird is told the hoster's MX (a stale record, or a customer who
    // moved): the service goes by its own lookup, which says elsewhere.
    { mode: 'discover', email: 'carla@umgezogen.test.example', tlsUpstream, mx: ['mx1.mx.mailpool.example'] },
  ];
  const output = await runThunderbird(jobs, [pki.rootFile]);
  t.comment(`Thunderbird ${output.version}`);
  const [serviceHost, mxMatched, movedAway] = output.results as [TbResult, TbResult, TbResult];

  // The service writes its request log in batches; stopping it flushes them.
  server.process.kill('SIGTERM');
  await server.exited;
  const requests = server.lines.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as RequestLine;
      return parsed.msg === 'request' ? [parsed] : [];
    } catch {
      return [];
    }
  });
  for (const r of requests) t.comment(`service log: ${r.method} ${r.host} ${r.path} ${r.domain} ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
  /** What the service logged for `domain`, once it is checked to be the MX step's autoconfig URL and nothing else. */
  const askedFor = (t: Test, result: TbResult, domain: string): RequestLine[] => {
    t.comment(`Thunderbird asked over HTTPS for: ${result.proxyLog.filter((e) => e.method === 'CONNECT').map((e) => e.url).join(', ')}`);
    const lines = requests.filter((r) => r.domain === domain);
    t.ok(lines.length > 0 && lines.every((r) => r.method === 'GET' && r.path === '/mail/config-v1.1.xml'), 'the service was asked, and only the MX step\'s autoconfig URL');
    return lines;
  };

  const account = (t: Test, result: TbResult, want: { displayName: string; incoming: TbServer; outgoing: TbServer }) => {
    t.ok(result.ok, `Thunderbird found a configuration${result.error?.message ? `: ${result.error.message}` : ''}`);
    t.equal(result.discovery?.winner, 'forMX', 'it came from the MX step');
    t.equal(result.discovery?.lookups.forMX?.subSource, 'xml-from-isp-https', 'over HTTPS (the MX step asks nothing else)');
    for (const lookup of ['fromISP', 'fromDB'] as const) t.equal(result.discovery?.lookups[lookup]?.state, 'failed', `${lookup} found nothing (the customer's own names do not lead here)`);
    if (!result.config) return;
    t.equal(result.config.displayName, want.displayName, 'the provider that answered');
    t.same(pick(result.config.incoming), want.incoming, 'incoming: host, port, TLS, authentication and log-in name as the YAML says');
    t.same(pick(result.config.outgoing), want.outgoing, 'outgoing: host, port, TLS, authentication and log-in name as the YAML says');
    t.same((result.config.incomingAlternatives ?? []).filter((s) => s.type !== 'exchange' && s.type !== 'ews'), [], 'no other incoming server');
    t.same(result.config.outgoingAlternatives ?? [], [], 'no other outgoing server');
  };

  t.test('A: a customer domain served only through the service host, over HTTPS', async (t) => {
    account(t, serviceHost, {
      displayName: 'Hoster Webmail',
      incoming: { type: 'imap', hostname: 'imap.hoster.example', port: 143, socketType: 'alwaysSTARTTLS', auth: 'passwordCleartext', username: 'Anna.Meier' },
      outgoing: { type: 'smtp', hostname: 'smtp.hoster.example', port: 465, socketType: 'SSL', auth: 'passwordEncrypted', username: 'Anna.Meier@kunde-sh.test.example' },
    });
    // autoconfig.mx.hoster.example is no service host and hoster has no MX pattern: 404; autoconfig.hoster.example: 200.
    const answered = askedFor(t, serviceHost, 'kunde-sh.test.example').map((r) => `${r.status} ${r.host}`).sort();
    t.same(answered, ['200 autoconfig.hoster.example', '404 autoconfig.mx.hoster.example'], 'one answer, on the service host; the other name of the hoster finds nothing (the log names host and domain)');
  });

  t.test('B: a customer domain found by its MX through the provider\'s MX pattern', async (t) => {
    account(t, mxMatched, {
      displayName: 'Mailpool',
      incoming: { type: 'pop3', hostname: 'pop.mailpool.example', port: 995, socketType: 'SSL', auth: 'passwordCleartext', username: 'bert@kunde-mx.test.example' },
      outgoing: { type: 'smtp', hostname: 'relay.mailpool.example', port: 587, socketType: 'alwaysSTARTTLS', auth: 'passwordCleartext', username: 'bert.kunde-mx.test.example' },
    });
    t.ok(askedFor(t, mxMatched, 'kunde-mx.test.example').every((r) => r.status === 200), 'answered 200 on the hoster\'s names');
    t.ok(await dns.queries('kunde-mx.test.example') >= 1, 'after asking DNS for the customer domain\'s MX');
  });

  t.test('B: a customer domain whose MX is elsewhere gets no configuration', async (t) => {
    t.notOk(movedAway.ok, `Thunderbird found none (${movedAway.error?.message ?? ''})`);
    t.equal(movedAway.discovery?.winner, null, 'no lookup won');
    t.equal(movedAway.discovery?.lookups.forMX?.state, 'failed', 'the MX step found nothing');
    t.ok(askedFor(t, movedAway, 'umgezogen.test.example').every((r) => r.status === 404), 'answered 404 on each of the hoster\'s names');
    t.ok(await dns.queries('umgezogen.test.example') >= 1, 'after asking DNS for the domain\'s MX');
  });
}

withThunderbird('real Thunderbird sets up hosted customer domains by their MX', main, dnsmasqMissing());
