/**
 * Figures the suite measures (lookups, load, memory) go to
 * test/output/figures.txt, which `npm test` prints at the end: test
 * processes' own output is not shown by the reporter outside a terminal.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export function figure(text: string): void {
  const dir = join(PROJECT_ROOT, 'test', 'output');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'figures.txt'), `${text.trimEnd()}\n`);
}
