/**
 * Domain lists kept outside the YAML: a plain text file (a provider's
 * `domainsFile`), one domain per line, `#` starting a comment, blank lines
 * ignored. Also the rule every list shares, file or database rows: each
 * name normalised like a mail domain (normalizeDomain), invalid names and
 * duplicates reported, the rest kept.
 *
 * Linear in the size of the file: one pass over the bytes, one Set probe per
 * domain. Each domain is decoded from the bytes on its own, so the kept
 * strings do not hold on to the whole file's text (a slice of a large V8
 * string would).
 */
import { open } from 'node:fs/promises';
import { normalizeDomain } from '../mailbox.js';
import type { Problem } from './problems.js';

/** 64 MiB: about three million domains of twenty characters. */
export const MAX_DOMAIN_FILE_BYTES = 64 * 1024 * 1024;
/** Past this many problems in one list, the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 1000;

/**
 * Domains collected from any list, with the problem of each entry that is
 * not kept. `unit` names the position in messages ("line 12", "row 12").
 */
export class DomainCollector {
  readonly domains: string[] = [];
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly unit: 'line' | 'row') {}

  /** Keep a domain; returns why not when it is invalid or already there. */
  add(raw: string, position: number): string | undefined {
    const ascii = normalizeDomain(raw);
    if (ascii === null) return notADomain(raw);
    const first = this.firstSeen.get(ascii);
    if (first !== undefined) return listedTwice(raw, ascii, this.unit, first);
    this.firstSeen.set(ascii, position);
    this.domains.push(ascii);
    return undefined;
  }
}

/** Why an entry of a list is not kept: not a domain name. */
export function notADomain(raw: string): string {
  return `${quote(raw)} is not a valid domain name`;
}

/** Why an entry of a list is not kept: a name already kept (`as` normalised) at `first`. */
export function listedTwice(raw: string, as: string, unit: 'line' | 'row', first: number): string {
  return `domain ${quote(raw)} is listed twice (as ${as}, first on ${unit} ${first})`;
}

/** A value from someone else's list in a message: bounded, control characters visible. */
export function quote(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}

export interface DomainListResult {
  /** ASCII, lower case, without trailing dots, each once, in file order. */
  readonly domains: readonly string[];
  readonly problems: readonly Problem[];
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;

/** Parse a domain list's content. `file` only names the problems. */
export function parseDomainList(file: string, content: Uint8Array | string): DomainListResult {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const collector = new DomainCollector('line');
  const problems: Problem[] = [];
  let unreported = 0;
  const report = (line: number, column: number, message: string): void => {
    if (problems.length < MAX_REPORTED_PROBLEMS) problems.push({ file, line, column, severity: 'error', message });
    else unreported++;
  };

  // A UTF-8 byte order mark is not part of the first domain.
  let lineStart = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let line = 1;
  while (lineStart <= bytes.length) {
    let lineEnd = bytes.indexOf(NEWLINE, lineStart);
    if (lineEnd < 0) lineEnd = bytes.length;
    // The entry: from the first non-blank byte to a # or the end, blanks trimmed.
    let start = lineStart;
    while (start < lineEnd && isBlank(bytes[start]!)) start++;
    let end = start;
    while (end < lineEnd && bytes[end] !== HASH) end++;
    while (end > start && isBlank(bytes[end - 1]!)) end--;
    if (end > start) {
      const problem = collector.add(bytes.toString('utf8', start, end), line);
      if (problem !== undefined) report(line, start - lineStart + 1, problem);
    }
    lineStart = lineEnd + 1;
    line++;
  }
  if (unreported > 0) problems.push({ file, line: 1, column: 1, severity: 'error', message: `${unreported} more problem(s) in this list not shown` });
  return { domains: collector.domains, problems };
}

function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === CARRIAGE_RETURN;
}

/**
 * Read and parse a domain list file. Its size is checked before it is read,
 * so a runaway export cannot fill the memory of every replica.
 */
export async function readDomainList(file: string, maxBytes: number = MAX_DOMAIN_FILE_BYTES): Promise<DomainListResult> {
  const fail = (message: string): DomainListResult => ({ domains: [], problems: [{ file, line: 1, column: 1, severity: 'error', message }] });
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    return fail(`the domain list cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    const { size } = await handle.stat();
    const tooLarge = (bytes: number): string =>
      `the domain list is ${bytes} bytes, more than the limit of ${describeBytes(maxBytes)}; split it over providers or keep the domains in PostgreSQL (domainsQuery)`;
    if (size > maxBytes) return fail(tooLarge(size));
    const content = await handle.readFile();
    // The file may have grown between stat and read.
    if (content.length > maxBytes) return fail(tooLarge(content.length));
    return parseDomainList(file, content);
  } catch (error) {
    return fail(`the domain list cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    await handle.close();
  }
}

function describeBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
