/** The validator the build writes as code gives the same verdicts and errors as the schema compiled at run time. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../src/paths.js';
import { PRECOMPILED_VALIDATOR, readProviderSchema, SCHEMA_OPTIONS } from '../src/catalog/schema.js';

const built = join(PROJECT_ROOT, 'dist', 'src', 'catalog', PRECOMPILED_VALIDATOR);

t.test('precompiled and run-time validators agree', { skip: existsSync(built) ? false : 'run npm run build first' }, async (t) => {
  const precompiled = ((await import(built)) as { default: ValidateFunction }).default;
  const compiled = new Ajv(SCHEMA_OPTIONS).compile(readProviderSchema());
  const example = parse(readFileSync(join(PROJECT_ROOT, 'providers', 'example.yaml'), 'utf8')) as Record<string, unknown>;
  const hoster = parse(readFileSync(join(PROJECT_ROOT, 'providers', 'hoster-example.yaml'), 'utf8')) as Record<string, unknown>;
  const inputs: unknown[] = [
    example,
    hoster,
    {},
    { ...example, incoming: [{ type: 'imap', host: 'imap.example.com', socketType: 'TLS' }] },
    { ...example, domains: 'example.com', unknownKey: 1 },
    { ...example, name: { en: 'x'.repeat(3000) } },
    { ...example, outgoing: [{ host: 'smtp.example.com', port: 70000, authentication: ['oauth2', 'kerberos'] }] },
  ];
  for (const [i, input] of inputs.entries()) {
    const a = precompiled(input);
    const errorsA = JSON.stringify(precompiled.errors ?? []);
    const b = compiled(input);
    const errorsB = JSON.stringify(compiled.errors ?? []);
    t.equal(a, b, `input ${i}: the same verdict (${b ? 'valid' : 'invalid'})`);
    t.equal(errorsA, errorsB, `input ${i}: the same errors`);
  }
});
