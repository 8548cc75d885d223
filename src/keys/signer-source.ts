/**
 * The signing certificate and key of Apple profiles, re-read when their
 * files change (certificate renewals), without a restart. A failed reload
 * keeps the last good signer and records the error.
 */
import { readFile } from 'node:fs/promises';
import { createSigner, type ProfileSigner } from '../formats/signing.js';
import { stampOf, WatchedFiles } from '../watched-files.js';
import { keyPermissionWarning } from './permissions.js';

export interface SignerFiles {
  readonly keyFile: string;
  readonly certFile: string;
}

/** The current signer: loaded on first use, then kept up to date by watch(). */
export class SignerSource {
  private signer: ProfileSigner | undefined;
  private stamp = '';
  private loading: Promise<void> | undefined;
  private watched: WatchedFiles | undefined;
  lastError: string | undefined;
  /** Set when the key file is readable by others. */
  permissionWarning: string | undefined;
  /** Called after each reload attempt (metrics, logs). */
  onChange: ((signer: ProfileSigner | undefined, error: string | undefined) => void) | undefined;

  constructor(readonly files: SignerFiles) {}

  /** Reload whenever the files change (see watched-files.ts). */
  async watch(pollMs?: number): Promise<void> {
    this.watched ??= await WatchedFiles.start([this.files.keyFile, this.files.certFile], () => void this.reloadIfChanged(), pollMs === undefined ? {} : { pollMs });
  }

  close(): void {
    this.watched?.close();
    this.watched = undefined;
  }

  /** The signer loaded last, without checking the files (metrics). */
  get loaded(): ProfileSigner | undefined {
    return this.signer;
  }

  async current(): Promise<ProfileSigner | undefined> {
    return this.now();
  }

  /**
   * The current signer, without waiting once one was loaded (then a
   * promise only until the first load): requests need no turn of the event loop.
   */
  now(): ProfileSigner | undefined | Promise<ProfileSigner | undefined> {
    if (this.signer !== undefined || this.lastError !== undefined) return this.signer;
    return this.reloadIfChanged().then(() => this.signer);
  }

  /** Read the files again if they changed since the last load; concurrent calls share one read. */
  reloadIfChanged(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      const stamp = `${await stampOf(this.files.keyFile)}|${await stampOf(this.files.certFile)}`;
      if (stamp === this.stamp && this.signer) return;
      const [keyPem, certPem] = await Promise.all([readFile(this.files.keyFile, 'utf8'), readFile(this.files.certFile, 'utf8')]);
      this.signer = await createSigner(keyPem, certPem);
      this.permissionWarning = keyPermissionWarning(this.files.keyFile);
      this.stamp = stamp;
      this.lastError = undefined;
      this.onChange?.(this.signer, undefined);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.onChange?.(this.signer, this.lastError);
    }
  }
}
