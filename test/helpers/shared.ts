/** The project's shared research material, next to the repository (../shared). */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export const SHARED_DIR = process.env.MAIL_AUTOCONFIG_SHARED ?? join(PROJECT_ROOT, '..', 'shared');
export const ISPDB_DIR = join(SHARED_DIR, 'ispdb');
export const AUTODISCOVER_SCHEMA_DIR = join(SHARED_DIR, 'research', 'autodiscover-schema');
export const APPLE_SCHEMA_DIR = join(SHARED_DIR, 'apple-schema');
export const TB_HARNESS_DIR = join(SHARED_DIR, 'tb-harness');
