/**
 * Import of Thunderbird/ISPDB config-v1.1 XML into provider YAML. Whatever
 * cannot be carried over is reported, element by element, with the reason.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { stringify } from 'yaml';
import { normalizeDomain, PLACEHOLDERS } from '../mailbox.js';
import { defaultPort, type Authentication, type SocketType } from '../catalog/model.js';

export interface ImportResult {
  /** The provider id (and file stem) chosen for the YAML. */
  readonly id?: string;
  /** The YAML text; absent when nothing usable could be imported. */
  readonly yaml?: string;
  /** What could not be carried over, and why (one line each). */
  readonly notCarried: readonly string[];
  /** Why the file could not be imported at all. */
  readonly error?: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  processEntities: true,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  isArray: (name) => ['emailProvider', 'domain', 'incomingServer', 'outgoingServer', 'authentication', 'documentation', 'instruction', 'descr', 'enable', 'loginPage'].includes(name),
});

type Node = Record<string, unknown>;

const AUTH_MAP: Record<string, Authentication> = {
  'password-cleartext': 'password-cleartext',
  plain: 'password-cleartext',
  'password-encrypted': 'password-encrypted',
  secure: 'password-encrypted',
  NTLM: 'ntlm',
  GSSAPI: 'gssapi',
  OAuth2: 'oauth2',
  none: 'none',
};

const SOCKET_MAP: Record<string, SocketType> = { SSL: 'ssl', STARTTLS: 'starttls', plain: 'plain' };

/** Elements of a server we read; anything else is reported. */
const SERVER_KEYS = new Set(['@type', 'hostname', 'port', 'socketType', 'authentication', 'username', 'pop3']);
const PROVIDER_KEYS = new Set(['@id', 'domain', 'displayName', 'displayShortName', 'incomingServer', 'outgoingServer', 'documentation', 'instruction', 'enable']);

/** Notes what could not be carried over, element by element. */
type Skip = (what: string, why: string) => void;

/**
 * Convert one config-v1.1 document. `fileName` names things in messages and
 * gives the id when the document's own id is unusable or already in `takenIds`
 * (ISPDB has several files with id="zoho.com").
 */
export function importConfigV11(xml: string, fileName: string, takenIds: ReadonlySet<string> = new Set()): ImportResult {
  const notCarried: string[] = [];
  const skip: Skip = (what, why) => void notCarried.push(`${what}: ${why}`);
  const text = xml.replace(/^\uFEFF/, '');
  if (XMLValidator.validate(text) !== true) return { notCarried, error: 'not well-formed XML' };
  const root = (parser.parse(text) as Node).clientConfig as Node | undefined;
  const providers = root?.emailProvider as Node[] | undefined;
  if (!root || !providers || providers.length === 0) return { notCarried, error: 'no clientConfig/emailProvider element' };
  if (providers.length > 1) skip('emailProvider (all but the first)', 'one provider per file');
  const source = providers[0]!;

  for (const key of Object.keys(source)) {
    if (!PROVIDER_KEYS.has(key)) skip(`emailProvider/${key}`, reasonForProviderElement(key));
  }
  const domains = importDomains(source, skip);
  if (domains.length === 0) return { notCarried, error: 'no valid <domain>' };
  const id = chooseId(source, fileName, domains[0]!, takenIds, skip);

  const pop3Options: Record<string, unknown> = {};
  const incoming = importServers(source, 'incomingServer', skip, pop3Options);
  const outgoing = importServers(source, 'outgoingServer', skip, pop3Options);
  if (incoming.length === 0) return { notCarried, error: 'no IMAP or POP3 server that can be carried over' };
  if (outgoing.length === 0) return { notCarried, error: 'no SMTP server that can be carried over' };

  const provider: Record<string, unknown> = { id, ...importNames(source, domains[0]!, skip) };
  provider.domains = domains;
  if ([...incoming, ...outgoing].some((server) => server.socketType === 'plain')) provider.allowInsecureTransport = true;
  // Most servers share one user name: write it once, as the provider default.
  hoistCommon(provider, [...incoming, ...outgoing], 'username', '%EMAILADDRESS%');
  provider.incoming = incoming;
  provider.outgoing = outgoing;
  if (Object.keys(pop3Options).length > 0) provider.pop3 = pop3Options;

  const documentation = [
    ...(((source.documentation as Node[] | undefined) ?? []).map((d) => importDocumentation(d, 'documentation', skip))),
    ...(((source.instruction as Node[] | undefined) ?? []).map((d) => importDocumentation(d, 'instruction', skip))),
  ].filter((d): d is { url: string; description: Record<string, string> } => d !== undefined);
  if (documentation.length > 0) provider.documentation = documentation;

  const notes = importEnable(source.enable as Node[] | undefined, root.enable as Node[] | undefined);
  if (notes) provider.notes = notes;
  importClientConfig(root, provider, skip);

  const header = `# yaml-language-server: $schema=./provider.schema.json\n# Imported from ${fileName} (Thunderbird config-v1.1).\n`;
  return { id, yaml: header + stringify(provider, { lineWidth: 0, flowCollectionPadding: true }), notCarried };
}

function importDomains(source: Node, skip: Skip): string[] {
  const domains: string[] = [];
  for (const d of (source.domain as unknown[] | undefined) ?? []) {
    const value = textOf(d);
    const ascii = value === undefined ? null : normalizeDomain(value);
    if (ascii === null) skip(`domain "${String(value)}"`, 'not a valid domain name');
    else if (domains.includes(ascii)) skip(`domain "${value}"`, 'listed twice');
    else domains.push(ascii);
  }
  return domains;
}

/** The document's id when it is a usable one not taken yet, else one from the file name. */
function chooseId(source: Node, fileName: string, firstDomain: string, takenIds: ReadonlySet<string>, skip: Skip): string {
  const rawId = String(source['@id'] ?? '').toLowerCase();
  const validId = /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/.test(rawId);
  let id = validId && !takenIds.has(rawId) ? rawId : idFromFileName(fileName, firstDomain);
  for (let n = 2; takenIds.has(id); n++) id = `${idFromFileName(fileName, firstDomain)}-${n}`;
  if (id !== rawId) {
    skip(`emailProvider@id "${String(source['@id'] ?? '')}"`, `${validId ? 'already used by another file' : 'not a valid provider id'}; using "${id}"`);
  }
  return id;
}

function importNames(source: Node, firstDomain: string, skip: Skip): Record<string, unknown> {
  const names: Record<string, unknown> = {};
  const displayName = textOf(source.displayName);
  names.name = displayName ? displayName.slice(0, 60) : firstDomain;
  if (displayName && displayName.length > 60) skip('displayName', 'longer than 60 characters; shortened');
  const shortName = textOf(source.displayShortName);
  if (shortName && shortName.length <= 20) names.shortName = shortName;
  else if (shortName) skip('displayShortName', 'longer than 20 characters');
  return names;
}

/** The servers of one list that the provider model can carry, as YAML objects. */
function importServers(source: Node, list: 'incomingServer' | 'outgoingServer', skip: Skip, pop3Options: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  ((source[list] as Node[] | undefined) ?? []).forEach((s, index) => {
    const server = importServer(s, list, `${list}[${index + 1}] type=${String(s['@type'] ?? '')}`, skip, pop3Options);
    if (server) out.push(server);
  });
  return out;
}

function importServer(s: Node, list: 'incomingServer' | 'outgoingServer', where: string, skip: Skip, pop3Options: Record<string, unknown>): Record<string, unknown> | undefined {
  const type = String(s['@type'] ?? '');
  const allowed = list === 'incomingServer' ? ['imap', 'pop3'] : ['smtp'];
  if (!allowed.includes(type)) {
    skip(where, list === 'incomingServer' ? 'only IMAP and POP3 accounts are described (no Exchange/EWS/Graph equivalent in the other formats)' : 'only SMTP is an outgoing server');
    return undefined;
  }
  for (const key of Object.keys(s)) if (!SERVER_KEYS.has(key)) skip(`${where}/${key}`, reasonForServerElement(key));
  const host = textOf(s.hostname);
  if (!host) {
    skip(where, 'no hostname');
    return undefined;
  }
  const socket = SOCKET_MAP[textOf(s.socketType) ?? ''];
  if (!socket) {
    skip(where, `socketType "${String(textOf(s.socketType))}" is not SSL, STARTTLS or plain`);
    return undefined;
  }
  const methods = importAuthentication(s, list, where, skip);
  if (methods.length === 0) {
    skip(where, 'no usable authentication method');
    return undefined;
  }
  const portText = textOf(s.port);
  const protocol = list === 'incomingServer' ? (type as 'imap' | 'pop3') : 'smtp';
  const port = portText && /^[0-9]+$/.test(portText) ? Number(portText) : defaultPort(protocol, socket);
  if (!portText) skip(`${where}/port`, `missing; the standard port ${port} is used`);
  const server: Record<string, unknown> = list === 'incomingServer' ? { type } : {};
  server.host = host;
  server.port = port;
  server.socketType = socket;
  server.authentication = methods.length === 1 ? methods[0] : methods;
  server.username = importUsername(textOf(s.username), where, skip);
  if (type === 'pop3' && s.pop3 && typeof s.pop3 === 'object') importPop3(s.pop3 as Node, where, skip, pop3Options);
  return server;
}

function importAuthentication(s: Node, list: 'incomingServer' | 'outgoingServer', where: string, skip: Skip): Authentication[] {
  const methods: Authentication[] = [];
  for (const a of (s.authentication as unknown[] | undefined) ?? []) {
    const value = textOf(a) ?? '';
    const mapped = AUTH_MAP[value];
    if (!mapped) skip(`${where}/authentication "${value}"`, authReason(value));
    else if (mapped === 'none' && list === 'incomingServer') skip(`${where}/authentication none`, 'incoming servers always need a login');
    else if (!methods.includes(mapped)) methods.push(mapped);
  }
  return methods;
}

/** What clientConfig holds besides the provider: the webmail page and OAuth2 endpoints; the rest is reported. */
function importClientConfig(root: Node, provider: Record<string, unknown>, skip: Skip): void {
  for (const key of Object.keys(root)) {
    if (key === 'emailProvider' || key === '@version' || key === 'enable') continue;
    if (key === 'webMail') {
      const pages = ((root.webMail as Node).loginPage as Node[] | undefined) ?? [];
      const url = pages[0]?.['@url'];
      if (typeof url === 'string' && /^https?:\/\//.test(url)) provider.webmail = url;
      for (const k of Object.keys(root.webMail as Node)) {
        if (k !== 'loginPage') skip(`webMail/${k}`, 'webmail auto-login hints are not used by any client we serve');
      }
      continue;
    }
    if (key === 'oAuth2') {
      const o = root.oAuth2 as Node;
      const fields = ['issuer', 'scope', 'authURL', 'tokenURL'].map((f) => textOf(o[f]));
      if (fields.every((f) => f)) provider.oauth2 = { issuer: fields[0], scope: fields[1], authURL: fields[2], tokenURL: fields[3] };
      else skip('oAuth2', 'incomplete (issuer, scope, authURL and tokenURL are all needed)');
      continue;
    }
    skip(key, key === 'clientConfigUpdate' ? 'the service itself is the place to re-fetch from' : 'not part of the provider model');
  }
}

function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && typeof (node as Node)['#text'] === 'string') return (node as Node)['#text'] as string;
  return undefined;
}

function idFromFileName(fileName: string, domain: string): string {
  const stem = fileName.replace(/^.*[\\/]/, '').replace(/\.xml$/i, '').toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  return /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/.test(stem) ? stem : domain;
}

function importUsername(value: string | undefined, where: string, skip: Skip): string {
  if (value === undefined || value === '') {
    skip(`${where}/username`, 'missing; clients will ask the user (username: ask)');
    return 'ask';
  }
  // ISPDB has "%EMAILADDRESS" without its closing % in a few files.
  const repaired = value.replace(/%(EMAILADDRESS|EMAILLOCALPART|EMAILDOMAIN)(?!%)/g, '%$1%');
  if (repaired !== value) skip(`${where}/username "${value}"`, `placeholder typo; written as "${repaired}"`);
  let rest = repaired;
  for (const p of PLACEHOLDERS) rest = rest.replaceAll(p, '');
  if (rest === repaired || rest.includes('%')) {
    skip(`${where}/username "${value}"`, 'not a template of the address; clients will ask the user (username: ask)');
    return 'ask';
  }
  return repaired;
}

function importPop3(pop3: Node, where: string, skip: Skip, options: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(pop3)) {
    const text = textOf(value);
    if (key === 'leaveMessagesOnServer' && (text === 'true' || text === 'false')) options.leaveMessagesOnServer = text === 'true';
    else if (key === 'daysToLeaveMessagesOnServer' && text && /^[0-9]+$/.test(text) && Number(text) >= 1) options.daysToLeaveMessagesOnServer = Number(text);
    else skip(`${where}/pop3/${key}`, key === 'checkInterval' ? 'how often to check is the user\'s choice' : key === 'downloadOnBiff' ? 'a client preference' : 'not a known POP3 option');
  }
}

function importDocumentation(node: Node, element: string, skip: Skip): { url: string; description: Record<string, string> } | undefined {
  const url = node['@url'];
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) {
    skip(element, 'no http(s) url');
    return undefined;
  }
  const description: Record<string, string> = {};
  for (const d of (node.descr as unknown[] | undefined) ?? []) {
    const text = textOf(d)?.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    const lang = d && typeof d === 'object' && typeof (d as Node)['@lang'] === 'string' ? ((d as Node)['@lang'] as string) : 'en';
    description[lang] ??= text.slice(0, 120);
  }
  if (Object.keys(description).length === 0) description.en = url.slice(0, 120);
  return { url, description };
}

/** <enable visiturl><instruction lang>: something to do before first use → setup-page notes. */
function importEnable(...lists: (Node[] | undefined)[]): Record<string, string> | undefined {
  const notes: Record<string, string> = {};
  for (const list of lists) {
    for (const enable of list ?? []) {
      const url = typeof enable['@visiturl'] === 'string' ? ` ${enable['@visiturl']}` : '';
      for (const i of (enable.instruction as unknown[] | undefined) ?? []) {
        const text = textOf(i)?.replace(/\s+/g, ' ').trim();
        if (!text) continue;
        const lang = i && typeof i === 'object' && typeof (i as Node)['@lang'] === 'string' ? ((i as Node)['@lang'] as string) : 'en';
        notes[lang] ??= `${text}${url}`;
      }
    }
  }
  return Object.keys(notes).length > 0 ? notes : undefined;
}

/** Move a value shared by every server up to the provider (keeps files short). */
function hoistCommon(provider: Record<string, unknown>, servers: Record<string, unknown>[], key: string, implicit: string): void {
  const values = new Set(servers.map((s) => JSON.stringify(s[key])));
  if (values.size !== 1) return;
  const value = servers[0]![key];
  for (const s of servers) delete s[key];
  if (value !== implicit) provider[key] = value;
}

function reasonForProviderElement(key: string): string {
  switch (key) {
    case 'inputField':
      return 'custom input fields are not supported by the clients (Thunderbird ignores them)';
    case 'identity':
      return 'an empty placeholder in the format';
    case 'displayNameShort':
      return 'unknown element (a typo of displayShortName?)';
    default:
      return 'not part of the provider model';
  }
}

function reasonForServerElement(key: string): string {
  switch (key) {
    case 'restriction':
      return 'no client acts on client-IP-address restrictions';
    case 'addThisServer':
      return 'Thunderbird ignores it';
    case 'useGlobalPreferredServer':
      return 'it makes Thunderbird reuse another account\'s server (mailinabox#1736)';
    case 'password':
      return 'passwords are never published';
    default:
      return 'not part of the server model';
  }
}

function authReason(value: string): string {
  switch (value) {
    case 'client-IP-address':
      return 'admission by IP address is not an authentication clients can be told about';
    case 'smtp-after-pop':
      return 'SMTP-after-POP is obsolete; SMTP authentication replaces it';
    case 'TLS-client-cert':
      return 'client certificates cannot be described for every format';
    default:
      return 'unknown authentication value';
  }
}
