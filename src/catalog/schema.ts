/**
 * The provider JSON Schema (providers/provider.schema.json, which editors
 * use too) and its validator: the one `npm run build` wrote as code
 * (build-validator.ts) when it is there, else compiled now. Both come from
 * the same ajv options.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Options, ValidateFunction } from 'ajv';
import { BUNDLED_PROVIDERS_DIR } from '../paths.js';

export const SCHEMA_PATH = join(BUNDLED_PROVIDERS_DIR, 'provider.schema.json');
/**
 * The file build-validator writes next to this module's compiled form:
 * CommonJS, because ajv's ESM output still calls require() for its runtime
 * helpers (ucs2length, equal).
 */
export const PRECOMPILED_VALIDATOR = 'provider-validator.cjs';
/** All errors, each with its schema (messages name the allowed values). */
export const SCHEMA_OPTIONS: Options = { allErrors: true, verbose: true, strict: true, allowUnionTypes: true };

export function readProviderSchema(): object {
  return JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;
}

export async function loadSchemaValidator(): Promise<ValidateFunction> {
  const precompiled = new URL(PRECOMPILED_VALIDATOR, import.meta.url);
  if (existsSync(precompiled)) return ((await import(precompiled.href)) as { default: ValidateFunction }).default;
  const { Ajv } = await import('ajv');
  return new Ajv(SCHEMA_OPTIONS).compile(readProviderSchema());
}
