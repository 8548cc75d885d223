/**
 * The project's shared research material, next to the repository
 * (../shared), or where MAIL_AUTOCONFIG_SHARED points. A clone without it
 * still passes the suite: what needs a part of it is skipped with one line
 * saying what is not covered and how to get it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export const SHARED_DIR = process.env.MAIL_AUTOCONFIG_SHARED ?? join(PROJECT_ROOT, '..', 'shared');
export const ISPDB_DIR = join(SHARED_DIR, 'ispdb');
export const AUTODISCOVER_SCHEMA_DIR = join(SHARED_DIR, 'research', 'autodiscover-schema');
export const APPLE_SCHEMA_DIR = join(SHARED_DIR, 'apple-schema');
export const TB_HARNESS_DIR = join(SHARED_DIR, 'tb-harness');

const PARTS = {
  ispdb: [ISPDB_DIR, "Thunderbird's ISPDB corpus (import and round trip of 163 real provider files)"],
  'autodiscover-schema': [AUTODISCOVER_SCHEMA_DIR, 'the Autodiscover XSDs (answers checked with xmllint)'],
  'apple-schema': [APPLE_SCHEMA_DIR, "Apple's profile schema (profiles checked key by key)"],
  'tb-harness': [TB_HARNESS_DIR, 'the Thunderbird harness (real Thunderbird as a client)'],
} as const;

/**
 * False when `part` of the shared material is here; else the reason to
 * skip, for tap's `{ skip }`.
 */
export function sharedMissing(part: keyof typeof PARTS): string | false {
  const [dir, what] = PARTS[part];
  if (existsSync(dir)) return false;
  return `not covered: ${what}; it needs ${dir}. Put the project's shared folder next to the repository (../shared) or set MAIL_AUTOCONFIG_SHARED`;
}
