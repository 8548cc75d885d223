/**
 * The reload worker: compiles the catalog (compile.ts) off the main thread
 * and sends it back with the domain index packed into transferred buffers
 * (packed-index.ts), so that a reload of any size costs the event loop
 * nothing but the swap. The providers travel without their domains.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Compiler } from './compile.js';
import { packDomains } from './packed-index.js';

export interface ReloadRequest {
  readonly id: number;
  readonly paths: readonly string[];
}

const compiler = new Compiler((workerData as { seed?: { file: string; text: string }[] } | undefined)?.seed ?? []);

parentPort!.on('message', (request: ReloadRequest) => {
  compiler.compile(request.paths).then(
    (compiled) => {
      const packed = packDomains(compiled.providers);
      const providers = compiled.providers.map((provider) => ({ ...provider, domains: [] }));
      parentPort!.postMessage(
        { id: request.id, ok: true, compiled: { ...compiled, providers }, packed },
        [packed.records.buffer, packed.table.buffer] as ArrayBuffer[],
      );
    },
    (error: unknown) => parentPort!.postMessage({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
