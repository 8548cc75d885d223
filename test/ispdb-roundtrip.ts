/**
 * Round trip over Thunderbird's whole ISPDB (../shared/ispdb, 163 files):
 * config-v1.1 → provider YAML (importer) → catalog → served config-v1.1.
 * The served document must carry the same servers, ports, socket types,
 * authentications and user names, in the same order, as the source.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildCatalog } from '../src/catalog/catalog.js';
import { formatProblem } from '../src/catalog/problems.js';
import { importConfigV11 } from '../src/importer/ispdb.js';
import { ISPDB_DIR, sharedMissing } from './helpers/shared.js';
import { parseXml, thunderbirdServers, type ServerView } from './helpers/xml.js';
import { request, startServer } from './helpers/server.js';

const skip = sharedMissing('ispdb');
const files = skip ? [] : readdirSync(ISPDB_DIR).filter((f) => f.endsWith('.xml')).sort();

/** What the source says, reduced to what our model can carry (see README, "Importing"). */
function expectedServers(xml: string, list: 'incomingServer' | 'outgoingServer', domain: string): ServerView[] {
  const provider = parseXml(xml.replace(/^\uFEFF/, '')).clientConfig.emailProvider;
  const first = Array.isArray(provider) ? provider[0] : provider;
  const auth: Record<string, string> = {
    'password-cleartext': 'password-cleartext', plain: 'password-cleartext', 'password-encrypted': 'password-encrypted',
    secure: 'password-encrypted', NTLM: 'NTLM', GSSAPI: 'GSSAPI', OAuth2: 'OAuth2', none: 'none',
  };
  const ports: Record<string, Record<string, number>> = { imap: { SSL: 993, STARTTLS: 143, plain: 143 }, pop3: { SSL: 995, STARTTLS: 110, plain: 110 } };
  const out: ServerView[] = [];
  for (const s of first[list] ?? []) {
    const type = s['@type'];
    if (list === 'incomingServer' ? !['imap', 'pop3'].includes(type) : type !== 'smtp') continue;
    if (!s.hostname || !['SSL', 'STARTTLS', 'plain'].includes(s.socketType)) continue;
    const methods = [...new Set((s.authentication as string[]).map((a) => auth[a]).filter((a): a is string => a !== undefined && !(a === 'none' && list === 'incomingServer')))];
    if (methods.length === 0) continue;
    let username = typeof s.username === 'string' ? s.username.replace(/%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)(?!%)/g, '%$1%') : '';
    // Not derivable: a hint in words (thunderbird.ts), unless there is no login at all.
    if (!/%EMAIL(ADDRESS|LOCALPART|DOMAIN)%/.test(username)) username = methods.every((m) => m === 'none') ? '' : 'Enter your user name';
    out.push({
      type,
      hostname: String(s.hostname).replaceAll('%EMAILDOMAIN%', domain).toLowerCase(),
      port: s.port ? Number(s.port) : ports[type]![s.socketType]!,
      socketType: s.socketType,
      authentication: methods,
      username,
    });
  }
  return out;
}

t.test('all ISPDB files import, validate, serve and round-trip', { skip }, async (t) => {
  t.equal(files.length, 163, 'the whole corpus is there');
  const taken = new Set<string>();
  const sources: { file: string; text: string }[] = [];
  const byId = new Map<string, string>();
  const notCarried = new Map<string, number>();
  for (const file of files) {
    const result = importConfigV11(readFileSync(join(ISPDB_DIR, file), 'utf8'), file, taken);
    t.ok(result.yaml, `${file} imports${result.error ? `: ${result.error}` : ''}`);
    if (!result.yaml || !result.id) continue;
    taken.add(result.id);
    byId.set(result.id, file);
    sources.push({ file: `${result.id}.yaml`, text: result.yaml });
    for (const line of result.notCarried) {
      // "incomingServer[3] type=ews: reason" → "incomingServer type=ews: reason"
      const kind = line.replace(/\[\d+\]/g, '').replace(/ "[^"]*"/g, '').replace(/: missing; the standard port \d+ is used/, ': missing; the standard port is used');
      notCarried.set(kind, (notCarried.get(kind) ?? 0) + 1);
    }
  }
  const catalog = buildCatalog(sources);
  t.same(catalog.problems.filter((p) => p.severity === 'error').map(formatProblem), [], 'the imported catalog is valid');
  t.equal(catalog.providers.length, 163);
  t.comment(`not carried over (kind of element: files):\n${[...notCarried].sort().map(([k, n]) => `  ${n} × ${k}`).join('\n')}`);

  const { url } = await startServer(t, { sources });
  let compared = 0;
  for (const provider of catalog.providers) {
    const file = byId.get(provider.id)!;
    const xml = readFileSync(join(ISPDB_DIR, file), 'utf8');
    const domain = provider.domains[0]!;
    const response = await request(`${url}/v1.1/${domain}`);
    t.equal(response.status, 200, `${file}: served`);
    const served = thunderbirdServers(response.text);
    const normalize = (list: ServerView[]) => list.map((s) => ({ ...s, hostname: s.hostname.toLowerCase() }));
    t.same(normalize(served.incoming), expectedServers(xml, 'incomingServer', domain), `${file}: incoming servers`);
    t.same(normalize(served.outgoing), expectedServers(xml, 'outgoingServer', domain), `${file}: outgoing servers`);
    compared++;
  }
  t.equal(compared, 163, 'every provider compared');
});
