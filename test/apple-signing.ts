import { writeFileSync } from 'node:fs';
import t from 'tap';
import { SignedProfileCache } from '../src/answers/signed-profiles.js';
import { createSigner } from '../src/formats/signing.js';
import { SignerSource } from '../src/keys/signer-source.js';
import { liveFiles, makePki, opensslVerify, type KeyKind } from './helpers/pki.js';
import { request, startServer } from './helpers/server.js';
import { APPLE_SCHEMA_MISSING, validateProfile } from './helpers/apple-validator.js';

for (const kind of ['rsa', 'p256'] as KeyKind[]) {
  t.test(`${kind}: signed profiles verify with openssl and carry the unsigned bytes`, async (t) => {
    const pki = makePki(kind);
    const signer = new SignerSource({ keyFile: pki.keyFile, certFile: pki.chainFile });
    const { url: signedUrl } = await startServer(t, { signer });
    const { url: plainUrl } = await startServer(t);
    for (const query of ['emailaddress=alice%40example.com&name=J%C3%BCrgen%20%26%20Ren%C3%A9e', `emailaddress=${encodeURIComponent('kunde@bücher.example')}`]) {
      const signed = await request(`${signedUrl}/mobileconfig?${query}`);
      const unsigned = await request(`${plainUrl}/mobileconfig?${query}`);
      t.equal(signed.status, 200);
      t.equal(signed.headers['content-type'], 'application/x-apple-aspen-config');
      t.equal(signed.body[0], 0x30, 'DER (a SEQUENCE), not XML');
      const content = opensslVerify(pki, signed.body, `${kind}-${query.length}`);
      t.ok(content.equals(unsigned.body), 'the embedded content equals the unsigned profile byte for byte');
      if (APPLE_SCHEMA_MISSING) t.comment(APPLE_SCHEMA_MISSING);
      else t.same(validateProfile(content.toString('utf8')).errors, []);
      const tampered = Buffer.from(signed.body);
      const at = tampered.indexOf(Buffer.from('PayloadDisplayName'));
      tampered[at] = tampered[at]! ^ 0x01;
      t.throws(() => opensslVerify(pki, tampered, `${kind}-tampered`), 'a flipped byte fails verification');
    }
    // The full chain is inside: verification with only the root as trust anchor passed above.
  });
}

t.test('a key that does not belong to the certificate is refused', async (t) => {
  const a = makePki('rsa');
  const b = makePki('rsa');
  await t.rejects(createSigner(a.keyPem, b.chainPem), /does not belong to the first certificate/);
  await t.rejects(createSigner('not a key', a.chainPem), /no readable PEM private key/);
  await t.rejects(createSigner(a.keyPem, 'no certificate'), /no PEM certificate/);
});

t.test('renewed certificate files are picked up without a restart', async (t) => {
  const first = makePki('rsa', 30);
  const second = makePki('p256', 60);
  const live = liveFiles(first, 'live');
  const { keyFile, certFile } = live;
  const source = new SignerSource({ keyFile, certFile });
  const before = await source.current();
  t.ok(before);
  await source.watch(50);
  t.teardown(() => source.close());
  // Picked up by the watch (fs.watch events, or the poll), within a bounded wait.
  const changed = async (done: () => boolean) => {
    for (let waited = 0; !done() && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  live.renew(second);
  await changed(() => source.loaded?.fingerprint !== before!.fingerprint);
  const after = await source.current();
  t.not(after!.fingerprint, before!.fingerprint, 'a new signer');
  t.ok(after!.notAfter > before!.notAfter);
  writeFileSync(certFile, 'broken');
  await changed(() => source.lastError !== undefined);
  const kept = await source.current();
  t.equal(kept!.fingerprint, after!.fingerprint, 'a broken renewal keeps the last good signer');
  t.match(source.lastError, /no PEM certificate/);
});

t.test('the signed-profile cache: same inputs and signer, same answer; bounded in memory', async (t) => {
  const pki = makePki('p256');
  const signer = await createSigner(pki.keyPem, pki.chainPem);
  const cache = new SignedProfileCache(10_000);
  const provider = {};
  t.equal(cache.get(signer, provider, 'a'), undefined, 'nothing before the first signature');
  const a = await cache.sign(signer, provider, 'a', Buffer.from('<plist>a</plist>'));
  t.equal(cache.get(signer, provider, 'a'), a, 'a repeated profile comes from the cache');
  t.equal(cache.get(signer, {}, 'a'), undefined, 'a reloaded provider (another object) is signed again');
  t.not(await cache.sign(signer, provider, 'b', Buffer.from('<plist>b</plist>')), a, 'other inputs, another signature');
  t.ok(opensslVerify(pki, a, 'cached').equals(Buffer.from('<plist>a</plist>')), 'the cached answer verifies');
  for (let i = 0; i < 100; i++) await cache.sign(signer, provider, String(i), Buffer.from(`<plist>${i}</plist>`));
  t.ok(cache.size < 100, `bounded: ${cache.size} entries kept of 102 within 10 kB`);
  t.equal(cache.get(signer, provider, 'a'), undefined, 'the least recently used went first');
  const renewed = await createSigner(pki.keyPem, pki.chainPem + '\n');
  t.equal(cache.get(renewed, provider, '99'), undefined, 'a new certificate signs again');
});

t.test('the signed-profile cache keeps a profile asked for again over older unused ones', async (t) => {
  const pki = makePki('p256');
  const signer = await createSigner(pki.keyPem, pki.chainPem);
  const provider = {};
  const one = (await new SignedProfileCache().sign(signer, provider, 'x', Buffer.from('<plist>0</plist>'))).length;
  // Room for three signed profiles of this size, not four.
  const cache = new SignedProfileCache(3 * one + one / 2);
  for (const name of ['0', '1', '2']) await cache.sign(signer, provider, name, Buffer.from(`<plist>${name}</plist>`));
  t.ok(cache.get(signer, provider, '0'), 'the oldest, asked for again');
  await cache.sign(signer, provider, '3', Buffer.from('<plist>3</plist>'));
  t.ok(cache.get(signer, provider, '0'), 'kept: used since it was stored');
  t.equal(cache.get(signer, provider, '1'), undefined, 'the oldest unused one went instead');
  t.ok(cache.get(signer, provider, '2') && cache.get(signer, provider, '3'), 'the newer ones stay');
  t.equal(cache.size, 3);
  // Every kept one used again: each gets its second chance, and the oldest goes, never the new one.
  await cache.sign(signer, provider, '4', Buffer.from('<plist>4</plist>'));
  t.ok(cache.get(signer, provider, '4'), 'the profile just signed is kept');
  t.equal(cache.get(signer, provider, '2'), undefined, 'the oldest went');
  t.equal(cache.size, 3, 'still within the bound');
});
