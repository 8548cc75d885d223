/**
 * The HTTPS certificate and key, re-read when the files change (renewals by
 * certbot, cert-manager, Caddy...) and swapped into the running server
 * without a restart. A broken renewal keeps the working certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { WatchedFiles } from '../watched-files.js';
import { keyPermissionWarning } from './permissions.js';

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
  private watched: WatchedFiles | undefined;

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

  /** Re-read the files when they change (see watched-files.ts) and update `server`. */
  async watch(server: Server, pollMs?: number): Promise<void> {
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
    this.watched ??= await WatchedFiles.start([this.files.certFile, this.files.keyFile], check, pollMs === undefined ? {} : { pollMs });
  }

  close(): void {
    this.watched?.close();
    this.watched = undefined;
  }
}
