/**
 * Files and folders whose changes the running service takes up without a
 * restart: the provider folders, the HTTPS certificate and key, the signing
 * certificate and key. One way of watching for all of them:
 *
 * - fs.watch on the folder of each file (and on each folder itself), which
 *   sees editors' rename-and-replace saves, certbot's and cert-manager's
 *   symlink swaps and Kubernetes' atomic `..data` swap as they happen;
 * - a poll of each file's stat stamp (inode, size, mtime) as the fallback
 *   for filesystems that send no events (network mounts, some container
 *   volumes) and for events missed while a folder was being replaced.
 *
 * `onChange` is called once per burst of changes (debounced); what changed
 * is for the caller to read, so a spurious call costs only a re-read.
 */
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WatchOptions {
  /** Quiet time after the last event before onChange (editors write in several steps). */
  readonly debounceMs?: number;
  /** How often files are polled; 0: events only. */
  readonly pollMs?: number;
}

export class WatchedFiles {
  private readonly watchers: FSWatcher[] = [];
  private readonly stamps = new Map<string, string>();
  private readonly debounceMs: number;
  private debounce: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly files: readonly string[],
    private readonly onChange: () => void,
    options: WatchOptions,
  ) {
    this.debounceMs = options.debounceMs ?? 100;
    const pollMs = options.pollMs ?? 5_000;
    if (pollMs > 0 && files.length > 0) {
      this.poller = setInterval(() => void this.poll(), pollMs);
      this.poller.unref();
    }
  }

  /** Watch `paths` (files or folders) and call `onChange` after they change. */
  static async start(paths: readonly string[], onChange: () => void, options: WatchOptions = {}): Promise<WatchedFiles> {
    const folders = new Set<string>();
    const files: string[] = [];
    for (const path of paths) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isDirectory()) folders.add(path);
      else {
        files.push(path);
        folders.add(dirname(path));
      }
    }
    const watched = new WatchedFiles(files, onChange, options);
    for (const file of files) watched.stamps.set(file, await stampOf(file));
    for (const folder of folders) {
      try {
        const watcher = watch(folder, () => watched.changed());
        // A folder that goes away (a volume remounted) leaves the poll.
        watcher.on('error', () => undefined);
        watched.watchers.push(watcher);
      } catch {
        // No events for this folder (it does not exist yet): the poll remains.
      }
    }
    return watched;
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.onChange(), this.debounceMs);
  }

  private async poll(): Promise<void> {
    for (const file of this.files) {
      const stamp = await stampOf(file);
      if (stamp !== this.stamps.get(file)) {
        this.stamps.set(file, stamp);
        this.changed();
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.poller);
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
  }
}

/** What tells one version of a file from the next without reading it (a missing file has its own stamp). */
export async function stampOf(file: string): Promise<string> {
  const info: Stats | undefined = await stat(file).catch(() => undefined);
  return info ? `${info.ino}:${info.size}:${info.mtimeMs}` : 'missing';
}
