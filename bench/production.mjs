// The Node flags `npm start` runs the service with (package.json), so the
// benchmarks measure the service as it is deployed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function productionNodeFlags() {
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1).filter((word) => word.startsWith('--'));
}

/**
 * The flags a benchmark starts the service with: npm start's, then
 * SERVICE_NODE_FLAGS (an A/B of a flag, --cpu-prof); of a flag given twice, Node takes the last.
 */
export function serviceNodeFlags(env = process.env) {
  return [...productionNodeFlags(), ...(env.SERVICE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
}
