/**
 * Where the project's own data lives (providers/, templates/), found from
 * this module's location so it works from src/ (tests) and dist/src/ alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('mail-autoconfig: cannot find the package root');
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
export const BUNDLED_PROVIDERS_DIR = join(PROJECT_ROOT, 'providers');
export const TEMPLATES_DIR = join(PROJECT_ROOT, 'templates');
