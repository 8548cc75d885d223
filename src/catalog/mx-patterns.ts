/**
 * MX host patterns (a provider's `mxPatterns`) and the index that finds the
 * provider for an MX host with one map probe per label of the host, however
 * many patterns the catalog has.
 *
 * - `mx.hoster.example` matches that host only.
 * - `*.mx.hoster.example` matches one or more labels in front of
 *   `mx.hoster.example` (`mx01.mx.hoster.example`, `a.b.mx.hoster.example`),
 *   not `mx.hoster.example` itself. Hosters number their MX hosts and group
 *   them in sub-zones, so "one or more" is what they mean; unlike a DNS
 *   wildcard (RFC 4592), which stands for exactly the labels that do not exist.
 * - When several patterns match, the exact name wins, then the longest suffix.
 */
import { normalizeDomain } from '../mailbox.js';

export interface MxPattern {
  /** ASCII, lower case, no trailing dot; without the "*." of a wildcard. */
  readonly host: string;
  readonly wildcard: boolean;
}

/** A pattern as written in YAML → its normal form, or a reason it is not one. */
export function parseMxPattern(raw: string): MxPattern | { problem: string } {
  const wildcard = raw.startsWith('*.');
  const rest = wildcard ? raw.slice(2) : raw;
  if (rest.includes('*')) return { problem: `MX pattern "${raw}": * may only stand for the first label(s), as in *.mx.hoster.example` };
  const host = normalizeDomain(rest);
  if (host === null) return { problem: `MX pattern "${raw}": "${rest}" is not a valid host name (a wildcard needs at least two labels after "*.")` };
  return { host, wildcard };
}

/** The written form of a normalised pattern (what `mxPatterns` holds in the model). */
export function formatMxPattern(pattern: MxPattern): string {
  return pattern.wildcard ? `*.${pattern.host}` : pattern.host;
}

export interface MxPatternConflict {
  readonly pattern: string;
  readonly owner: string;
  readonly other: string;
}

/** Patterns → owner (a provider key), built once per catalog. */
export class MxPatternIndex<Owner = string> {
  private readonly exact = new Map<string, Owner>();
  private readonly suffixes = new Map<string, Owner>();

  /**
   * Claim normalised patterns (the model's `mxPatterns`) for an owner. A
   * pattern another owner holds stays with the first; the conflict is returned.
   */
  add(owner: Owner, patterns: readonly string[], describe: (owner: Owner) => string = String): MxPatternConflict[] {
    const conflicts: MxPatternConflict[] = [];
    for (const written of patterns) {
      const wildcard = written.startsWith('*.');
      const map = wildcard ? this.suffixes : this.exact;
      const key = wildcard ? written.slice(2) : written;
      const held = map.get(key);
      if (held !== undefined && held !== owner) conflicts.push({ pattern: written, owner: describe(held), other: describe(owner) });
      else map.set(key, owner);
    }
    return conflicts;
  }

  get size(): number {
    return this.exact.size + this.suffixes.size;
  }

  /** The owner of a normalised MX host: exact name first, then each shorter suffix. */
  match(host: string): Owner | undefined {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    if (this.suffixes.size === 0) return undefined;
    // "*.s" needs at least one label in front of s, so start after the first dot.
    for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      const owner = this.suffixes.get(host.slice(dot + 1));
      if (owner !== undefined) return owner;
    }
    return undefined;
  }
}
