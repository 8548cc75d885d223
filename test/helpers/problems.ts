/** Checking what loading a provider file reports, where (file:line:column). */
import type { Test } from 'tap';
import { loadProvider } from '../../src/catalog/load.js';
import { formatProblem } from '../../src/catalog/problems.js';

/** The file is rejected with an error matching `pattern` at line:column. */
export function expectLoadError(t: Test, file: string, text: string, line: number, column: number, pattern: RegExp): void {
  const result = loadProvider(file, text);
  t.equal(result.provider, undefined, 'the file is rejected');
  const errors = result.problems.filter((p) => p.severity === 'error');
  const match = errors.find((p) => pattern.test(p.message));
  t.ok(match, `an error matching ${pattern}; got: ${errors.map(formatProblem).join(' | ')}`);
  if (match) t.same([match.file, match.line, match.column], [file, line, column], formatProblem(match));
}
