/**
 * Reading one provider file: YAML → JSON Schema check → the rules a schema
 * cannot say → the typed model with defaults filled in. Every problem names
 * file, line and column. Cross-file rules (a domain served twice) live in
 * catalog.ts.
 */
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { normalizeDomain, PLACEHOLDERS } from '../mailbox.js';
import {
  defaultPort,
  localize,
  type Authentication,
  type IncomingServer,
  type LocalizedText,
  type OutgoingServer,
  type Protocol,
  type Provider,
  type Server,
  type SocketType,
} from './model.js';
import { buildDavKeys, type RawDavKeys } from './dav-keys.js';
import { buildHosterKeys, type RawHosterKeys } from './hoster-keys.js';
import { buildLookupKeys, type RawLookup } from './lookup-keys.js';
import type { Problem } from './problems.js';
import { loadSchemaValidator } from './schema.js';

const validate = await loadSchemaValidator();

/** Raw YAML input, as the schema describes it. */
interface RawServer {
  type?: Protocol;
  host: string;
  port?: number;
  socketType?: SocketType;
  authentication?: Authentication | Authentication[];
  username?: string;
  sameLoginAsIncoming?: boolean;
}
type RawText = string | Record<string, string>;
interface RawProvider extends RawHosterKeys, RawDavKeys {
  id: string;
  name: RawText;
  shortName?: string;
  username?: string;
  usernameHint?: RawText;
  authentication?: Authentication | Authentication[];
  allowInsecureTransport?: boolean;
  incoming: RawServer[];
  outgoing: RawServer[];
  pop3?: { leaveMessagesOnServer?: boolean; daysToLeaveMessagesOnServer?: number };
  webmail?: string;
  maxMessageSize?: number | string;
  documentation?: { url: string; description: RawText }[];
  notes?: RawText;
  oauth2?: { issuer: string; scope: string; authURL: string; tokenURL: string };
  lookup?: RawLookup;
}

export interface LoadResult {
  /** Present when the file has no errors (warnings allowed). */
  readonly provider?: Provider;
  readonly problems: readonly Problem[];
}

/**
 * What one provider file may hold. The YAML parser keeps a node of several
 * hundred bytes per value (measured: 11.7 s and 950 MB of heap for a file of
 * a million domains), so only the YAML outside a plain domain list goes
 * through it; a long domain list (one `- domain` a line, as generated lists
 * are written) is read line by line. The whole file's size is checked
 * before it is read (catalog.ts).
 */
export const PROVIDER_LIMITS = {
  /** A provider file, checked before reading it. */
  fileBytes: 32 * 1024 * 1024,
  /** The YAML the parser reads: the file without a plain domain list. */
  yamlBytes: 1024 * 1024,
  /** Domains of one provider. */
  domains: 1_000_000,
} as const;

export interface LoadLimits {
  readonly yamlBytes?: number;
  readonly maxDomains?: number;
}

/** Problems reported per file: a list of a million bad domains is one problem repeated. */
export const MAX_PROBLEMS_PER_FILE = 100;

/** The first problems of a file and one line saying how many more there are. */
export function capProblems(problems: readonly Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS_PER_FILE) return [...problems];
  const kept = problems.slice(0, MAX_PROBLEMS_PER_FILE - 1);
  const last = problems[MAX_PROBLEMS_PER_FILE - 1]!;
  return [...kept, { ...last, message: `${problems.length - kept.length} more problem(s) in this file, the next: ${last.message}` }];
}

/** A block list of plain domain names is read without the YAML parser from this many entries on. */
const PLAIN_LIST_MIN_ENTRIES = 1000;

/** Parse and validate one provider file's text. Pure: reads nothing else. */
export function loadProvider(file: string, text: string, limits: LoadLimits = {}): LoadResult {
  const problems: Problem[] = [];
  try {
    const result = loadChecked(file, text, limits, problems);
    return result.problems.length > MAX_PROBLEMS_PER_FILE ? { ...result, problems: capProblems(result.problems) } : result;
  } catch (error) {
    // Whatever the parser or a rule throws stays a problem of this file;
    // the yaml package throws for too many aliases (a "billion laughs" file).
    const at = error instanceof Error && /alias/i.test(error.message) ? firstAlias(text) : { line: 1, column: 1 };
    return { problems: [...problems, { file, ...at, severity: 'error', message: `YAML: ${firstLine(error instanceof Error ? error.message : String(error))}` }] };
  }
}

type Place = { line: number; column: number };

/** The text the YAML parser reads: the file without a plain domain list read apart. */
function yamlOf(text: string, list: PlainList | undefined): string {
  return list ? text.slice(0, list.start) + text.slice(list.end) : text;
}

/**
 * A provider file's YAML, parsed with the means to place a problem: an
 * offset or a path of the data → line and column in the file as written
 * (a plain domain list read apart shifts the lines below it).
 */
function locate(list: PlainList | undefined, yamlText: string): { doc: Document; place(offset: number | undefined): Place; placePath(path: (string | number)[], onKey?: boolean): Place } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const place = (offset: number | undefined): Place => {
    const pos = lineCounter.linePos(offset ?? 0);
    // Lines after a domain list read apart are further down in the file.
    return { line: list && pos.line > list.keyLine ? pos.line + list.domains.length : pos.line, column: pos.col };
  };
  // Entries of a list read apart have their own line.
  const placePath = (path: (string | number)[], onKey = false): Place =>
    list && path[0] === 'domains' && typeof path[1] === 'number' && path[1] < list.domains.length
      ? { line: list.keyLine + 1 + path[1], column: list.indent + 3 }
      : place(offsetOf(doc, path, onKey));
  return { doc, place, placePath };
}

/**
 * Where a path of a loaded file's data is written, for a problem found
 * later, across files (one provider claiming what another holds). Parses
 * the text again: only the files of such problems pay for it.
 */
export function placeInFile(text: string, path: (string | number)[]): Place {
  const list = plainDomainList(text);
  return locate(list, yamlOf(text, list)).placePath(path);
}

function loadChecked(file: string, text: string, limits: LoadLimits, problems: Problem[]): LoadResult {
  const list = plainDomainList(text);
  const yamlText = yamlOf(text, list);
  const maxYaml = limits.yamlBytes ?? PROVIDER_LIMITS.yamlBytes;
  if (Buffer.byteLength(yamlText) > maxYaml) {
    return { problems: [{ file, line: 1, column: 1, severity: 'error', message: `the provider's YAML is larger than the limit of ${sizeText(maxYaml)} (a long domain list can be written one "- domain" a line)` }] };
  }
  const { doc, place, placePath } = locate(list, yamlText);
  const at = (offset: number | undefined, severity: Problem['severity'], message: string): void => {
    problems.push({ file, ...place(offset), severity, message });
  };

  for (const error of doc.errors) at(error.pos[0], 'error', `YAML: ${firstLine(error.message)}`);
  for (const warning of doc.warnings) at(warning.pos[0], 'warning', `YAML: ${firstLine(warning.message)}`);
  if (doc.errors.length > 0) return { problems };

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    at(0, 'error', 'the file is empty; a provider needs at least id, name, domains, incoming and outgoing');
    return { problems };
  }
  if (list && isRecord(data)) {
    const more = data.domains;
    data.domains = Array.isArray(more) ? [...list.domains, ...(more as unknown[])] : list.domains;
  }
  const maxDomains = limits.maxDomains ?? PROVIDER_LIMITS.domains;
  if (isRecord(data) && Array.isArray(data.domains) && data.domains.length > maxDomains) {
    problems.push({ file, ...(list ? { line: list.keyLine, column: 1 } : place(offsetOf(doc, ['domains'], true))), severity: 'error', message: `domains: ${data.domains.length} domains; at most ${maxDomains} per provider` });
    return { problems };
  }
  if (!validate(data)) {
    for (const error of simplifyErrors(validate.errors ?? [])) {
      const { offset, message } = describeSchemaError(doc, error);
      // A repeated entry is placed on its second occurrence.
      const path = [...pathOf(error.instancePath), ...(error.keyword === 'uniqueItems' ? [laterDuplicate(error)] : [])];
      problems.push({ file, ...(list && path[0] === 'domains' ? placePath(path) : place(offset)), severity: 'error', message });
    }
    return { problems };
  }
  const raw = data as RawProvider;
  const provider = buildProvider(file, raw, (path, severity, message, onKey = false) => problems.push({ file, ...placePath(path, onKey), severity, message }));
  return problems.some((p) => p.severity === 'error') ? { problems } : { provider, problems };
}

export type Report = (path: (string | number)[], severity: Problem['severity'], message: string, onKey?: boolean) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface PlainList {
  /** Offsets of the list's entry lines in the text. */
  readonly start: number;
  readonly end: number;
  /** The 1-based line of `domains:`. */
  readonly keyLine: number;
  readonly indent: number;
  readonly domains: string[];
}

const DOMAINS_KEY = /^domains:[ \t]*(?:#[^\n]*)?$/m;
const PLAIN_ENTRY = /^( +)- ([\p{L}\p{N}][\p{L}\p{N}\p{M}.-]*)[ \t]*$/u;

/**
 * A top-level `domains:` followed by lines of the form `  - name` (plain
 * names only: no quotes, comments, anchors or other YAML), read as a list
 * of strings. Shorter lists and any other form are left to the parser.
 */
function plainDomainList(text: string): PlainList | undefined {
  if (text.length < PLAIN_LIST_MIN_ENTRIES * 4) return undefined;
  const key = DOMAINS_KEY.exec(text);
  if (!key) return undefined;
  const start = text.indexOf('\n', key.index) + 1;
  if (start === 0) return undefined;
  const domains: string[] = [];
  let indent = -1;
  let position = start;
  while (position < text.length) {
    let lineEnd = text.indexOf('\n', position);
    if (lineEnd < 0) lineEnd = text.length;
    const match = PLAIN_ENTRY.exec(text.slice(position, text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd));
    if (!match || (indent >= 0 && match[1]!.length !== indent)) break;
    indent = match[1]!.length;
    domains.push(match[2]!);
    position = lineEnd + 1;
  }
  if (domains.length < PLAIN_LIST_MIN_ENTRIES) return undefined;
  let keyLine = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < key.index; i = text.indexOf('\n', i + 1)) keyLine++;
  return { start, end: Math.min(position, text.length), keyLine, indent, domains };
}

/** Where the first alias (`*name`) of a text is, for the parser's alias-count error. */
function firstAlias(text: string): { line: number; column: number } {
  const match = /(?:^|[\s[{,])\*[^\s,\]}]/.exec(text);
  if (!match) return { line: 1, column: 1 };
  const offset = match.index + match[0].indexOf('*');
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}

/** The rules a JSON Schema cannot say, and the defaults. */
function buildProvider(file: string, raw: RawProvider, report: Report): Provider {
  const domains: string[] = [];
  // A Set, not domains.includes(): a hoster's list of 100,000 domains took minutes.
  const seen = new Set<string>();
  (raw.domains ?? []).forEach((domain, i) => {
    const ascii = normalizeDomain(domain);
    if (ascii === null) report(['domains', i], 'error', `"${domain}" is not a valid domain name`);
    else if (seen.has(ascii)) report(['domains', i], 'error', `domain "${domain}" is listed twice (as ${ascii})`);
    else {
      seen.add(ascii);
      domains.push(ascii);
    }
  });

  const name = toLocalized(raw.name);
  for (const [language, text] of Object.entries(name)) {
    if (text.length > 60) report(['name', ...(typeof raw.name === 'string' ? [] : [language])], 'error', 'the display name must be at most 60 characters (Thunderbird rejects longer ones)');
  }
  const englishName = localize(name, 'en');
  const shortName = raw.shortName ?? (englishName.length <= 20 ? englishName : raw.id);

  if (raw.username !== undefined) checkUsername(raw.username, ['username'], report);
  const defaultUsername = raw.username ?? '%EMAILADDRESS%';
  const defaultAuthentication = raw.authentication ?? 'password-cleartext';
  const allowInsecure = raw.allowInsecureTransport === true;

  const server = (list: 'incoming' | 'outgoing', s: RawServer, i: number): Server => {
    const path = [list, i];
    // An outgoing server is always SMTP, so its `type` may be left out.
    const protocol: Protocol = s.type ?? 'smtp';
    const socketType = s.socketType ?? 'ssl';
    const port = s.port ?? defaultPort(protocol, socketType);
    const authentication = asList(s.authentication ?? defaultAuthentication);
    if (s.username !== undefined) checkUsername(s.username, [...path, 'username'], report);
    const usernameTemplate = s.username ?? defaultUsername;
    const host = checkHost(s.host, [...path, 'host'], report);

    if (socketType === 'plain' && !allowInsecure) {
      report([...path, ...(s.socketType ? ['socketType'] : [])], 'error',
        'socketType plain sends mail and passwords unencrypted; set allowInsecureTransport: true at the top of the file if this is really wanted');
    }
    if (list === 'incoming' && authentication.includes('none')) {
      report([...path, ...(s.authentication ? ['authentication'] : [])], 'error',
        'authentication none is only possible for outgoing servers; IMAP and POP3 always need a login');
    }
    if (s.port !== undefined) checkPortMatchesSocket(protocol, socketType, s.port, [...path, 'port'], report);
    if (list === 'incoming' && s.sameLoginAsIncoming !== undefined) {
      report([...path, 'sameLoginAsIncoming'], 'error', 'sameLoginAsIncoming belongs to outgoing servers only');
    }
    return {
      protocol,
      host,
      port,
      socketType,
      authentication,
      username: usernameTemplate === 'ask' ? null : usernameTemplate,
      sameLoginAsIncoming: s.sameLoginAsIncoming ?? true,
    };
  };

  const incoming = raw.incoming.map((s, i) => server('incoming', s, i) as IncomingServer);
  const outgoing = raw.outgoing.map((s, i) => server('outgoing', s, i) as OutgoingServer);

  const anyAsk = [...incoming, ...outgoing].some((s) => s.username === null);
  if (raw.usernameHint !== undefined && !anyAsk) {
    report(['usernameHint'], 'warning', 'usernameHint is only shown when a server has username: ask', true);
  }
  if (allowInsecure && ![...incoming, ...outgoing].some((s) => s.socketType === 'plain')) {
    report(['allowInsecureTransport'], 'warning', 'allowInsecureTransport is set but no server uses socketType plain', true);
  }

  let maxMessageSize: number | undefined;
  if (raw.maxMessageSize !== undefined) maxMessageSize = parseSize(raw.maxMessageSize);

  return {
    id: raw.id,
    name,
    shortName,
    domains,
    incoming,
    outgoing,
    allowInsecureTransport: allowInsecure,
    ...(raw.usernameHint !== undefined ? { usernameHint: toLocalized(raw.usernameHint) } : {}),
    ...(raw.pop3 !== undefined ? { pop3: { ...raw.pop3 } } : {}),
    ...(raw.webmail !== undefined ? { webmail: raw.webmail } : {}),
    ...(maxMessageSize !== undefined ? { maxMessageSize } : {}),
    documentation: (raw.documentation ?? []).map((d) => ({ url: d.url, description: toLocalized(d.description) })),
    ...(raw.notes !== undefined ? { notes: toLocalized(raw.notes) } : {}),
    ...(raw.oauth2 !== undefined ? { oauth2: { ...raw.oauth2 } } : {}),
    ...buildDavKeys(raw, { defaultUsername, check: checkUsername }, report),
    ...buildHosterKeys(file, raw, report),
    ...buildLookupKeys(file, raw, report),
    source: file,
  };
}

function checkUsername(template: string, path: (string | number)[], report: Report): void {
  if (template === 'ask') return;
  let rest = template;
  for (const placeholder of PLACEHOLDERS) rest = rest.replaceAll(placeholder, '');
  const unknown = /%[A-Za-z_]*%?/.exec(rest);
  if (unknown) {
    report(path, 'error', `unknown placeholder "${unknown[0]}" in username; use ${PLACEHOLDERS.join(', ')} or "ask"`);
  } else if (rest === template) {
    report(path, 'error', `username "${template}" has no placeholder, so every user would log in with the same name; use ${PLACEHOLDERS.join(', ')} or "ask"`);
  }
}

function checkHost(host: string, path: (string | number)[], report: Report): string {
  const withoutDomain = host.replaceAll('%EMAILDOMAIN%', 'placeholder.example');
  if (withoutDomain.includes('%')) {
    report(path, 'error', `host "${host}" has a placeholder other than %EMAILDOMAIN%; a host name cannot depend on the user`);
    return host;
  }
  const ascii = normalizeDomain(withoutDomain);
  if (ascii === null) {
    report(path, 'error', `"${host}" is not a valid host name`);
    return host;
  }
  // Keep the placeholder, but store the rest of the name in its ASCII form.
  return host.includes('%EMAILDOMAIN%')
    ? host.split('%EMAILDOMAIN%').map((part) => (part === '' || part === '.' ? part : asciiPart(part))).join('%EMAILDOMAIN%')
    : ascii;
}

function asciiPart(part: string): string {
  const core = part.replace(/^\.|\.$/g, '');
  const ascii = normalizeDomain(`${core}.example`);
  const converted = ascii ? ascii.slice(0, -'.example'.length) : core.toLowerCase();
  return (part.startsWith('.') ? '.' : '') + converted + (part.endsWith('.') ? '.' : '');
}

const WELL_KNOWN: Record<number, { socketType: SocketType; what: string }> = {
  993: { socketType: 'ssl', what: 'the IMAP implicit-TLS port' },
  995: { socketType: 'ssl', what: 'the POP3 implicit-TLS port' },
  465: { socketType: 'ssl', what: 'the SMTP implicit-TLS submission port' },
  143: { socketType: 'starttls', what: 'the IMAP STARTTLS port' },
  110: { socketType: 'starttls', what: 'the POP3 STARTTLS port' },
  587: { socketType: 'starttls', what: 'the SMTP STARTTLS submission port' },
};

/** A well-known port with the other socket type is almost always a typo. */
function checkPortMatchesSocket(protocol: Protocol, socketType: SocketType, port: number, path: (string | number)[], report: Report): void {
  const known = WELL_KNOWN[port];
  if (known && socketType !== 'plain' && known.socketType !== socketType) {
    report(path, 'warning', `port ${port} is ${known.what}, but socketType is ${socketType}; clients will wait for the wrong handshake (${protocol})`);
  }
}

function toLocalized(text: RawText): LocalizedText {
  return typeof text === 'string' ? { en: text } : { ...text };
}

function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? [...value] : [value];
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]+)$/.exec(value)!;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

// ---------------------------------------------------------------------------
// Schema errors → one readable message at the right place.

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^[0-9]+$/.test(segment) ? Number(segment) : segment));
}

function offsetOf(doc: Document, path: (string | number)[], onKey = false): number | undefined {
  if (onKey && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p: Pair) => isScalar(p.key) && p.key.value === path[path.length - 1]);
      if (pair && isScalar(pair.key)) return pair.key.range?.[0];
    }
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node.range[0];
  }
  return 0;
}

/**
 * Ajv reports every branch of a oneOf. Keep the branch whose type matched
 * (it says what is really wrong), or one summary when no branch fits.
 */
function simplifyErrors(errors: ErrorObject[]): ErrorObject[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const dropped = new Set<ErrorObject>();
  for (const oneOf of oneOfs) {
    const branches = errors.filter((e) => e !== oneOf && e.schemaPath.startsWith(`${oneOf.schemaPath}/`));
    const typeMismatch = (branch: string): boolean =>
      branches.some((e) => e.keyword === 'type' && e.instancePath === oneOf.instancePath && e.schemaPath.startsWith(`${oneOf.schemaPath}/${branch}/`));
    const branchIds = [...new Set(branches.map((e) => e.schemaPath.slice(oneOf.schemaPath.length + 1).split('/')[0]!))];
    const matching = branchIds.filter((b) => !typeMismatch(b));
    for (const e of branches) {
      const branch = e.schemaPath.slice(oneOf.schemaPath.length + 1).split('/')[0]!;
      if (matching.length !== 1 || branch !== matching[0]) dropped.add(e);
    }
    if (matching.length === 1 && branches.some((e) => !dropped.has(e))) dropped.add(oneOf);
  }
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (dropped.has(e)) return false;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const FRIENDLY_PATTERN: Record<string, string> = {
  id: 'id must be lower-case letters, digits, dots and hyphens (e.g. "example-mail"), at most 64 characters',
  username: 'username must be a template without spaces, e.g. "%EMAILADDRESS%", or "ask"',
  webmail: 'webmail must be an http(s) URL',
  url: 'url must be an http(s) URL',
  authURL: 'authURL must be an http(s) URL',
  tokenURL: 'tokenURL must be an http(s) URL',
  shortName: 'shortName must not contain control characters',
  maxMessageSize: 'maxMessageSize must be a number of bytes or a size like "50 MB" or "50 MiB"',
  connection: 'connection must be a postgresql:// URL, e.g. postgresql://autoconfig@db.hoster.example/customers',
  passwordEnv: 'passwordEnv must be the name of an environment variable (letters, digits, _)',
  listen: 'listen must be a channel name of lower-case letters, digits and _ (at most 63), as NOTIFY takes it',
  'ldap.url': 'url must be ldap://host[:port] or ldaps://host[:port], without a path (the base DN is baseDn)',
  'sql.connection': 'connection must be a postgresql:// URL (e.g. postgresql://autoconfig@db.example.com/mail) or sqlite:<path>',
  'ldap.loginAttribute': 'loginAttribute must be an LDAP attribute name (e.g. uid) or OID',
  'ldap.displayNameAttribute': 'displayNameAttribute must be an LDAP attribute name (e.g. displayName) or OID',
};

const HINTS: Record<string, string> = {
  TLS: 'implicit TLS (993, 995, 465) is ssl, STARTTLS (143, 110, 587) is starttls',
  SSL: 'write it in lower case: ssl',
  STARTTLS: 'write it in lower case: starttls',
  pop: 'POP3 is pop3',
  plain: 'use password-cleartext for PLAIN/LOGIN',
  'CRAM-MD5': 'CRAM-MD5 is password-encrypted',
  SPA: 'Secure Password Authentication is ntlm',
  NTLM: 'write it in lower case: ntlm',
  OAuth2: 'write it in lower case: oauth2',
};

function describeSchemaError(doc: Document, error: ErrorObject): { offset: number | undefined; message: string } {
  const path = pathOf(error.instancePath);
  const field = [...path].reverse().find((p) => typeof p === 'string') ?? 'the file';
  const where = path.length === 0 ? '' : `${String(field)}: `;
  const value = error.data;
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return { offset: offsetOf(doc, path), message: `missing required key "${missing}"${path.length ? ` in ${describePath(path)}` : ''}` };
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      const suggestion = closest(extra, known);
      return {
        offset: offsetOf(doc, [...path, extra], true),
        message: `unknown key "${extra}"${path.length ? ` in ${describePath(path)}` : ''}${suggestion ? `; did you mean "${suggestion}"?` : `; allowed: ${known.join(', ')}`}`,
      };
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof value === 'string' ? HINTS[value] : undefined;
      return { offset: offsetOf(doc, path), message: `${where}"${String(value)}" is not one of ${allowed.join(', ')}${hint ? ` (${hint})` : ''}` };
    }
    case 'type': {
      const expected = (error.params as { type: string }).type;
      return { offset: offsetOf(doc, path), message: `${where}expected ${article(expected)}, found ${describeValue(value)}` };
    }
    case 'minimum':
    case 'maximum': {
      const schema = error.parentSchema as { minimum?: number; maximum?: number };
      return { offset: offsetOf(doc, path), message: `${where}${String(value)} is outside ${schema.minimum ?? '-∞'}–${schema.maximum ?? '∞'}` };
    }
    case 'pattern': {
      // A key name can mean different things in two places (lookup's url is not a web address).
      const parent = path.length >= 2 ? String(path[path.length - 2]) : '';
      const friendly = FRIENDLY_PATTERN[`${parent}.${String(field)}`] ?? FRIENDLY_PATTERN[String(field)];
      return { offset: offsetOf(doc, path), message: friendly ?? `${where}"${String(value)}" is not in the expected form` };
    }
    case 'propertyNames':
      return { offset: offsetOf(doc, path), message: `${where}language keys must be codes like en, de, pt-BR` };
    case 'minItems':
      return { offset: offsetOf(doc, path), message: `${where}needs at least ${(error.params as { limit: number }).limit} entry` };
    case 'minLength':
      return { offset: offsetOf(doc, path), message: `${where}must not be empty` };
    case 'maxLength':
      return { offset: offsetOf(doc, path), message: `${where}is longer than ${(error.params as { limit: number }).limit} characters` };
    case 'uniqueItems':
      return { offset: offsetOf(doc, [...path, laterDuplicate(error)]), message: `${where}lists the same entry twice` };
    case 'oneOf': {
      const description = (error.parentSchema as { description?: string }).description;
      return { offset: offsetOf(doc, path), message: `${where}${description ?? `expected a text or a map from language code to text, found ${describeValue(value)}`}` };
    }
    default:
      return { offset: offsetOf(doc, path), message: `${where}${error.message ?? 'is not valid'}` };
  }
}

/** The later of the two equal entries ajv names for uniqueItems. */
function laterDuplicate(error: ErrorObject): number {
  const { i, j } = error.params as { i: number; j: number };
  return Math.max(i, j);
}

function describePath(path: (string | number)[]): string {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (typeof segment === 'number') parts[parts.length - 1] += ` server ${segment + 1}`;
    else parts.push(segment);
  }
  return parts.join(' › ');
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

function article(type: string): string {
  const names: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'text', boolean: 'true or false', object: 'a map', array: 'a list' };
  return names[type] ?? type;
}

/** The known key nearest to a typo (edit distance ≤ 3), if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // "hostname" → "host": a prefix match is a good suggestion too.
  return best ?? candidates.find((c) => word.toLowerCase().startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(word.toLowerCase()));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
