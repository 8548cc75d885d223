/** The validator itself gives Apple's expected verdict on the example profiles. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { validateProfile } from './helpers/apple-validator.js';
import { APPLE_SCHEMA_DIR, sharedMissing } from './helpers/shared.js';

const EXPECTED_ERROR: Record<string, RegExp> = {
  'invalid-caldavport-real.mobileconfig': /CalDAVPort: real, schema says integer/,
  'invalid-payloadversion.mobileconfig': /profile\.PayloadVersion: 2 not in \[1\]/,
  'invalid-missing-outgoing-auth.mobileconfig': /missing required OutgoingMailServerAuthentication/,
  'invalid-auth-value.mobileconfig': /EmailAuthPlain not in/,
  'invalid-port-as-string.mobileconfig': /PortNumber: string, schema says integer/,
  'invalid-duplicate-payload-uuid.mobileconfig': /PayloadUUID .* is used twice/,
};

const examples = join(APPLE_SCHEMA_DIR, 'examples');
const skip = sharedMissing('apple-schema');
const files = skip ? [] : readdirSync(examples).filter((f) => f.endsWith('.mobileconfig'));

t.test('every example gets its documented verdict', { skip }, async (t) => {
  t.equal(files.length, 10);
  for (const file of files) {
    const verdict = validateProfile(readFileSync(join(examples, file), 'utf8'));
    if (file.startsWith('valid-')) {
      t.same(verdict.errors, [], `${file} is valid`);
    } else {
      t.equal(verdict.errors.length, 1, `${file}: exactly one error (${verdict.errors.join('; ')})`);
      t.match(verdict.errors[0], EXPECTED_ERROR[file]!, file);
    }
  }
});
