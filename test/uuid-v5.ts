/** Profile identifiers are UUID version 5 (RFC 9562 5.5), stable across installs. */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { uuidV5 } from '../src/formats/apple.js';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

/** The RFC's construction, byte by byte. */
function reference(name: string, namespace: string): string {
  const digest = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

t.equal(uuidV5('www.example.com', DNS), '2ed6657d-e927-568b-95e1-2665a8aea6a2', 'RFC 9562 appendix A.4');

t.test('the same as the RFC construction for many names, every variant digit', async (t) => {
  const variants = new Set<string>();
  let differing = 0;
  for (let i = 0; i < 2000; i++) {
    const name = i % 3 === 0 ? `bücher-${randomBytes(4).toString('hex')}@例え.example` : randomBytes(1 + (i % 40)).toString('base64');
    const ours = uuidV5(name, DNS);
    if (ours !== reference(name, DNS)) differing++;
    variants.add(ours[19]!);
  }
  t.equal(differing, 0);
  t.same([...variants].sort(), ['8', '9', 'a', 'b']);
  const long = 'x'.repeat(2000);
  t.equal(uuidV5(long, DNS), reference(long, DNS), 'a name longer than the scratch buffer');
});
