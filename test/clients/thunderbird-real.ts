/**
 * Real Thunderbird (Debian's package, driven headless by ../shared/tb-harness)
 * looks up every bundled provider, and one provider per restriction, through
 * every lookup path (ISPDB, autoconfig over HTTP and HTTPS, Autodiscover):
 * it must derive a complete account as the provider YAML says (servers, TLS
 * modes, log-in names) or find no configuration, never half of one. One
 * Thunderbird start serves the whole batch.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Provider, Server } from '../../src/catalog/model.js';
import { fillTemplate, parseAddress, type Mailbox } from '../../src/mailbox.js';
import { capabilities, thunderbirdAutodiscoverMethod } from '../../src/clients/capabilities.js';
import { BUNDLED_PROVIDERS_DIR } from '../../src/paths.js';
import { buildApp } from '../../src/server/app.js';
import { makePki } from '../helpers/pki.js';
import { request, startServer } from '../helpers/server.js';
import { figure } from '../helpers/figures.js';
import { pick, runThunderbird, withThunderbird, type TbServer } from '../helpers/thunderbird.js';

const SOCKET: Record<string, string> = { ssl: 'SSL', starttls: 'alwaysSTARTTLS', plain: 'plain' };
const AUTH: Record<string, string> = {
  'password-cleartext': 'passwordCleartext', 'password-encrypted': 'passwordEncrypted', ntlm: 'NTLM', gssapi: 'GSSAPI', oauth2: 'OAuth2', none: 'none',
};
/** What Thunderbird writes when it was given an empty, missing or blank user name (its JXON). */
const MADE_UP = new Set(['true', 'undefined', 'NaN', '']);
/** The user name a provider that cannot derive it sends Thunderbird, in the language the harness's Thunderbird asks for. */
const HINT = 'Enter your user name';

/**
 * Providers with each restriction a client can stumble over: every client
 * must get a complete account or none (issue: no half accounts).
 */
const RESTRICTED = [
  ['oauth2-only', 'authentication: oauth2\nincoming:\n  - { type: imap, host: imap.oauth2-only.example }\noutgoing:\n  - { host: smtp.oauth2-only.example }'],
  ['cram-smtp', 'incoming:\n  - { type: imap, host: imap.cram-smtp.example }\noutgoing:\n  - { host: smtp.cram-smtp.example, port: 587, socketType: starttls, authentication: password-encrypted }'],
  ['ntlm-only', 'authentication: ntlm\nincoming:\n  - { type: imap, host: imap.ntlm-only.example }\noutgoing:\n  - { host: smtp.ntlm-only.example }'],
  ['gssapi-only', 'authentication: gssapi\nincoming:\n  - { type: imap, host: imap.gssapi-only.example }\noutgoing:\n  - { host: smtp.gssapi-only.example }'],
  ['plain-allowed', 'allowInsecureTransport: true\nincoming:\n  - { type: imap, host: imap.plain-allowed.example, socketType: plain }\noutgoing:\n  - { host: smtp.plain-allowed.example, port: 25, socketType: plain }'],
  ['starttls-only', 'incoming:\n  - { type: imap, host: imap.starttls-only.example, socketType: starttls }\noutgoing:\n  - { host: smtp.starttls-only.example, socketType: starttls }'],
].map(([id, body]) => ({ file: `${id}.yaml`, text: `id: ${id}\nname: ${id}\ndomains: [${id}.example]\n${body}\n` }));

/**
 * The servers Thunderbird should take from config-v1.1: OAuth2 it has only
 * for its built-in providers (none of ours), so it drops a server that has
 * no other method, and takes the first other one of those that have.
 */
function fromAutoconfig(servers: readonly Server[]): { server: Server; auth: string }[] {
  return servers.flatMap((server) => {
    const method = server.authentication.find((m) => m !== 'oauth2');
    return method === undefined ? [] : [{ server, auth: AUTH[method]! }];
  });
}

/** What Thunderbird's Autodiscover reader should take: our Thunderbird variant (SPA on is its "secure" method). */
function fromAutodiscover(servers: readonly Server[]): { server: Server; auth: string }[] {
  return servers.map((server) => {
    const method = thunderbirdAutodiscoverMethod(server)!;
    return { server, auth: method === 'password-cleartext' ? 'passwordCleartext' : method === 'none' ? 'none' : 'secure' };
  });
}

/** What Thunderbird should derive for one server of the YAML. */
function expected({ server, auth }: { server: Server; auth: string }, domain: string, mailbox: Mailbox | undefined, path: 'autoconfig' | 'exchange'): TbServer {
  let username: string;
  if (server.username === null) username = HINT;
  else if (path === 'exchange' && !mailbox) username = '%EMAILADDRESS%';
  else username = mailbox ? fillTemplate(server.username, mailbox) : server.username;
  return {
    type: server.protocol,
    hostname: server.host.replaceAll('%EMAILDOMAIN%', domain),
    port: server.port,
    socketType: SOCKET[server.socketType]!,
    auth,
    username,
  };
}

interface Lookup {
  job: Record<string, unknown>;
  provider: Provider;
  domain: string;
  mailbox?: Mailbox;
  path: 'autoconfig' | 'exchange';
  label: string;
}

/** Every name a client asks for the providers' domains, for the test certificate. */
function serviceNames(providers: readonly Provider[]): string[] {
  return providers.flatMap((p) => p.domains.flatMap((d) => [`autoconfig.${d}`, `autodiscover.${d}`, d]));
}

async function main(t: Test): Promise<void> {
  const bundled = readdirSync(BUNDLED_PROVIDERS_DIR).filter((f) => f.endsWith('.yaml')).map((file) => ({ file, text: readFileSync(join(BUNDLED_PROVIDERS_DIR, file), 'utf8') }));
  const { url, port, catalog } = await startServer(t, { sources: [...bundled, ...RESTRICTED] });
  const upstream = `http://127.0.0.1:${port}`;
  // The same service over HTTPS, with a certificate for every name from a CA Thunderbird is told to trust.
  const pki = makePki('p256', 2, serviceNames(catalog.providers));
  const secure = await buildApp({ catalog: () => catalog, identifierPrefix: 'org.example.tb' }, { https: { cert: pki.chainPem, key: pki.keyPem } });
  await secure.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => secure.close());
  const tlsUpstream = `https://127.0.0.1:${(secure.server.address() as { port: number }).port}`;

  const lookups: Lookup[] = [];
  for (const provider of catalog.providers) {
    for (const domain of provider.domains) {
      lookups.push({ job: { mode: 'ispdb', ispdbUrl: `${upstream}/v1.1/`, domain }, provider, domain, path: 'autoconfig', label: `ISPDB ${domain}` });
      // The harness always sends ?emailaddress= on the ISP path (Thunderbird's
      // default); the form without it (Android, KMail) is fetched here by Host
      // and handed to Thunderbird's own parser.
      const generic = await request(`${url}/mail/config-v1.1.xml`, { host: `autoconfig.${domain}` });
      lookups.push({ job: { mode: 'xml', xml: generic.text }, provider, domain, path: 'autoconfig', label: `autoconfig.${domain} without emailaddress` });
      for (const local of ['alice', 'Bob.Smith']) {
        const parsed = parseAddress(`${local}@${domain}`);
        if (!parsed.ok) throw new Error(parsed.reason);
        const mailbox = parsed.value;
        lookups.push({ job: { mode: 'isp', upstream, email: mailbox.address }, provider, domain, mailbox, path: 'autoconfig', label: `http://autoconfig.${domain} ?emailaddress=${mailbox.address}` });
        lookups.push({ job: { mode: 'isp', tlsUpstream, email: mailbox.address }, provider, domain, mailbox, path: 'autoconfig', label: `https://autoconfig.${domain} ?emailaddress=${mailbox.address}` });
        lookups.push({ job: { mode: 'exchange', upstream, email: mailbox.address }, provider, domain, mailbox, path: 'exchange', label: `Autodiscover ${mailbox.address}` });
      }
    }
  }

  // The suite's own check: deliberately wrong answers must make it fail.
  const broken = await startBrokenUpstream(t, upstream);
  const selfTests = [
    { job: { mode: 'ispdb', ispdbUrl: `${broken}/wrong-content-type/v1.1/`, domain: 'example.com' }, label: 'served as text/plain' },
    { job: { mode: 'ispdb', ispdbUrl: `${broken}/socket-type-tls/v1.1/`, domain: 'example.com' }, label: 'socketType written as TLS' },
  ];

  const started = Date.now();
  const output = await runThunderbird([...lookups.map((l) => l.job), ...selfTests.map((s) => s.job)], [pki.rootFile]);
  t.comment(`Thunderbird ${output.version}: ${output.results.length} lookups in ${Date.now() - started} ms`);
  const results = output.results.slice(0, lookups.length);
  const selfResults = output.results.slice(lookups.length);

  const outcomes = { complete: 0, none: 0, wrong: 0 };
  lookups.forEach((lookup, i) => {
    const result = results[i]!;
    t.test(lookup.label, async (t) => {
      const take = lookup.path === 'exchange' ? fromAutodiscover : fromAutoconfig;
      const usable = lookup.path === 'exchange' ? capabilities(lookup.provider).thunderbirdAutodiscover : undefined;
      const incoming = usable ? (usable.missing ? [] : take(usable.incoming)) : take(lookup.provider.incoming);
      const outgoing = usable ? (usable.missing ? [] : take(usable.outgoing)) : take(lookup.provider.outgoing);
      if (incoming.length === 0 || outgoing.length === 0) {
        // A complete account cannot be had this way: Thunderbird must find none.
        t.notOk(result.ok, `no configuration, never half of one${result.config ? `: got ${JSON.stringify(result.config.outgoing ?? null)}` : ''}`);
        if (result.ok) outcomes.wrong++;
        else outcomes.none++;
        return;
      }
      t.ok(result.ok, `Thunderbird accepted it${result.error?.message ? `: ${result.error.message}` : ''}`);
      if (!result.config) return void outcomes.wrong++;
      const want = (list: typeof incoming) => list.map((s) => expected(s, lookup.domain, lookup.mailbox, lookup.path));
      const got = {
        incoming: [result.config.incoming, ...(result.config.incomingAlternatives ?? [])].filter((s) => s.type !== 'exchange' && s.type !== 'ews').map(pick),
        outgoing: [result.config.outgoing, ...(result.config.outgoingAlternatives ?? [])].filter((s) => s && s.hostname).map(pick),
      };
      let same = true;
      for (const direction of ['incoming', 'outgoing'] as const) {
        const servers = want(direction === 'incoming' ? incoming : outgoing);
        t.same(got[direction], servers, `${direction}: the provider's servers, TLS modes and log-in names, in order`);
        for (const server of got[direction]) t.notOk(MADE_UP.has(server.username), `${direction} ${server.hostname}: no made-up user name (${JSON.stringify(server.username)})`);
        if (JSON.stringify(got[direction]) !== JSON.stringify(servers)) same = false;
      }
      if (same) outcomes.complete++;
      else outcomes.wrong++;
    });
  });

  t.test('the suite fails on deliberately wrong answers', async (t) => {
    selfTests.forEach((self, i) => {
      t.notOk(selfResults[i]!.ok, `${self.label}: Thunderbird finds no usable configuration (${selfResults[i]!.error?.message ?? ''})`);
    });
  });

  t.test('summary', async (t) => {
    // The line CI and people read.
    const line = `Thunderbird lookups: ${lookups.length}; complete accounts as the YAML says: ${outcomes.complete}, no configuration where none can be complete: ${outcomes.none}, anything else: ${outcomes.wrong}`;
    t.comment(line);
    figure(line);
    t.equal(outcomes.wrong, 0, 'every lookup gave a complete account or none');
  });
}

/** Our answers, made wrong on purpose (content type, socket type). */
async function startBrokenUpstream(t: Test, upstream: string): Promise<string> {
  const server = createServer(async (req, res) => {
    const [, kind, ...rest] = (req.url ?? '').split('/');
    const answer = await request(`${upstream}/${rest.join('/')}`);
    if (kind === 'wrong-content-type') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(answer.body);
    } else {
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(answer.text.replaceAll('<socketType>SSL</socketType>', '<socketType>TLS</socketType>').replaceAll('<socketType>STARTTLS</socketType>', '<socketType>TLS</socketType>'));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

withThunderbird('real Thunderbird looks up every bundled provider', main);
