/**
 * The catalog: every valid provider, indexed by mail domain. Built completely
 * from a set of files, then used read-only; a reload builds a new catalog and
 * swaps it in one step, so a request never sees a half-built one.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { loadProvider, type LoadResult } from './load.js';
import type { Provider } from './model.js';
import type { Problem } from './problems.js';

export class Catalog {
  private readonly domainIndex: ReadonlyMap<string, Provider>;

  constructor(
    readonly providers: readonly Provider[],
    /** Problems of all files read, including those of skipped files. */
    readonly problems: readonly Problem[],
    /** Files that were read but not served because of errors. */
    readonly rejectedFiles: readonly string[],
    readonly loadedAt: Date = new Date(),
  ) {
    const index = new Map<string, Provider>();
    for (const provider of providers) for (const domain of provider.domains) index.set(domain, provider);
    this.domainIndex = index;
  }

  /** The provider serving an ASCII, lower-case mail domain (see normalizeDomain). */
  byDomain(domain: string): Provider | undefined {
    return this.domainIndex.get(domain);
  }

  get domainCount(): number {
    return this.domainIndex.size;
  }
}

export interface SourceFile {
  readonly file: string;
  readonly text: string;
}

/**
 * Build a catalog from file contents. Files are taken in name order, so when
 * two files claim the same id or domain, the first one keeps it and the
 * later file is rejected with an error naming the first.
 */
export function buildCatalog(files: readonly SourceFile[]): Catalog {
  return assembleCatalog(files.map((source) => ({ ...source, result: loadProvider(source.file, source.text) })));
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

  for (const { file, text, result } of [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    problems.push(...result.problems);
    const provider = result.provider;
    if (!provider) {
      rejected.push(file);
      continue;
    }
    const conflicts: Problem[] = [];
    const other = ids.get(provider.id);
    if (other) conflicts.push(conflict(file, text, 'id', provider.id, `id "${provider.id}" is already used by ${other.source}`));
    for (const domain of provider.domains) {
      const owner = owners.get(domain);
      if (owner) conflicts.push(conflict(file, text, 'domain', domain, `domain ${domain} is already served by ${owner.source} (provider ${owner.id}); a domain can have only one provider`));
    }
    if (conflicts.length > 0) {
      problems.push(...conflicts);
      rejected.push(file);
      continue;
    }
    providers.push(provider);
    ids.set(provider.id, provider);
    for (const domain of provider.domains) owners.set(domain, provider);
  }
  return new Catalog(providers, problems, rejected);
}

/** Place a cross-file conflict on the line that names the id or domain. */
function conflict(file: string, text: string, kind: 'id' | 'domain', value: string, message: string): Problem {
  const lines = text.split('\n');
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

/** The provider files of a folder (*.yaml, *.yml), or the given files. */
export async function listProviderFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) {
        // Hidden entries include Kubernetes' ..data symlink swap directories.
        if (!entry.startsWith('.') && /\.ya?ml$/i.test(entry)) files.push(join(path, entry));
      }
    } else {
      files.push(path);
    }
  }
  return files;
}

/** The provider files of folders or files, with their text. */
export async function readSources(paths: readonly string[]): Promise<SourceFile[]> {
  const files = await listProviderFiles(paths.map((p) => resolve(p)));
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
}

/** Read and build a catalog from folders or files. */
export async function loadCatalog(paths: readonly string[]): Promise<Catalog> {
  return buildCatalog(await readSources(paths));
}

export function summarize(catalog: Catalog): string {
  const errors = catalog.problems.filter((p) => p.severity === 'error').length;
  const files = catalog.providers.length + catalog.rejectedFiles.length;
  return `${catalog.providers.length} of ${files} provider file(s) valid, ${catalog.domainCount} domain(s), ${errors} error(s)${
    catalog.rejectedFiles.length ? `; skipped: ${catalog.rejectedFiles.map((f) => basename(f)).join(', ')}` : ''
  }`;
}
