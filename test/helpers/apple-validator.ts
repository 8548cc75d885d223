/**
 * Checks a .mobileconfig against Apple's own machine-readable schema
 * (apple/device-management mdm/profiles/*.yaml, in ../shared/apple-schema):
 * required keys, value types (keeping <integer> apart from <real>), allowed
 * values, formats, plus the rules Apple states only in prose: unique
 * PayloadIdentifier and PayloadUUID, 8-4-4-4-12 UUIDs, no password keys.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { APPLE_SCHEMA_DIR, sharedMissing } from './shared.js';

interface KeyDef {
  key: string;
  type: string;
  presence?: 'required' | 'optional';
  rangelist?: unknown[];
  format?: string;
  subkeys?: KeyDef[];
  supportedOS?: Record<string, { introduced?: string }>;
}
interface PayloadSchema {
  payload: { payloadtype: string };
  payloadkeys: KeyDef[];
}

type PNode =
  | { t: 'dictionary'; v: Map<string, PNode> }
  | { t: 'array'; v: PNode[] }
  | { t: 'string' | 'date' | 'data'; v: string }
  | { t: 'integer' | 'real'; v: number }
  | { t: 'boolean'; v: boolean };

export interface Verdict {
  readonly errors: string[];
  readonly warnings: string[];
}

const PROFILES_DIR = join(APPLE_SCHEMA_DIR, 'mdm', 'profiles');
/** Why profiles cannot be checked here (no Apple schema in ../shared), or false. */
export const APPLE_SCHEMA_MISSING = sharedMissing('apple-schema');

const schemas = new Map<string, PayloadSchema>();
if (!APPLE_SCHEMA_MISSING) {
  for (const file of readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml'))) {
    const schema = parseYaml(readFileSync(join(PROFILES_DIR, file), 'utf8')) as PayloadSchema;
    schemas.set(schema.payload.payloadtype, schema);
  }
}
const TOP_LEVEL = schemas.get('TopLevel')!;
const COMMON = schemas.get('CommonPayloadKeys')!;

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: true, parseTagValue: false, trimValues: false, processEntities: true });

/** A typed plist reader: plist.parse() would turn <real>443</real> into 443. */
function readNode(element: Record<string, unknown>): PNode {
  const tag = Object.keys(element).find((k) => k !== ':@')!;
  const children = (element[tag] as Record<string, unknown>[]) ?? [];
  const text = (): string => children.map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('');
  const elements = children.filter((c) => !('#text' in c));
  switch (tag) {
    case 'dict': {
      const map = new Map<string, PNode>();
      for (let i = 0; i < elements.length; i += 2) {
        const keyElement = elements[i]!;
        const key = ((keyElement.key as Record<string, unknown>[]) ?? []).map((c) => c['#text'] ?? '').join('');
        map.set(String(key), readNode(elements[i + 1]!));
      }
      return { t: 'dictionary', v: map };
    }
    case 'array':
      return { t: 'array', v: elements.map(readNode) };
    case 'true':
    case 'false':
      return { t: 'boolean', v: tag === 'true' };
    case 'integer':
    case 'real':
      return { t: tag, v: text().trim() === '' ? Number.NaN : Number(text()) };
    case 'string':
    case 'date':
    case 'data':
      return { t: tag, v: text() };
    default:
      throw new Error(`unknown plist element <${tag}>`);
  }
}

export function parseTypedPlist(xml: string): PNode {
  const doc = parser.parse(xml) as Record<string, unknown>[];
  const plist = doc.find((n) => 'plist' in n);
  if (!plist) throw new Error('no <plist> element');
  const root = (plist.plist as Record<string, unknown>[]).find((n) => !('#text' in n));
  if (!root) throw new Error('empty plist');
  return readNode(root);
}

const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const PASSWORD_KEYS = /Password$/;

function checkKeys(where: string, dict: Map<string, PNode>, defs: KeyDef[], verdict: Verdict): void {
  const byName = new Map(defs.map((d) => [d.key, d]));
  for (const def of defs) {
    if (def.presence === 'required' && def.key !== 'ANY' && def.key !== 'PayloadContent' && !dict.has(def.key)) verdict.errors.push(`${where}: missing required ${def.key}`);
  }
  for (const [key, node] of dict) {
    const def = byName.get(key) ?? byName.get('ANY');
    if (!def) {
      verdict.warnings.push(`${where}.${key}: not in Apple's schema`);
      continue;
    }
    if (PASSWORD_KEYS.test(key) && key !== 'OutgoingPasswordSameAsIncomingPassword') verdict.errors.push(`${where}.${key}: passwords belong only in encrypted profiles`);
    const want = def.type.replace(/[<>]/g, '');
    if (want !== 'any' && want !== node.t) {
      verdict.errors.push(`${where}.${key}: ${node.t}, schema says ${want}`);
      continue;
    }
    if ((node.t === 'integer' || node.t === 'real') && Number.isNaN(node.v)) verdict.errors.push(`${where}.${key}: empty number`);
    if (def.rangelist && !def.rangelist.includes(node.v as never)) verdict.errors.push(`${where}.${key}: ${String(node.v)} not in [${def.rangelist.join(', ')}]`);
    if (def.format && node.t === 'string' && !new RegExp(def.format).test(node.v)) verdict.errors.push(`${where}.${key}: "${node.v}" does not match ${def.format}`);
    if (key.endsWith('UUID') && node.t === 'string' && !UUID.test(node.v)) verdict.errors.push(`${where}.${key}: not an 8-4-4-4-12 UUID`);
    for (const os of ['iOS', 'macOS']) {
      if (def.supportedOS?.[os]?.introduced === 'n/a') verdict.warnings.push(`${where}.${key}: not supported on ${os}`);
    }
    // ConsentText: dictionary → language → string.
    if (node.t === 'dictionary' && key === 'ConsentText') {
      for (const [lang, value] of node.v) if (value.t !== 'string') verdict.errors.push(`${where}.ConsentText.${lang}: ${value.t}, expected string`);
    }
  }
}

/** Validate profile XML; errors make a profile invalid, warnings do not. */
export function validateProfile(xml: string): Verdict {
  const verdict: Verdict = { errors: [], warnings: [] };
  let root: PNode;
  try {
    root = parseTypedPlist(xml);
  } catch (error) {
    verdict.errors.push(`not a plist: ${(error as Error).message}`);
    return verdict;
  }
  if (root.t !== 'dictionary') {
    verdict.errors.push('the root is not a dictionary');
    return verdict;
  }
  checkKeys('profile', root.v, TOP_LEVEL.payloadkeys, verdict);
  const identifiers = new Set<string>();
  const uuids = new Set<string>();
  const remember = (where: string, dict: Map<string, PNode>): void => {
    const id = dict.get('PayloadIdentifier');
    const uuid = dict.get('PayloadUUID');
    if (id?.t === 'string') {
      if (identifiers.has(id.v)) verdict.errors.push(`${where}: PayloadIdentifier ${id.v} is used twice`);
      identifiers.add(id.v);
    }
    if (uuid?.t === 'string') {
      if (uuids.has(uuid.v.toUpperCase())) verdict.errors.push(`${where}: PayloadUUID ${uuid.v} is used twice`);
      uuids.add(uuid.v.toUpperCase());
    }
  };
  remember('profile', root.v);
  const content = root.v.get('PayloadContent');
  if (!content || content.t !== 'array') {
    verdict.errors.push('profile: PayloadContent must be an array');
    return verdict;
  }
  content.v.forEach((item, index) => {
    const where = `payload[${index}]`;
    if (item.t !== 'dictionary') {
      verdict.errors.push(`${where}: not a dictionary`);
      return;
    }
    const type = item.v.get('PayloadType');
    const schema = type?.t === 'string' ? schemas.get(type.v) : undefined;
    if (!schema) {
      verdict.errors.push(`${where}: unknown PayloadType`);
      return;
    }
    checkKeys(where, item.v, [...COMMON.payloadkeys, ...schema.payloadkeys], verdict);
    remember(where, item.v);
  });
  return verdict;
}
