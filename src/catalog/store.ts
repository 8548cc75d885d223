/**
 * The catalog in service and its reloads. A reload reads every file, keeps
 * the last good version of a file that now fails validation (or leaves it
 * out if it never loaded), builds the new catalog completely and swaps it in
 * with one assignment: requests in flight finish on the catalog they took.
 *
 * The first load runs here (nothing is served yet); every reload after it
 * runs in a worker thread (reload-worker.ts), so that parsing and checking
 * a hoster's million domains never stops the answers, and a file that
 * exhausts the worker's memory ends the worker, not the service.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Catalog } from './catalog.js';
import { Compiler, type Compiled } from './compile.js';
import type { Provider } from './model.js';
import { domainsOf, packDomains, type PackedDomains } from './packed-index.js';
import { WatchedFiles } from '../watched-files.js';

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
  /** The first load's compiler, until the worker takes over its last good files. */
  private compiler: Compiler | undefined = new Compiler();
  private worker: ReloadWorker | undefined;
  /** The first load's last good files, handed to the worker when it starts. */
  private seed: { file: string; text: string }[] | undefined;
  private watched: WatchedFiles | undefined;
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
      const catalog = await this.compile(at);
      const staleFiles = catalog.staleFiles;
      if (catalog.providers.length === 0 && this.catalog.providers.length > 0) {
        outcome = { at, catalog: this.catalog, staleFiles, error: 'no valid provider after reload; keeping the catalog in service' };
      } else {
        this.catalog = catalog;
        outcome = { at, catalog, staleFiles };
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
    this.watched ??= await WatchedFiles.start(this.paths, () => void this.reload(), { debounceMs });
  }

  /** The first load on this thread, every later one in the worker. */
  private async compile(at: Date): Promise<Catalog & { staleFiles: readonly string[] }> {
    if (this.compiler) {
      const compiled = await this.compiler.compile(this.paths);
      // A small catalog's worker starts at the first reload, not now: a service that is never
      // reloaded does without a second isolate (about 12 MiB; docs/performance.md). A large one's
      // starts now, before the service listens: copying its files to the worker takes the main
      // thread long enough to stall the answers (164 ms for a million domains, test/reload-stall.ts).
      const seed = this.compiler.seed();
      if (seed.reduce((octets, { text }) => octets + text.length, 0) < LAZY_WORKER_SEED) this.seed = seed;
      else this.worker = new ReloadWorker(seed);
      this.compiler = undefined;
      return served(compiled, packDomains(compiled.providers), at);
    }
    this.worker ??= new ReloadWorker(this.seed ?? []);
    this.seed = undefined;
    const { compiled, packed } = await this.worker.compile(this.paths).catch((error: Error) => {
      // A worker that died (out of memory on some file) is replaced; its last good files are lost with it.
      this.worker?.close();
      this.worker = undefined;
      throw error;
    });
    return served(compiled, packed, at);
  }

  close(): void {
    this.worker?.close();
    this.worker = undefined;
    this.seed = undefined;
    this.watched?.close();
    this.watched = undefined;
  }
}

/**
 * The catalog to serve, its providers without their lists of domains: the
 * packed index holds them, and a hoster's million domains as strings would
 * keep 70 MiB more on the heap the collector scans (docs/performance.md).
 */
function served(compiled: Compiled, packed: PackedDomains, at: Date): Catalog & { staleFiles: readonly string[] } {
  const providers = compiled.providers.map((provider, owner) => withPackedDomains(provider, packed, owner));
  return Object.assign(new Catalog(providers, compiled.problems, compiled.rejectedFiles, at, packed), { staleFiles: compiled.staleFiles });
}

/** Where a provider of the packed index finds its domains: the index, its number there, and the list once read. */
const PACKED = Symbol('packed domains');
interface PackedOwner {
  readonly packed: PackedDomains;
  readonly owner: number;
  list?: string[];
}

/**
 * A provider of the packed index: its domains are read from the index when
 * asked for (nothing on a request's way asks). Every provider of a catalog
 * must keep one hidden class in V8, or each property read on a request's
 * way becomes a megamorphic miss (docs/performance.md): one getter shared by
 * every provider, defined as a new property on a copy without `domains`
 * (redefining a data property as an accessor, or a closure per provider,
 * put each object in dictionary mode), and the copy made by Object.assign
 * onto an empty object, whose properties follow the shared transitions
 * (an object spread followed by a new property made a new hidden class for
 * every provider on Node 20).
 */
function withPackedDomains(provider: Provider, packed: PackedDomains, owner: number): Provider {
  const { domains: _listed, ...rest } = provider;
  const copy: Record<string | symbol, unknown> = Object.assign({}, rest);
  copy[PACKED] = { packed, owner } satisfies PackedOwner;
  return Object.defineProperty(copy, 'domains', { get: packedDomains, enumerable: true }) as unknown as Provider;
}

function packedDomains(this: { [PACKED]: PackedOwner }): string[] {
  const at = this[PACKED];
  return (at.list ??= domainsOf(at.packed, at.owner));
}

interface WorkerAnswer {
  readonly id: number;
  readonly ok: boolean;
  readonly compiled?: Compiled;
  readonly packed?: PackedDomains;
  readonly error?: string;
}

/** Below this many characters of provider files, the reload worker starts at the first reload. */
const LAZY_WORKER_SEED = 1 << 20;

/** The reload worker, one request at a time; it keeps the process alive only while it works. */
class ReloadWorker {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (answer: WorkerAnswer) => void; reject: (error: Error) => void }>();

  constructor(seed: readonly { file: string; text: string }[]) {
    // The compiled worker next to this module (reload-worker.js), or its source when running from TypeScript.
    const self = fileURLToPath(import.meta.url);
    this.worker = new Worker(new URL(`./reload-worker${self.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: { seed } });
    this.worker.unref();
    this.worker.on('message', (answer: WorkerAnswer) => {
      const waiting = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (!waiting) return;
      if (answer.ok) waiting.resolve(answer);
      else waiting.reject(new Error(answer.error));
    });
    const fail = (error: Error): void => {
      for (const { reject } of this.waiting.values()) reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the reload worker stopped (exit code ${code})`)));
  }

  compile(paths: readonly string[]): Promise<{ compiled: Compiled; packed: PackedDomains }> {
    const id = this.next++;
    this.worker.ref();
    return new Promise<WorkerAnswer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, paths });
    }).then((answer) => ({ compiled: answer.compiled!, packed: answer.packed! }));
  }

  close(): void {
    void this.worker.terminate();
  }
}
