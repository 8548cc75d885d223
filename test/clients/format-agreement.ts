/**
 * Rules of clients that cannot run here, as executable checks, and the
 * agreement of the three formats, over the bundled providers and the whole
 * imported ISPDB corpus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import * as plist from 'plist';
import { buildCatalog, Catalog, loadCatalog } from '../../src/catalog/catalog.js';
import { appleAnswer } from '../../src/answers/apple.js';
import type { Answer, Exchange } from '../../src/answers/exchange.js';
import { outlookPost } from '../../src/answers/outlook.js';
import { thunderbirdByRequest } from '../../src/answers/thunderbird.js';
import type { Provider } from '../../src/catalog/model.js';
import { capabilities } from '../../src/clients/capabilities.js';
import { renderApple } from '../../src/formats/apple.js';
import { renderOutlook } from '../../src/formats/outlook.js';
import { renderThunderbird } from '../../src/formats/thunderbird.js';
import { importConfigV11 } from '../../src/importer/ispdb.js';
import { parseAddress, normalizeDomain } from '../../src/mailbox.js';
import { BUNDLED_PROVIDERS_DIR } from '../../src/paths.js';
import { ISPDB_DIR, sharedMissing } from '../helpers/shared.js';
import { parseXml } from '../helpers/xml.js';

async function allProviders(): Promise<Provider[]> {
  const bundled = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
  const taken = new Set<string>();
  const missing = sharedMissing('ispdb');
  // Without the corpus: the bundled providers only.
  if (missing) t.comment(missing);
  const sources = (missing ? [] : readdirSync(ISPDB_DIR)).filter((f) => f.endsWith('.xml')).sort().flatMap((file) => {
    const result = importConfigV11(readFileSync(join(ISPDB_DIR, file), 'utf8'), file, taken);
    if (!result.id || !result.yaml) return [];
    taken.add(result.id);
    return [{ file: `${result.id}.yaml`, text: result.yaml }];
  });
  return [...bundled.providers, ...buildCatalog(sources).providers];
}

const providers = await allProviders();

/**
 * Thunderbird for Android's parser (RealAutoconfigParser.kt, research notes
 * thunderbird.md §3): it reads imap and smtp entries only, rejects the whole
 * document for a plain or unknown socketType, a bad host or port, a missing
 * username, or no usable authentication, and uses the first entry of each.
 */
function androidVerdict(xml: string): string[] {
  const problems: string[] = [];
  const provider = parseXml(xml).clientConfig.emailProvider;
  if (normalizeDomain(String(provider['@id'])) === null) problems.push('emailProvider id is not a host name');
  if (!provider.domain?.length) problems.push('no <domain>');
  const imap = (provider.incomingServer ?? []).filter((s: any) => s['@type'] === 'imap');
  const smtp = (provider.outgoingServer ?? []).filter((s: any) => s['@type'] === 'smtp');
  if (imap.length === 0) problems.push('no IMAP server (Android supports IMAP only)');
  if (smtp.length === 0) problems.push('no SMTP server');
  for (const s of [...imap, ...smtp]) {
    if (!['SSL', 'STARTTLS'].includes(s.socketType)) problems.push(`socketType ${s.socketType} rejects the whole document`);
    if (!/^[0-9]+$/.test(String(s.port)) || Number(s.port) > 65535) problems.push('bad port');
    if (typeof s.hostname !== 'string' || normalizeDomain(s.hostname) === null) problems.push('bad hostname');
    if (s.username === undefined) problems.push('missing username');
    if (!s.authentication.some((a: string) => ['OAuth2', 'password-cleartext', 'password-encrypted'].includes(a))) problems.push('no usable authentication');
  }
  return problems;
}

t.test('Thunderbird for Android accepts every document whose provider allows it', async (t) => {
  let accepted = 0;
  const named: string[] = [];
  for (const provider of providers) {
    const domain = provider.domains[0]!;
    const problems = androidVerdict(renderThunderbird(provider, domain).toString());
    const hasImap = provider.incoming.some((s) => s.protocol === 'imap');
    const ntlmOnly = [...provider.incoming, ...provider.outgoing].some((s) => s.authentication.every((a) => a === 'ntlm' || a === 'gssapi'));
    if (provider.allowInsecureTransport || !hasImap || ntlmOnly) {
      // The documented cases: plain servers (the provider opted in), POP3-only
      // providers and NTLM-only servers cannot work on Android.
      named.push(`${provider.id}: ${problems.join('; ') || 'accepted'}`);
      continue;
    }
    t.same(problems, [], `${provider.id}: accepted by Thunderbird for Android's rules`);
    accepted++;
  }
  t.comment(`${accepted} providers accepted; ${named.length} named cases Android cannot use:\n  ${named.join('\n  ')}`);
});

t.test('Thunderbird, Outlook and Apple describe the same servers, ports and TLS modes', async (t) => {
  const tls = (socketType: string) => (socketType === 'SSL' || socketType === 'ssl' ? 'implicit' : socketType === 'STARTTLS' || socketType === 'starttls' ? 'starttls' : 'none');
  let appleRefused = 0;
  let outlookReduced = 0;
  for (const provider of providers) {
    const parsed = parseAddress(`someone@${provider.domains[0]}`);
    if (!parsed.ok) throw new Error(parsed.reason);
    const mailbox = parsed.value;
    const tb = parseXml(renderThunderbird(provider, mailbox.domain, mailbox).toString()).clientConfig.emailProvider;
    const tbServers = [...tb.incomingServer, ...tb.outgoingServer].map((s: any) => `${s['@type']} ${s.hostname}:${s.port} ${tls(s.socketType)}`);

    // Outlook: the same servers, in the same order, minus those it cannot use (OAuth2/CRAM-MD5 only).
    const { incoming: outlookIncoming, outgoing: outlookOutgoing } = capabilities(provider).outlook;
    const usable = [...outlookIncoming, ...outlookOutgoing];
    if (usable.length < provider.incoming.length + provider.outgoing.length) outlookReduced++;
    if (capabilities(provider).outlook.missing === undefined) {
      const account = parseXml(renderOutlook(provider, mailbox.domain, mailbox).toString()).Autodiscover.Response.Account;
      const outlook = account.Protocol.map((p: any) => `${p.Type.toLowerCase()} ${p.Server}:${p.Port} ${p.Encryption === 'SSL' && p.SSL === 'on' ? 'implicit' : p.Encryption === 'TLS' && p.SSL === 'off' ? 'starttls' : 'none'}`);
      const expected = usable.map((s) => `${s.protocol} ${s.host.replaceAll('%EMAILDOMAIN%', mailbox.domain)}:${s.port} ${tls(s.socketType)}`);
      t.same(outlook, expected, `${provider.id}: Outlook`);
      t.ok(outlook.every((entry: string) => tbServers.includes(entry)), `${provider.id}: every Outlook server is in the Thunderbird document`);
    }

    // Apple: one incoming and one outgoing server, each one of the Thunderbird document's.
    const choice = capabilities(provider).apple;
    if (!choice.ok) {
      appleRefused++;
      t.ok(provider.incoming.every((s) => s.authentication.every((a) => a === 'oauth2' || a === 'gssapi')) || provider.outgoing.every((s) => s.authentication.every((a) => a === 'oauth2' || a === 'gssapi')), `${provider.id}: no profile only when a direction is OAuth2/GSSAPI-only`);
      continue;
    }
    const profile = (plist.parse(renderApple(provider, mailbox, choice.servers, { identifierPrefix: 'org.example.test' }).toString()) as any).PayloadContent[0];
    const appleIncoming = `${profile.EmailAccountType === 'EmailTypeIMAP' ? 'imap' : 'pop3'} ${profile.IncomingMailServerHostName}:${profile.IncomingMailServerPortNumber}`;
    const appleOutgoing = `smtp ${profile.OutgoingMailServerHostName}:${profile.OutgoingMailServerPortNumber}`;
    const inTb = (entry: string, useSsl: boolean) => tbServers.some((s) => s.startsWith(`${entry} `) && (s.endsWith(' none') ? !useSsl : useSsl));
    t.ok(inTb(appleIncoming, profile.IncomingMailServerUseSSL), `${provider.id}: Apple incoming ${appleIncoming} is a Thunderbird server with the same TLS`);
    t.ok(inTb(appleOutgoing, profile.OutgoingMailServerUseSSL), `${provider.id}: Apple outgoing ${appleOutgoing} is a Thunderbird server with the same TLS`);
  }
  t.comment(`${providers.length} providers; Apple profile refused (OAuth2 only) for ${appleRefused}; Outlook left out servers it cannot use for ${outlookReduced}`);
});

/** An exchange as a transport would build it. */
function exchange(query: Record<string, string>, headers: Record<string, string> = {}, body?: string): Exchange {
  return { method: body === undefined ? 'GET' : 'POST', query, host: 'example.com', secure: true, headers, tail: undefined, body };
}
const POX = (address: string) =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
const READERS = {
  Outlook: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)',
  "Thunderbird's Autodiscover reader": 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Thunderbird/153.8.0',
};
/** User names clients make of an empty or blank element (Thunderbird's JXON), or none at all. */
const BROKEN_USERNAME = (name: unknown) => typeof name !== 'string' || name.trim() === '' || name !== name.trim();

t.test('every client gets a complete account or a refusal, never half of one', async (t) => {
  const counts = { complete: 0, refused: 0 };
  for (const provider of providers) {
    const context = { catalog: () => new Catalog([provider], [], []), identifierPrefix: 'org.example.test' };
    const address = `someone@${provider.domains[0]}`;
    const complete = (client: string, incoming: unknown[], outgoing: unknown[]) => {
      t.ok(incoming.length > 0 && outgoing.length > 0, `${provider.id}, ${client}: a server in each direction`);
      counts.complete++;
    };
    const refused = (client: string, answer: Answer) => {
      t.ok(answer.status >= 400 && answer.status !== 401, `${provider.id}, ${client}: refused with ${answer.status} (never 401)`);
      counts.refused++;
    };

    // Thunderbird (and Android, KMail, Evolution): config-v1.1 can name every method.
    const tb = await thunderbirdByRequest(context, exchange({ emailaddress: address }));
    const doc = parseXml(tb.body.toString()).clientConfig.emailProvider;
    complete('Thunderbird', doc.incomingServer ?? [], doc.outgoingServer ?? []);
    for (const server of [...(doc.incomingServer ?? []), ...(doc.outgoingServer ?? [])]) {
      if (server.authentication.some((a: string) => a !== 'none')) t.notOk(BROKEN_USERNAME(server.username), `${provider.id}: a user name Thunderbird keeps as sent (${JSON.stringify(server.username)})`);
    }

    for (const [reader, userAgent] of Object.entries(READERS)) {
      const answer = await outlookPost(context, exchange({}, { "user-agent": userAgent }, POX(address)));
      if (answer.status !== 200) {
        refused(reader, answer);
        continue;
      }
      const protocols = parseXml(answer.body.toString()).Autodiscover.Response.Account.Protocol as { Type: string; SSL: string; Encryption: string; Port: string }[];
      complete(reader, protocols.filter((p) => p.Type !== 'SMTP'), protocols.filter((p) => p.Type === 'SMTP'));
      if (reader !== 'Outlook') {
        // What Thunderbird reads: SSL off is plain text; else STARTTLS exactly on 143/110/25/587.
        for (const p of protocols) {
          const read = p.SSL === 'off' ? 'plain' : ['143', '110', '25', '587'].includes(p.Port) ? 'starttls' : 'ssl';
          const meant = p.Encryption === 'None' ? 'plain' : p.Encryption === 'TLS' ? 'starttls' : 'ssl';
          t.equal(read, meant, `${provider.id}: Thunderbird reads ${p.Type} ${p.Port} as meant`);
        }
      }
    }

    const apple = await appleAnswer(context)(exchange({ emailaddress: address }));
    if (apple.status !== 200) refused('Apple Mail', apple);
    else {
      const mail = (plist.parse(apple.body.toString()) as any).PayloadContent[0];
      complete('Apple Mail', [mail.IncomingMailServerHostName].filter(Boolean), [mail.OutgoingMailServerHostName].filter(Boolean));
    }
  }
  t.comment(`${providers.length} providers × 4 clients: ${counts.complete} complete accounts, ${counts.refused} refusals`);
});
