/**
 * Private mode's cryptography, on WebCrypto only, so the browser and the server run the same
 * code (Node 24 has `globalThis.crypto.subtle`). Nothing here imports Node.
 *
 * - The organisation's key pair: ECDH P-256, generated in a browser.
 * - A key holder's copy of its private half: pkcs8, sealed with AES-256-GCM under a key
 *   derived from the holder's passphrase with PBKDF2-SHA-256 ({@link PBKDF2_ITERATIONS},
 *   a random 128-bit salt, a random 96-bit nonce; the organisation bound as associated data).
 * - A session's data key wrapped to the organisation (ECIES): an ephemeral P-256 key, ECDH
 *   with the org public key, HKDF-SHA-256 (salt: the ephemeral public key, info: the
 *   canonical `{organizationId, sessionId}`), AES-256-GCM with the same context as
 *   associated data and a random 96-bit nonce.
 * - Opening chunks and blobs sealed by lib/chunks/seal.ts (same envelope, same associated
 *   data bytes), for the browser.
 */

/** PBKDF2-SHA-256 iterations for a new passphrase (OWASP 2023: 600,000). */
export const PBKDF2_ITERATIONS = 600_000;
/** The fewest iterations a stored record may name (the floor). */
export const PBKDF2_MIN_ITERATIONS = 100_000;

/** A key holder's passphrase-wrapped copy of the org private key, as stored. */
export interface WrappedOrgKey {
  readonly v: 1;
  readonly kdf: 'pbkdf2-sha256';
  readonly iterations: number;
  /** base64 */
  readonly salt: string;
  /** base64, 12 bytes */
  readonly nonce: string;
  /** base64: AES-256-GCM ciphertext and tag of the pkcs8 private key */
  readonly ciphertext: string;
}

/** A session data key wrapped to the org public key, as stored. */
export interface PrivateSessionKey {
  readonly v: 1;
  readonly alg: 'ecies-p256-hkdf-sha256-a256gcm';
  /** base64: the ephemeral public key, raw uncompressed point (65 bytes) */
  readonly epk: string;
  /** base64, 12 bytes */
  readonly nonce: string;
  /** base64: the 32-byte data key's ciphertext and tag */
  readonly ciphertext: string;
}

/** Why opening something failed; `code` is stable snake_case. */
export class PrivateCryptoError extends Error {
  readonly code: 'wrong_passphrase' | 'malformed_record' | 'open_failed';
  constructor(code: PrivateCryptoError['code'], message: string) {
    super(message);
    this.name = 'PrivateCryptoError';
    this.code = code;
  }
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const enc = new TextEncoder();
const EC = { name: 'ECDH', namedCurve: 'P-256' } as const;
const SEAL_FORMAT = 0xc1;

/** base64 of bytes. */
export function toB64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of base64. @throws PrivateCryptoError `malformed_record`. */
export function fromB64(s: string): Uint8Array<ArrayBuffer> {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    throw new PrivateCryptoError('malformed_record', 'not base64');
  }
}

const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));
const ctxJson = (organizationId: string, sessionId: string) => JSON.stringify({ organizationId, sessionId });

/** A new org key pair; the private key is extractable so it can be wrapped for each holder. */
export async function generateOrgKeyPair(): Promise<{ publicKey: Uint8Array; privateKey: CryptoKey }> {
  const pair = await subtle().generateKey(EC, true, ['deriveBits']);
  return { publicKey: new Uint8Array(await subtle().exportKey('spki', pair.publicKey)), privateKey: pair.privateKey };
}

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<CryptoKey> {
  const base = await subtle().importKey('raw', enc.encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** What a passphrase-wrapped private key is: the org key, or a requester's personal key. */
export type WrappedKeyPurpose = 'org-private-key' | 'holder-request-key';

const holderAad = (organizationId: string, kind: WrappedKeyPurpose = 'org-private-key') =>
  enc.encode(JSON.stringify({ kind, organizationId }));

/** Wraps the org private key under a holder's passphrase. */
export async function wrapOrgPrivateKey(
  privateKey: CryptoKey,
  passphrase: string,
  organizationId: string,
  iterations = PBKDF2_ITERATIONS,
  purpose: WrappedKeyPurpose = 'org-private-key',
): Promise<WrappedOrgKey> {
  const salt = random(16);
  const nonce = random(12);
  const pkcs8 = await subtle().exportKey('pkcs8', privateKey);
  const key = await passphraseKey(passphrase, salt, iterations);
  const ct = await subtle().encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: holderAad(organizationId, purpose) },
    key,
    pkcs8,
  );
  return {
    v: 1,
    kdf: 'pbkdf2-sha256',
    iterations,
    salt: toB64(salt),
    nonce: toB64(nonce),
    ciphertext: toB64(new Uint8Array(ct)),
  };
}

/**
 * The org private key from a holder's copy and their passphrase (extractable, so that a
 * holder can re-wrap it under a new passphrase or for nobody else: a holder wraps only
 * their own copy).
 * @throws PrivateCryptoError `wrong_passphrase` (or a copy altered), `malformed_record`.
 */
export async function unwrapOrgPrivateKey(
  record: WrappedOrgKey,
  passphrase: string,
  organizationId: string,
  purpose: WrappedKeyPurpose = 'org-private-key',
): Promise<CryptoKey> {
  if (record.v !== 1 || record.kdf !== 'pbkdf2-sha256' || !(record.iterations >= PBKDF2_MIN_ITERATIONS))
    throw new PrivateCryptoError('malformed_record', 'unknown key record');
  const key = await passphraseKey(passphrase, fromB64(record.salt), record.iterations);
  let pkcs8: ArrayBuffer;
  try {
    pkcs8 = await subtle().decrypt(
      { name: 'AES-GCM', iv: fromB64(record.nonce), additionalData: holderAad(organizationId, purpose) },
      key,
      fromB64(record.ciphertext),
    );
  } catch {
    throw new PrivateCryptoError('wrong_passphrase', 'That passphrase does not open the organisation key.');
  }
  return subtle().importKey('pkcs8', pkcs8, EC, true, ['deriveBits']);
}

async function eciesKey(shared: ArrayBuffer, epk: Uint8Array<ArrayBuffer>, info: string): Promise<CryptoKey> {
  const ikm = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: epk, info: enc.encode(info) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** ECIES to a P-256 public key (spki): `info` is both the HKDF info and the associated data. */
async function eciesSeal(
  publicKeySpki: Uint8Array<ArrayBuffer>,
  plaintext: Uint8Array<ArrayBuffer>,
  info: string,
): Promise<PrivateSessionKey> {
  const pub = await subtle().importKey('spki', publicKeySpki, EC, false, []);
  const eph = await subtle().generateKey(EC, true, ['deriveBits']);
  const epk = new Uint8Array(await subtle().exportKey('raw', eph.publicKey));
  const shared = await subtle().deriveBits({ name: 'ECDH', public: pub }, eph.privateKey, 256);
  const key = await eciesKey(shared, epk, info);
  const nonce = random(12);
  const ct = await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: enc.encode(info) }, key, plaintext);
  return {
    v: 1,
    alg: 'ecies-p256-hkdf-sha256-a256gcm',
    epk: toB64(epk),
    nonce: toB64(nonce),
    ciphertext: toB64(new Uint8Array(ct)),
  };
}

/** Opens {@link eciesSeal}. @throws PrivateCryptoError `open_failed`, `malformed_record`. */
async function eciesOpen(record: PrivateSessionKey, privateKey: CryptoKey, info: string): Promise<ArrayBuffer> {
  if (record.v !== 1 || record.alg !== 'ecies-p256-hkdf-sha256-a256gcm')
    throw new PrivateCryptoError('malformed_record', 'unknown key record');
  const epk = fromB64(record.epk);
  try {
    const ephPub = await subtle().importKey('raw', epk, EC, false, []);
    const shared = await subtle().deriveBits({ name: 'ECDH', public: ephPub }, privateKey, 256);
    const key = await eciesKey(shared, epk, info);
    return await subtle().decrypt(
      { name: 'AES-GCM', iv: fromB64(record.nonce), additionalData: enc.encode(info) },
      key,
      fromB64(record.ciphertext),
    );
  } catch {
    throw new PrivateCryptoError('open_failed', 'This key record does not open with this key.');
  }
}

/** Wraps a session's 32-byte data key to the org public key (spki). */
export function wrapSessionKey(
  publicKeySpki: Uint8Array<ArrayBuffer>,
  dataKey: Uint8Array<ArrayBuffer>,
  organizationId: string,
  sessionId: string,
): Promise<PrivateSessionKey> {
  return eciesSeal(publicKeySpki, dataKey, ctxJson(organizationId, sessionId));
}

/**
 * The 32 raw bytes of a session's data key, with the org private key.
 * @throws PrivateCryptoError `open_failed` (another org's key, another session, altered).
 */
export async function unwrapSessionKey(
  record: PrivateSessionKey,
  privateKey: CryptoKey,
  organizationId: string,
  sessionId: string,
): Promise<Uint8Array> {
  return new Uint8Array(await eciesOpen(record, privateKey, ctxJson(organizationId, sessionId)));
}

const grantInfo = (organizationId: string, userId: string) =>
  JSON.stringify({ kind: 'org-key-grant', organizationId, userId });

/** A key holder grants the org private key to a requester's personal public key (spki). */
export async function grantOrgKey(
  orgPrivateKey: CryptoKey,
  requesterSpki: Uint8Array<ArrayBuffer>,
  organizationId: string,
  userId: string,
): Promise<PrivateSessionKey> {
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', orgPrivateKey));
  return eciesSeal(requesterSpki, pkcs8, grantInfo(organizationId, userId));
}

/**
 * The org private key from a grant, with the requester's personal private key.
 * @throws PrivateCryptoError `open_failed`.
 */
export async function openOrgKeyGrant(
  grant: PrivateSessionKey,
  personalKey: CryptoKey,
  organizationId: string,
  userId: string,
): Promise<CryptoKey> {
  const pkcs8 = await eciesOpen(grant, personalKey, grantInfo(organizationId, userId));
  return subtle().importKey('pkcs8', pkcs8, EC, true, ['deriveBits']);
}

/** A short fingerprint of a public key (spki) to compare out of band: 8 groups of 4 hex digits of its SHA-256. */
export async function keyFingerprint(spki: Uint8Array<ArrayBuffer>): Promise<string> {
  const h = new Uint8Array(await subtle().digest('SHA-256', spki));
  const hex = [...h.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)?.join(' ') ?? hex;
}

/** A session data key for {@link openSealed} (not extractable). */
export function importDataKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle().importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
}

/** Same bytes as lib/chunks/seal.ts's chunk associated data. */
export function chunkAadBytes(
  organizationId: string,
  sessionId: string,
  trackId: string,
  seq: number,
): Uint8Array<ArrayBuffer> {
  return enc.encode(JSON.stringify({ format: SEAL_FORMAT, kind: 'chunk', organizationId, seq, sessionId, trackId }));
}

/** Same bytes as lib/chunks/seal.ts's blob associated data. */
export function blobAadBytes(
  organizationId: string,
  sessionId: string,
  kind: string,
  name: string,
): Uint8Array<ArrayBuffer> {
  return enc.encode(JSON.stringify({ format: SEAL_FORMAT, kind, name, organizationId, sessionId }));
}

/**
 * Opens a v1 envelope (lib/chunks/seal.ts) with WebCrypto.
 * @throws PrivateCryptoError `open_failed`.
 */
export async function openSealed(
  key: CryptoKey,
  aad: Uint8Array<ArrayBuffer>,
  sealed: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  if (sealed.length < 29 || sealed[0] !== SEAL_FORMAT)
    throw new PrivateCryptoError('open_failed', 'not a sealed object');
  try {
    const plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: sealed.subarray(1, 13), additionalData: aad },
      key,
      sealed.subarray(13),
    );
    return new Uint8Array(plain);
  } catch {
    throw new PrivateCryptoError('open_failed', 'A stored part of this recording failed its integrity check.');
  }
}
