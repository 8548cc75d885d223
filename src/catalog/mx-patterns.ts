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
  /** The pattern being added. */
  readonly pattern: string;
  /** Who holds `held`. */
  readonly owner: string;
  /** Who adds `pattern`. */
  readonly other: string;
  /** The owner's pattern: the same as `pattern`, or one that matches some of the same hosts. */
  readonly held: string;
  /**
   * same: `pattern` stays with the owner and is not added. overlap: both are
   * kept, and a host both match goes to the more specific (`winner`).
   */
  readonly kind: 'same' | 'overlap';
  readonly winner: string;
}

/** Patterns → owner (a provider key), built once per catalog. */
export class MxPatternIndex<Owner = string> {
  private readonly exact = new Map<string, Owner>();
  private readonly suffixes = new Map<string, Owner>();

  /**
   * Claim normalised patterns (the model's `mxPatterns`) for an owner. A
   * pattern another owner holds stays with the first; patterns of other
   * owners that match some of the same hosts are kept (the more specific
   * wins, see match()). Both are returned as conflicts: the second kind
   * is rarely what two providers mean.
   */
  add(owner: Owner, patterns: readonly string[], describe: (owner: Owner) => string = String): MxPatternConflict[] {
    const conflicts: MxPatternConflict[] = [];
    for (const written of patterns) {
      const wildcard = written.startsWith('*.');
      const map = wildcard ? this.suffixes : this.exact;
      const key = wildcard ? written.slice(2) : written;
      const held = map.get(key);
      if (held !== undefined && held !== owner) {
        conflicts.push({ pattern: written, owner: describe(held), other: describe(owner), held: written, kind: 'same', winner: written });
        continue;
      }
      for (const [heldPattern, heldOwner] of this.overlapping(key, wildcard)) {
        if (heldOwner === owner) continue;
        // An exact name beats a wildcard; of two wildcards the longer suffix wins.
        const winner = !wildcard ? written : !heldPattern.startsWith('*.') || heldPattern.length > written.length ? heldPattern : written;
        conflicts.push({ pattern: written, owner: describe(heldOwner), other: describe(owner), held: heldPattern, kind: 'overlap', winner });
      }
      map.set(key, owner);
    }
    return conflicts;
  }

  /**
   * The patterns held that match some host `key` (exact) or `*.key` matches:
   * wildcards over a parent of it, and, for a wildcard, whatever lies below
   * it. The latter walks every pattern, which is fine for the handful a
   * catalog has; the look-up path (match) never does.
   */
  private *overlapping(key: string, wildcard: boolean): Generator<[string, Owner]> {
    // "*.t" covers the host or wildcard suffix "s" when s ends in ".t", as in match().
    for (let dot = key.indexOf('.'); dot >= 0; dot = key.indexOf('.', dot + 1)) {
      const owner = this.suffixes.get(key.slice(dot + 1));
      if (owner !== undefined) yield [`*.${key.slice(dot + 1)}`, owner];
    }
    if (!wildcard) return;
    const below = `.${key}`;
    for (const [name, owner] of this.exact) if (name.endsWith(below)) yield [name, owner];
    for (const [suffix, owner] of this.suffixes) if (suffix.endsWith(below)) yield [`*.${suffix}`, owner];
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
