/**
 * Signed Apple profiles kept for repeated requests; see SignedProfileCache.
 */
import type { ProfileSigner } from '../formats/signing.js';

/**
 * Signed profiles kept for repeated requests (a user tapping the link twice,
 * a device retrying), bounded in bytes. The key is what the unsigned
 * profile is made of (the provider object, which a reload replaces, and a
 * variant naming prefix, address and name) plus the signer, so a hit costs
 * neither building nor hashing the profile, and a catalog reload or a
 * certificate renewal never serves an old signature.
 *
 * Eviction is second-chance (CLOCK): oldest first, but an entry used since
 * it was last passed over goes to the back once more. A hit only sets a
 * flag. Moving the entry to the back on every hit (delete, then set with
 * the request's own key string) stored a new key per request, promoted to
 * the old generation each time: under repeated requests the mark-compacts
 * it caused set the p99 (--trace-gc; docs/performance.md).
 */
export class SignedProfileCache {
  private readonly entries = new Map<string, { readonly profile: Buffer; used: boolean }>();
  private readonly serials = new WeakMap<object, number>();
  private nextSerial = 0;
  private bytes = 0;

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  private key(signer: ProfileSigner, provider: object, variant: string): string {
    let serial = this.serials.get(provider);
    if (serial === undefined) this.serials.set(provider, (serial = this.nextSerial++));
    return `${signer.fingerprint}\0${serial}\0${variant}`;
  }

  /** The signed profile made earlier for these inputs, if still kept. */
  get(signer: ProfileSigner, provider: object, variant: string): Buffer | undefined {
    const kept = this.entries.get(this.key(signer, provider, variant));
    if (kept === undefined) return undefined;
    kept.used = true;
    return kept.profile;
  }

  /** Sign `content`, the unsigned profile of these inputs, and keep the result. */
  async sign(signer: ProfileSigner, provider: object, variant: string, content: Buffer): Promise<Buffer> {
    const key = this.key(signer, provider, variant);
    const signed = await signer.sign(content);
    const previous = this.entries.get(key);
    if (previous) this.bytes -= previous.profile.length;
    this.entries.delete(key);
    this.entries.set(key, { profile: signed, used: false });
    this.bytes += signed.length;
    // A Map iterates in insertion order and visits entries set again during
    // the loop, so a used entry comes round once more, unflagged. The
    // profile just signed is not given up for the others.
    for (const [oldest, kept] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (oldest === key) continue;
      this.entries.delete(oldest);
      if (kept.used) {
        kept.used = false;
        this.entries.set(oldest, kept);
      } else {
        this.bytes -= kept.profile.length;
      }
    }
    return signed;
  }

  get size(): number {
    return this.entries.size;
  }
}
