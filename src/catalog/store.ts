/**
 * The catalog in service and its reloads. A reload reads every file, keeps
 * the last good version of a file that now fails validation (or leaves it
 * out if it never loaded), builds the new catalog completely and swaps it in
 * with one assignment: requests in flight finish on the catalog they took.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { assembleCatalog, Catalog, loadSource, readSources, type LoadedFile } from './catalog.js';
import type { Problem } from './problems.js';

export interface ReloadOutcome {
  readonly at: Date;
  readonly catalog: Catalog;
  /** Files whose current text is broken while their last good version is served. */
  readonly staleFiles: readonly string[];
  /** Set when the reload failed as a whole (the previous catalog stays). */
  readonly error?: string;
}

export class CatalogStore {
  private catalog: Catalog;
  private readonly lastGood = new Map<string, LoadedFile>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReloadOutcome> | undefined;
  private again = false;
  lastReload: ReloadOutcome | undefined;
  reloads = 0;
  failedReloads = 0;
  /** Called after every reload attempt (logs, metrics). */
  onReload: ((outcome: ReloadOutcome) => void) | undefined;

  private constructor(
    readonly paths: readonly string[],
    initial: Catalog,
  ) {
    this.catalog = initial;
  }

  /** Load the catalog for the first time. */
  static async open(paths: readonly string[]): Promise<CatalogStore> {
    const store = new CatalogStore(paths.map((p) => resolve(p)), new Catalog([], [], []));
    await store.reload();
    return store;
  }

  /** The catalog in service now. */
  current(): Catalog {
    return this.catalog;
  }

  /** Reload now; concurrent calls share one run, and a call during a run schedules one more. */
  reload(): Promise<ReloadOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.reloadOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const at = new Date();
    let outcome: ReloadOutcome;
    try {
      const texts = await readSources(this.paths);
      const sources: LoadedFile[] = [];
      const stale: string[] = [];
      const problems: Problem[] = [];
      for (const source of texts) {
        const { file, text } = source;
        const loaded = { file, text, result: loadSource(source) };
        if (loaded.result.provider) {
          this.lastGood.set(file, loaded);
          sources.push(loaded);
        } else {
          problems.push(...loaded.result.problems);
          const previous = this.lastGood.get(file);
          if (previous !== undefined) {
            stale.push(file);
            sources.push(previous);
          }
        }
      }
      for (const file of [...this.lastGood.keys()]) if (!texts.some((t) => t.file === file)) this.lastGood.delete(file);
      const built = assembleCatalog(sources);
      // Broken and never loaded: not served at all (stale files are served, at their last good version).
      const skipped = texts.filter(({ file }) => !sources.some((s) => s.file === file)).map(({ file }) => file);
      const catalog = new Catalog(
        built.providers,
        // The problems of the files as they are now, then the cross-file ones.
        [...problems, ...built.problems.filter((p) => !stale.includes(p.file))],
        [...new Set([...skipped, ...built.rejectedFiles])],
        at,
      );
      if (catalog.providers.length === 0 && this.catalog.providers.length > 0) {
        outcome = { at, catalog: this.catalog, staleFiles: stale, error: 'no valid provider after reload; keeping the catalog in service' };
      } else {
        this.catalog = catalog;
        outcome = { at, catalog, staleFiles: stale };
      }
    } catch (error) {
      outcome = { at, catalog: this.catalog, staleFiles: [], error: `reload failed: ${(error as Error).message}` };
    }
    this.reloads++;
    if (outcome.error) this.failedReloads++;
    this.lastReload = outcome;
    this.onReload?.(outcome);
    return outcome;
  }

  /**
   * Reload when files in the provider folders change, debounced. Watching
   * the folder (not the files) also sees editors' rename-and-replace saves
   * and Kubernetes' ConfigMap update (a ..data symlink swapped atomically).
   */
  async watch(debounceMs = 300): Promise<void> {
    const folders = new Set<string>();
    for (const path of this.paths) {
      const info = await stat(path);
      folders.add(info.isDirectory() ? path : dirname(path));
    }
    for (const folder of folders) {
      const watcher = watch(folder, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload(), debounceMs);
      });
      watcher.on('error', () => undefined);
      this.watchers.push(watcher);
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
