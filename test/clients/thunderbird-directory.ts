/**
 * Real Thunderbird (Debian's package, driven headless by ../shared/tb-harness)
 * configures an account whose log-in name comes from the provider's LDAP
 * directory (a real slapd on loopback), through autoconfig and through its
 * Autodiscover reader; Outlook's and Apple's answers for the same address
 * carry the same name. A name Thunderbird's JXON would alter reaches it as
 * the hint in words, never altered.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as plist from 'plist';
import { spawnServe } from '../helpers/process.js';
import { request } from '../helpers/server.js';
import { PEOPLE, person, slapdMissing, startSlapd } from '../helpers/slapd.js';
import { runThunderbird, withThunderbird, type TbResult } from '../helpers/thunderbird.js';

withThunderbird('Thunderbird takes the log-in name the directory gives; Outlook and Apple get the same', async (t) => {
  const slapd = await startSlapd(t);
  await slapd.add([person('u100', ['alice@kunde.example'], 'Alice Smith'), person('012345', ['carol@kunde.example'])].join('\n'));
  const folder = mkdtempSync(join(tmpdir(), 'tb-directory-'));
  writeFileSync(join(folder, 'ldap-password'), slapd.bindPassword, { mode: 0o600 });
  writeFileSync(join(folder, 'kunde.yaml'), `id: kunde
name: { en: Kunde Hosting }
shortName: Kunde
domains: [kunde.example]
username: ask
incoming:
  - { type: imap, host: imap.hoster.example }
outgoing:
  - { host: smtp.hoster.example }
lookup:
  ldap:
    url: ${slapd.url}
    bindDn: ${slapd.bindDn}
    passwordFile: ldap-password
    baseDn: ${PEOPLE}
    filter: (mail=%EMAILADDRESS%)
    loginAttribute: uid
    displayNameAttribute: displayName
`);
  const url = (await spawnServe(t, ['--providers', folder, '--port', '0', '--rate-limit', '0'])).urls[0]!;

  const jobs = [
    { mode: 'isp', upstream: url, email: 'alice@kunde.example' },
    { mode: 'exchange', upstream: url, email: 'alice@kunde.example' },
    { mode: 'isp', upstream: url, email: 'carol@kunde.example' },
    { mode: 'isp', upstream: url, email: 'nobody@kunde.example' },
  ];
  const output = await runThunderbird(jobs);
  t.comment(`Thunderbird ${output.version}`);
  const [autoconfig, autodiscover, zero, nobody] = output.results;
  const names = (result: TbResult | undefined) => [result?.config?.incoming.username, result?.config?.outgoing.username];

  t.ok(autoconfig?.ok, `autoconfig: a configuration (${autoconfig?.error?.message ?? 'ok'})`);
  t.same(names(autoconfig), ['u100', 'u100'], 'autoconfig: Thunderbird logs in as the directory says, in and out');
  t.same(autodiscover?.config?.incoming.hostname, 'imap.hoster.example', 'Autodiscover: the provider\'s server');
  t.same(names(autodiscover), ['u100', 'u100'], 'Autodiscover: the same log-in name');
  t.same(names(zero), ['Enter your user name', 'Enter your user name'], '012345 would arrive as 12345: the hint in words instead');
  t.same(names(nobody), ['Enter your user name', 'Enter your user name'], 'not in the directory: as without a lookup');

  const outlook = await request(`${url}/autodiscover/autodiscover.xml`, {
    method: 'POST',
    host: 'autodiscover.kunde.example',
    headers: { 'content-type': 'text/xml' },
    body: '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@kunde.example</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>',
  });
  t.same([...outlook.text.matchAll(/<LoginName>([^<]*)<\/LoginName>/g)].map((m) => m[1]), ['u100', 'u100'], 'Outlook: the same LoginName');
  const apple = plist.parse((await request(`${url}/mobileconfig?emailaddress=alice%40kunde.example`, { host: 'kunde.example' })).text) as { PayloadContent: Record<string, unknown>[] };
  const mail = apple.PayloadContent.find((p) => p.PayloadType === 'com.apple.mail.managed')!;
  t.same([mail.IncomingMailServerUsername, mail.OutgoingMailServerUsername], ['u100', 'u100'], 'Apple: the same user names');
}, slapdMissing());
