/**
 * The HTTPS certificate and key, re-read when the files change (renewals by
 * certbot, cert-manager, Caddy...) and swapped into the running server
 * without a restart. A broken renewal keeps the working certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import { keyPermissionWarning } from '../key-files.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export class TlsSource {
  cert: string;
  key: string;
  notAfter: Date;
  lastError: string | undefined;
  readonly permissionWarning: string | undefined;
  onChange: ((error: string | undefined) => void) | undefined;

  constructor(readonly files: TlsFiles) {
    const { cert, key, notAfter } = TlsSource.read(files);
    this.cert = cert;
    this.key = key;
    this.notAfter = notAfter;
    this.permissionWarning = keyPermissionWarning(files.keyFile);
  }

  private static read(files: TlsFiles): { cert: string; key: string; notAfter: Date } {
    const cert = readFileSync(files.certFile, 'utf8');
    const key = readFileSync(files.keyFile, 'utf8');
    const leaf = new X509Certificate(cert);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error('the TLS key does not belong to the certificate');
    return { cert, key, notAfter: new Date(leaf.validTo) };
  }

  /** Poll the files (reliable across atomic renames and symlink swaps) and update `server`. */
  watch(server: Server, intervalMs = 5_000): void {
    const check = (): void => {
      try {
        const next = TlsSource.read(this.files);
        if (next.cert === this.cert && next.key === this.key) return;
        server.setSecureContext({ cert: next.cert, key: next.key });
        Object.assign(this, next);
        this.lastError = undefined;
        this.onChange?.(undefined);
      } catch (error) {
        this.lastError = (error as Error).message;
        this.onChange?.(this.lastError);
      }
    };
    watchFile(this.files.certFile, { interval: intervalMs }, check);
    watchFile(this.files.keyFile, { interval: intervalMs }, check);
  }

  close(): void {
    unwatchFile(this.files.certFile);
    unwatchFile(this.files.keyFile);
  }
}
