/**
 * One reload's work, without the swap: read every file, keep the last good
 * version of a file that now fails validation (or leave it out if it never
 * loaded), and settle the cross-file rules. The store runs it on the main
 * thread for the first load and in the reload worker afterwards.
 */
import { assembleCatalog, loadSource, readSources, type LoadedFile } from './catalog.js';
import type { Provider } from './model.js';
import { readDomainList } from './domain-list.js';
import type { Problem } from './problems.js';

/**
 * The providers with the domains of their `domainsFile` added, read anew at
 * every reload (the list changes more often than the YAML; it is watched
 * with the provider folders). A listed domain another provider already
 * serves stays with that one and is reported; the rest of the list loads.
 */
async function withDomainFiles(providers: readonly Provider[]): Promise<{ providers: Provider[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  if (!providers.some((p) => p.domainsFile !== undefined)) return { providers: [...providers], problems };
  const owners = new Map<string, Provider>();
  for (const provider of providers) for (const domain of provider.domains) owners.set(domain, provider);
  const result: Provider[] = [];
  for (const provider of providers) {
    if (provider.domainsFile === undefined) {
      result.push(provider);
      continue;
    }
    const list = await readDomainList(provider.domainsFile);
    problems.push(...list.problems);
    const domains = [...provider.domains];
    let claimed = 0;
    for (const domain of list.domains) {
      const owner = owners.get(domain);
      if (owner === undefined) {
        owners.set(domain, provider);
        domains.push(domain);
      } else if (owner !== provider && claimed++ < 20) {
        problems.push({ file: provider.domainsFile, line: 1, column: 1, severity: 'warning', message: `domain ${domain} is already served by provider ${owner.id}; it stays there` });
      }
    }
    if (claimed > 20) problems.push({ file: provider.domainsFile, line: 1, column: 1, severity: 'warning', message: `${claimed - 20} more domain(s) of this list are already served by other providers` });
    result.push({ ...provider, domains });
  }
  return { providers: result, problems };
}

export interface Compiled {
  readonly providers: readonly Provider[];
  /** The problems of the files as they are now, then the cross-file ones. */
  readonly problems: readonly Problem[];
  /** Read but not served (broken and never loaded, or in conflict). */
  readonly rejectedFiles: readonly string[];
  /** Broken now, served at their last good version. */
  readonly staleFiles: readonly string[];
}

export class Compiler {
  private readonly lastGood = new Map<string, LoadedFile>();

  /** Take over the last good files of another compiler (their texts; loaded again here). */
  constructor(seed: readonly { file: string; text: string }[] = []) {
    for (const { file, text } of seed) {
      const result = loadSource({ file, text });
      if (result.provider) this.lastGood.set(file, { file, text, result });
    }
  }

  /** The last good files' texts, to seed another compiler. */
  seed(): { file: string; text: string }[] {
    return [...this.lastGood.values()].map(({ file, text }) => ({ file, text }));
  }

  async compile(paths: readonly string[]): Promise<Compiled> {
    const texts = await readSources(paths);
    const sources: LoadedFile[] = [];
    const stale: string[] = [];
    const problems: Problem[] = [];
    for (const source of texts) {
      const { file, text } = source;
      const previous = this.lastGood.get(file);
      // An unchanged file is not parsed again (a hoster's list of a million domains takes seconds).
      const loaded = previous !== undefined && source.refusal === undefined && previous.text === text ? previous : { file, text, result: loadSource(source) };
      if (loaded.result.provider) {
        this.lastGood.set(file, loaded);
        sources.push(loaded);
      } else {
        problems.push(...loaded.result.problems);
        if (previous !== undefined) {
          stale.push(file);
          sources.push(previous);
        }
      }
    }
    const present = new Set(texts.map((t) => t.file));
    for (const file of [...this.lastGood.keys()]) if (!present.has(file)) this.lastGood.delete(file);
    const built = assembleCatalog(sources);
    const listed = await withDomainFiles(built.providers);
    const served = new Set(sources.map((s) => s.file));
    const staleSet = new Set(stale);
    // Broken and never loaded: not served at all (stale files are served, at their last good version).
    const skipped = texts.filter(({ file }) => !served.has(file)).map(({ file }) => file);
    return {
      providers: listed.providers,
      problems: [...problems, ...built.problems.filter((p) => !staleSet.has(p.file)), ...listed.problems],
      rejectedFiles: [...new Set([...skipped, ...built.rejectedFiles])],
      staleFiles: stale,
    };
  }
}
