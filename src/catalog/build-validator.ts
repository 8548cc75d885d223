/**
 * Run by `npm run build`: writes the provider schema's validator as code
 * (ajv's standalone output) next to the compiled loader, so that a
 * start neither loads ajv's compiler nor compiles the schema (a good part
 * of start-up; docs/performance.md). schema.ts falls back to compiling it when the
 * file is missing (running from the sources, in tests).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { PRECOMPILED_VALIDATOR, readProviderSchema, SCHEMA_OPTIONS } from './schema.js';

const ajv = new Ajv({ ...SCHEMA_OPTIONS, code: { source: true } });
const code = standaloneCode.default(ajv, ajv.compile(readProviderSchema()));
const target = fileURLToPath(new URL(PRECOMPILED_VALIDATOR, import.meta.url));
writeFileSync(target, `// Written by build-validator.js from providers/provider.schema.json; do not edit.\n${code}`);
console.log(`provider schema validator written to ${target}`);
