/**
 * The catalog: every valid provider, indexed by mail domain. Built completely
 * from a set of files, then used read-only; a reload builds a new catalog and
 * swaps it in one step, so a request never sees a half-built one.
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { HosterClaims } from './hoster-claims.js';
import { loadProvider, MAX_PROBLEMS_PER_FILE, PROVIDER_LIMITS, type LoadResult } from './load.js';
import type { Provider } from './model.js';
import { MxPatternIndex } from './mx-patterns.js';
import { lookupPacked, packDomains, type PackedDomains } from './packed-index.js';
import type { Problem } from './problems.js';

export class Catalog {
  /** Every listed domain and its provider (packed-index.ts): one lookup reads one cache line of its table, usually, whatever the catalog's size. */
  private readonly domainIndex: PackedDomains;
  /** The hosters' own host names (autoconfig.hoster.example): the provider for any address asked there. */
  private readonly serviceHostIndex = new Map<string, Provider>();
  private readonly idIndex = new Map<string, Provider>();
  /** MX host patterns (*.mx.hoster.example) of providers that claim customer domains by their MX. */
  readonly mxIndex = new MxPatternIndex<Provider>();

  constructor(
    readonly providers: readonly Provider[],
    /** Problems of all files read, including those of skipped files. */
    readonly problems: readonly Problem[],
    /** Files that were read but not served because of errors. */
    readonly rejectedFiles: readonly string[],
    readonly loadedAt: Date = new Date(),
    /** The domain index when already built (by the reload worker; owners index `providers`); else it is built here. */
    packed?: PackedDomains,
  ) {
    // Few names per provider: the first provider (in file order) keeps a name claimed twice.
    for (const provider of providers) {
      this.idIndex.set(provider.id, provider);
      for (const host of provider.serviceHosts ?? []) if (!this.serviceHostIndex.has(host)) this.serviceHostIndex.set(host, provider);
      if (provider.mxPatterns?.length) this.mxIndex.add(provider, provider.mxPatterns, (p) => p.id);
    }
    this.domainIndex = packed ?? packDomains(providers);
  }

  /** The provider serving an ASCII, lower-case mail domain (see normalizeDomain). */
  byDomain(domain: string): Provider | undefined {
    const owner = lookupPacked(this.domainIndex, domain);
    return owner < 0 ? undefined : this.providers[owner];
  }

  /** The provider with this id (ids are unique in a catalog). */
  byId(id: string): Provider | undefined {
    return this.idIndex.get(id);
  }

  /** The provider claiming a service host name (ASCII, lower case, no port). */
  byServiceHost(host: string): Provider | undefined {
    return this.serviceHostIndex.get(host);
  }

  get domainCount(): number {
    return this.domainIndex.count;
  }
}

export interface SourceFile {
  readonly file: string;
  readonly text: string;
  /** Set when the file was not read (too large, a link out of its folder); its only problem. */
  readonly refusal?: Problem;
}

/** Load one source: its refusal, or the provider its text describes. */
export function loadSource(source: SourceFile): LoadResult {
  return source.refusal ? { problems: [source.refusal] } : loadProvider(source.file, source.text);
}

/**
 * Build a catalog from file contents. Files are taken in name order, so when
 * two files claim the same id or domain, the first one keeps it and the
 * later file is rejected with an error naming the first; a service host or
 * MX pattern claimed twice stays with the first too, and the later file
 * loads without it (hoster-claims.ts).
 */
export function buildCatalog(files: readonly SourceFile[]): Catalog {
  return assembleCatalog(files.map((source) => ({ ...source, result: loadSource(source) })));
}

/** A provider file with the result of loading it. */
export interface LoadedFile extends SourceFile {
  readonly result: LoadResult;
}

/** The catalog of files already loaded (a reload validates each file once). */
export function assembleCatalog(files: readonly LoadedFile[]): Catalog {
  const problems: Problem[] = [];
  const providers: Provider[] = [];
  const rejected: string[] = [];
  const owners = new Map<string, Provider>();
  const ids = new Map<string, Provider>();
  const claims = new HosterClaims();

  for (const { file, text, result } of [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    problems.push(...result.problems);
    const provider = result.provider;
    if (!provider) {
      rejected.push(file);
      continue;
    }
    const conflicts: Problem[] = [];
    const lines = lazyLines(text);
    const other = ids.get(provider.id);
    if (other) conflicts.push(conflict(file, lines(), 'id', provider.id, `id "${provider.id}" is already used by ${other.source}`));
    let taken = 0;
    for (const domain of provider.domains) {
      const owner = owners.get(domain);
      // Each reported conflict searches the file for its line: the first few are placed, the rest counted.
      if (owner && taken++ < MAX_PROBLEMS_PER_FILE) conflicts.push(conflict(file, lines(), 'domain', domain, `domain ${domain} is already served by ${owner.source} (provider ${owner.id}); a domain can have only one provider`));
    }
    if (taken > MAX_PROBLEMS_PER_FILE) conflicts.push({ ...conflicts.at(-1)!, message: `${taken - MAX_PROBLEMS_PER_FILE} more domain(s) of this file are already served by other providers` });
    if (conflicts.length > 0) {
      problems.push(...conflicts);
      rejected.push(file);
      continue;
    }
    // Service hosts and MX patterns another provider holds: only those names are left out.
    const claimed = claims.claim(provider, text);
    problems.push(...claimed.problems);
    providers.push(claimed.provider);
    ids.set(provider.id, provider);
    for (const domain of provider.domains) owners.set(domain, provider);
  }
  return new Catalog(providers, problems, rejected);
}

/** Place a cross-file conflict on the line that names the id or domain. */
function conflict(file: string, lines: readonly string[], kind: 'id' | 'domain', value: string, message: string): Problem {
  const needle = kind === 'id' ? /^\s*id\s*:/ : undefined;
  let line = 1;
  let column = 1;
  for (let i = 0; i < lines.length; i++) {
    const current = lines[i]!;
    const index = needle ? (needle.test(current) ? current.indexOf('id') : -1) : current.toLowerCase().indexOf(value);
    if (index >= 0) {
      line = i + 1;
      column = index + 1;
      break;
    }
  }
  return { file, line, column, severity: 'error', message };
}

/** The lines of a text, split once when first asked for. */
function lazyLines(text: string): () => readonly string[] {
  let lines: string[] | undefined;
  return () => (lines ??= text.split('\n'));
}

/** The provider files of a folder (*.yaml, *.yml), or the given files. */
export async function listProviderFiles(paths: readonly string[]): Promise<string[]> {
  return (await listSources(paths)).map((s) => s.file);
}

/** A provider file and the folder it was found in (undefined: named itself). */
interface Listed {
  readonly file: string;
  readonly folder: string | undefined;
}

async function listSources(paths: readonly string[]): Promise<Listed[]> {
  const files: Listed[] = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) {
        // Hidden entries include Kubernetes' ..data symlink swap directories.
        if (!entry.startsWith('.') && /\.ya?ml$/i.test(entry)) files.push({ file: join(path, entry), folder: path });
      }
    } else {
      files.push({ file: path, folder: undefined });
    }
  }
  return files;
}

/**
 * One provider file's text, or why it is not read. A file found in a
 * folder must resolve (through any symlinks) to a file inside that folder:
 * a link to /etc/shadow would otherwise put its lines into the problems.
 * Kubernetes' ConfigMap layout (x.yaml → ..data/x.yaml → ..<time>/x.yaml)
 * stays inside. The size is that of the open file, checked before reading.
 */
async function readSource({ file, folder }: Listed, maxBytes: number): Promise<SourceFile> {
  const refuse = (message: string): SourceFile => ({ file, text: '', refusal: { file, line: 1, column: 1, severity: 'error', message } });
  let target: string;
  try {
    target = await realpath(file);
  } catch (error) {
    return refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (folder !== undefined) {
    const root = await realpath(folder);
    if (!target.startsWith(root + sep)) return refuse('is a link to a file outside the provider folder; it is not read');
  }
  let handle;
  try {
    handle = await open(target, 'r');
  } catch (error) {
    return refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return refuse('is not a regular file');
    if (info.size > maxBytes) return refuse(`is ${(info.size / 1024 / 1024).toFixed(1)} MiB, larger than the limit of ${maxBytes / 1024 / 1024} MiB for a provider file`);
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return { file, text: buffer.toString('utf8', 0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** The provider files of folders or files, with their text (or the reason they were not read). */
export async function readSources(paths: readonly string[], maxBytes: number = PROVIDER_LIMITS.fileBytes): Promise<SourceFile[]> {
  const listed = await listSources(paths.map((p) => resolve(p)));
  return Promise.all(listed.map((entry) => readSource(entry, maxBytes)));
}

/** Read and build a catalog from folders or files. */
export async function loadCatalog(paths: readonly string[]): Promise<Catalog> {
  // As a reload compiles it (domain lists included); compile.ts builds on this module.
  const { Compiler } = await import('./compile.js');
  const compiled = await new Compiler().compile(paths);
  return new Catalog(compiled.providers, compiled.problems, compiled.rejectedFiles);
}

export function summarize(catalog: Catalog): string {
  const errors = catalog.problems.filter((p) => p.severity === 'error').length;
  const files = catalog.providers.length + catalog.rejectedFiles.length;
  return `${catalog.providers.length} of ${files} provider file(s) valid, ${catalog.domainCount} domain(s), ${errors} error(s)${
    catalog.rejectedFiles.length ? `; skipped: ${catalog.rejectedFiles.map((f) => basename(f)).join(', ')}` : ''
  }`;
}
