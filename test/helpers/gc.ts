import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Call the garbage collector without starting node with --expose-gc, before a memory reading. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
