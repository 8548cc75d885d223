/**
 * What every directory backend (LDAP, PostgreSQL, SQLite) offers the
 * log-in lookup (issue 22): find one mailbox's log-in name by its address.
 *
 * A backend rejects when it cannot answer: DirectoryAnswerError when the
 * directory answered but not usably (two entries for one address, a row
 * without a log-in name, the wrong columns), any other error when it could
 * not be asked at all (down, refused the bind, timed out). The lookup in
 * front (lookup.ts) treats the first as "not found, and say why" and the
 * second as "the directory is down". Messages never hold a password; they
 * may hold the address, which lookup.ts removes before anything shows them.
 */

export interface LoginName {
  /** What the mail client logs in with. */
  readonly login: string;
  /** The person's name, where the directory has one. */
  readonly displayName?: string;
}

export interface LoginDirectory {
  /** "ldap", "postgresql" or "sqlite", and where: for state and messages (no secrets). */
  readonly description: string;
  /** undefined: the directory has no mailbox of that address. */
  find(address: string): Promise<LoginName | undefined>;
  close(): Promise<void>;
}

/** The directory answered, but the answer cannot be used: a configuration or data problem, not an outage. */
export class DirectoryAnswerError extends Error {
  override readonly name = 'DirectoryAnswerError';
}

/** An address's parts for the placeholders, split at the last @ (the domain has none). */
export function addressParts(address: string): { address: string; localPart: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { address, localPart: at < 0 ? address : address.slice(0, at), domain: at < 0 ? '' : address.slice(at + 1) };
}
