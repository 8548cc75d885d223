/**
 * Signing Apple profiles: CMS SignedData (RFC 5652) in DER, the profile as
 * attached id-data content, the full chain included, SHA-256 with RSA or
 * ECDSA. Apple DTS: "signed profiles are actually CMS signed data values"
 * (developer.apple.com/forums/thread/699960). pkijs is used because it is
 * the maintained library that handles both RSA and ECDSA keys correctly
 * (node-forge is RSA-only and mangles UTF-8 given as a JS string).
 */
import { createHash, createPrivateKey, hash, sign as cryptoSign, webcrypto, type KeyObject } from 'node:crypto';
import type * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';

/**
 * pkijs and asn1js read certificates and encode the constant parts when a
 * signer is made; they are loaded then, not at start-up (a service without
 * a signing certificate never needs them, and starts faster and smaller).
 */
let libraries: Promise<{ asn1js: typeof Asn1js; pkijs: typeof Pkijs }> | undefined;
function asn1Libraries(): Promise<{ asn1js: typeof Asn1js; pkijs: typeof Pkijs }> {
  libraries ??= Promise.all([import('asn1js'), import('pkijs')]).then(([asn1js, pkijs]) => {
    pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }));
    return { asn1js, pkijs };
  });
  return libraries;
}

const ID_DATA = '1.2.840.113549.1.7.1';
const CONTENT_TYPE_ATTRIBUTE = '1.2.840.113549.1.9.3';
const SIGNING_TIME_ATTRIBUTE = '1.2.840.113549.1.9.5';
const MESSAGE_DIGEST_ATTRIBUTE = '1.2.840.113549.1.9.4';

export interface ProfileSigner {
  /** The leaf certificate's end of validity. */
  readonly notAfter: Date;
  readonly subject: string;
  /** Changes whenever the certificate or key changes (cache keys). */
  readonly fingerprint: string;
  sign(content: Buffer): Promise<Buffer>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

const der = (block: { toBER(sizeOnly?: boolean): ArrayBuffer }): Buffer => Buffer.from(block.toBER(false));

/**
 * DER TLVs around parts that are already DER. asn1js (which encodes the
 * certificates' pieces here) cannot embed pre-encoded bytes, and
 * re-encoding the certificate chain for every signature cost more than the
 * RSA signature itself; X.690 8.1.3 definite lengths are all this needs.
 * A tree of TLVs is written in one allocation (toDer), so the profile and
 * the chain are copied once per signature, not once per nesting level.
 */
interface Tlv {
  readonly tag: number;
  readonly parts: readonly (Tlv | Buffer)[];
  /** Length of the contents. */
  readonly length: number;
}

function tlv(tag: number, ...parts: (Tlv | Buffer)[]): Tlv {
  let length = 0;
  for (const part of parts) length += encodedLength(part);
  return { tag, parts, length };
}

function lengthOctets(length: number): number {
  let octets = 1;
  if (length >= 0x80) for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets++;
  return octets;
}

function encodedLength(part: Tlv | Buffer): number {
  return Buffer.isBuffer(part) ? part.length : 1 + lengthOctets(part.length) + part.length;
}

function toDer(root: Tlv): Buffer {
  const out = Buffer.allocUnsafe(encodedLength(root));
  const write = (part: Tlv | Buffer, at: number): number => {
    if (Buffer.isBuffer(part)) return at + part.copy(out, at);
    out[at++] = part.tag;
    const octets = lengthOctets(part.length);
    if (octets === 1) out[at++] = part.length;
    else {
      out[at++] = 0x80 | (octets - 1);
      for (let i = octets - 2; i >= 0; i--) out[at++] = Math.floor(part.length / 256 ** i) % 256;
    }
    for (const child of part.parts) at = write(child, at);
    return at;
  };
  write(root, 0);
  return out;
}
const SEQUENCE = 0x30;
const SET = 0x31;
const CONTEXT_0 = 0xa0;
const OCTET_STRING = 0x04;
const UTC_TIME = 0x17;

/** X.680 UTCTime, YYMMDDHHMMSSZ (RFC 5652 11.3: signing times before 2050). */
function utcTime(date: Date): Buffer {
  const two = (n: number) => String(n).padStart(2, '0');
  const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return toDer(tlv(UTC_TIME, Buffer.from(text, 'ascii')));
}

/**
 * A signer from a PEM private key and a PEM chain (leaf first, then
 * intermediates). pkijs reads the certificates once; each signature is made
 * with node:crypto (OpenSSL); the parts that never change (certificates,
 * signer identifier, algorithm identifiers) are encoded once. Several times
 * faster than pkijs' own WebCrypto path.
 */
export async function createSigner(keyPem: string, chainPem: string): Promise<ProfileSigner> {
  const { asn1js, pkijs } = await asn1Libraries();
  const pems = chainPem.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new Error('the certificate file holds no PEM certificate');
  const ders = pems.map((pem) => pemToDer(pem));
  const certificates = ders.map((bytes) => pkijs.Certificate.fromBER(new Uint8Array(bytes)));
  const leaf = certificates[0]!;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch {
    throw new Error('the key file holds no readable PEM private key');
  }
  const algorithmParams = signingAlgorithm(keyObject);
  const key = await webcrypto.subtle.importKey('pkcs8', new Uint8Array(keyObject.export({ format: 'der', type: 'pkcs8' })), algorithmParams, false, ['sign']);
  await assertKeyMatchesLeaf(key, algorithmParams, leaf);

  const isEc = algorithmParams.name === 'ECDSA';
  const oid = (value: string) => der(new asn1js.ObjectIdentifier({ value }));
  const algorithm = (value: string, nullParameters: boolean) => toDer(tlv(SEQUENCE, oid(value), ...(nullParameters ? [der(new asn1js.Null())] : [])));
  // Encoded once: RFC 5652 5.1 certificates [0] IMPLICIT, 5.3 sid, algorithms.
  const certificateSet = toDer(tlv(CONTEXT_0, ...ders));
  const issuerAndSerial = der(new asn1js.Sequence({ value: [leaf.issuer.toSchema(), leaf.serialNumber] }));
  const digestAlgorithm = algorithm(OID.sha256, false);
  const signatureAlgorithm = isEc ? algorithm(OID.ecdsaWithSha256, false) : algorithm(OID.rsaEncryption, true);
  const version = der(new asn1js.Integer({ value: 1 }));
  const dataType = oid(ID_DATA);
  const signedDataType = oid(OID.signedData);
  const contentTypeAttribute = toDer(tlv(SEQUENCE, oid(CONTENT_TYPE_ATTRIBUTE), tlv(SET, oid(ID_DATA))));
  const signingTimeType = oid(SIGNING_TIME_ATTRIBUTE);
  const messageDigestType = oid(MESSAGE_DIGEST_ATTRIBUTE);

  return {
    notAfter: leaf.notAfter.value,
    subject: leaf.subject.typesAndValues.map((tv) => `${tv.type === '2.5.4.3' ? 'CN' : tv.type}=${tv.value.valueBlock.value}`).join(', '),
    fingerprint: createHash('sha256').update(chainPem).update(keyObject.export({ format: 'der', type: 'pkcs8' })).digest('hex').slice(0, 16),
    async sign(content: Buffer): Promise<Buffer> {
      // Signed attributes, in DER order (by encoding): content type, signing time, message digest.
      const attributes = [
        contentTypeAttribute,
        tlv(SEQUENCE, signingTimeType, tlv(SET, utcTime(new Date()))),
        tlv(SEQUENCE, messageDigestType, tlv(SET, tlv(OCTET_STRING, hash('sha256', content, 'buffer')))),
      ];
      // RFC 5652 5.4: the signature covers the attributes as a SET; they are sent as [0] IMPLICIT.
      const signedAttributes = toDer(tlv(SET, ...attributes));
      // An RSA signature takes far longer than the rest of a request: it is
      // made in libuv's thread pool, so other requests go on meanwhile (and
      // other cores help where there are some); on one core this kept the
      // throughput and cut the tail (docs/performance.md). ECDSA is cheaper
      // than the hand-off.
      const signature = isEc
        ? cryptoSign('sha256', signedAttributes, { key: keyObject, dsaEncoding: 'der' })
        : await new Promise<Buffer>((resolve, reject) => cryptoSign('sha256', signedAttributes, keyObject, (error, value) => (error ? reject(error) : resolve(value))));
      const signerInfo = tlv(SEQUENCE, version, issuerAndSerial, digestAlgorithm, tlv(CONTEXT_0, ...attributes), signatureAlgorithm, tlv(OCTET_STRING, signature));
      const encapsulated = tlv(SEQUENCE, dataType, tlv(CONTEXT_0, tlv(OCTET_STRING, content)));
      const signedData = tlv(SEQUENCE, version, tlv(SET, digestAlgorithm), encapsulated, certificateSet, tlv(SET, signerInfo));
      return toDer(tlv(SEQUENCE, signedDataType, tlv(CONTEXT_0, signedData)));
    },
  };
}

function signingAlgorithm(key: KeyObject): RsaHashedImportParams | EcKeyImportParams {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ec') {
    const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
    const curve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) return { name: 'ECDSA', namedCurve: curve };
  }
  throw new Error(`signing keys must be RSA or ECDSA (P-256, P-384, P-521), not ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Refuse a key that does not belong to the leaf certificate: every signature would fail to verify. */
async function assertKeyMatchesLeaf(key: CryptoKey, algorithm: RsaHashedImportParams | EcKeyImportParams, leaf: Pkijs.Certificate): Promise<void> {
  const probe = new TextEncoder().encode('mail-autoconfig key check');
  const signAlgorithm = algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : algorithm;
  const signature = await webcrypto.subtle.sign(signAlgorithm, key, probe);
  const publicKey = await webcrypto.subtle.importKey('spki', leaf.subjectPublicKeyInfo.toSchema().toBER(false), algorithm, false, ['verify']);
  if (!(await webcrypto.subtle.verify(signAlgorithm, publicKey, signature, probe))) {
    throw new Error('the signing key does not belong to the first certificate of the chain');
  }
}

/** The profile inside a signed (CMS SignedData, DER) profile, or undefined if it is not one. */
export async function unwrapSignedProfile(der: Buffer): Promise<Buffer | undefined> {
  const { pkijs } = await asn1Libraries();
  try {
    const contentInfo = pkijs.ContentInfo.fromBER(new Uint8Array(der));
    if (contentInfo.contentType !== pkijs.ContentInfo.SIGNED_DATA) return undefined;
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    const content = signedData.encapContentInfo.eContent;
    return content ? Buffer.from(content.getValue()) : undefined;
  } catch {
    return undefined;
  }
}
