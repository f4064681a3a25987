/**
 * The sealed envelope for recorded chunks and other per-session blobs (transcripts).
 *
 * Format v1, as stored:
 *
 *     byte 0       0xC1: magic and format version in one byte (a future format gets 0xC2…)
 *     bytes 1–12   nonce: 96 random bits, fresh for every seal
 *     bytes 13–    AES-256-GCM ciphertext, same length as the plaintext
 *     last 16      GCM authentication tag
 *
 * Overhead: 29 bytes per object. The key is the session's 32-byte data key, as a Buffer or,
 * for a hot loop such as the SFU's capture, a `KeyObject` (`createSecretKey(dataKey)`), which
 * skips re-importing the key on every seal.
 *
 * Associated data (authenticated, not stored): canonical JSON, keys sorted, of
 * `{format, kind, organizationId, sessionId, trackId, seq}` for a chunk (`kind: "chunk"`),
 * or `{format, kind, name, organizationId, sessionId}` for a blob whose kind is anything but
 * "chunk". Opening with any other binding fails, so a chunk moved to another session or
 * track, replayed at another sequence number, opened as a transcript, altered in any bit,
 * truncated or opened with another key is refused with {@link SealError}
 * `seal_open_failed`. Dropping whole chunks from the end of a track is not visible to one
 * chunk's envelope: the chunk rows in Postgres (count, sequence numbers) detect that.
 *
 * Why random nonces rather than a counter derived from (track, seq): with 96-bit random
 * nonces the chance that two seals under one key repeat a nonce is about n²/2⁹⁷. One data
 * key serves one session: a 10-hour session with 50 tracks at 4-second chunks is 450 000
 * (< 2¹⁹) seals, a collision chance below 2⁻⁵⁹, far inside NIST SP 800-38D's 2³²-message
 * bound for random nonces. A counter would be unique only while (track, seq) is never
 * reused under the key, which a restarted SFU re-capturing a sequence number could break;
 * a GCM nonce reuse leaks the XOR of plaintexts and the authentication key. Random needs
 * no state and survives restarts.
 */
import { createCipheriv, createDecipheriv, KeyObject, randomBytes } from 'node:crypto';

/** The first byte of every v1 envelope. */
export const SEAL_FORMAT = 0xc1;
const NONCE = 12;
const TAG = 16;
/** Bytes added to a plaintext by sealing. */
export const SEAL_OVERHEAD = 1 + NONCE + TAG;

/** A session data key: 32 bytes, or a secret KeyObject of 32 bytes. */
export type SealKey = Buffer | KeyObject;

/** Where a chunk belongs: the associated data bound into its seal. */
export interface ChunkBinding {
  readonly organizationId: string;
  readonly sessionId: string;
  readonly trackId: string;
  /** The chunk's position in its track, a non-negative safe integer. */
  readonly seq: number;
}

/** Where a sealed blob belongs. `kind` (e.g. "transcript") must not be "chunk". */
export interface BlobBinding {
  readonly organizationId: string;
  readonly sessionId: string;
  /** Lower-case letters, digits and hyphens, at most 32 characters. */
  readonly kind: string;
  /** Which blob of that kind, e.g. a transcript id or "full". */
  readonly name: string;
}

export type SealErrorCode = 'seal_open_failed' | 'seal_malformed' | 'invalid_seal_binding' | 'invalid_data_key';

/** A typed sealing failure with a stable snake_case `code`. */
export class SealError extends Error {
  readonly code: SealErrorCode;
  constructor(code: SealErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealError';
    this.code = code;
  }
}

/**
 * Seals one captured chunk under the session's data key.
 * @throws SealError `invalid_data_key` (not 32 bytes), `invalid_seal_binding`.
 */
export function sealChunk(key: SealKey, binding: ChunkBinding, plaintext: Buffer): Buffer {
  return seal(key, chunkAad(binding), plaintext);
}

/**
 * Opens a chunk sealed by {@link sealChunk} with the same key and binding.
 * @throws SealError `seal_open_failed` on any mismatch or alteration, `seal_malformed`
 *   (too short or an unknown format byte), `invalid_data_key`, `invalid_seal_binding`.
 */
export function openChunk(key: SealKey, binding: ChunkBinding, sealed: Buffer): Buffer {
  return open(key, chunkAad(binding), sealed);
}

/**
 * Seals a blob (a transcript, say) under the session's data key; it cannot be opened as a
 * chunk, nor as another kind or name. Same errors as {@link sealChunk}.
 */
export function sealBlob(key: SealKey, binding: BlobBinding, plaintext: Buffer): Buffer {
  return seal(key, blobAad(binding), plaintext);
}

/** Opens a blob sealed by {@link sealBlob}. Same errors as {@link openChunk}. */
export function openBlob(key: SealKey, binding: BlobBinding, sealed: Buffer): Buffer {
  return open(key, blobAad(binding), sealed);
}

function seal(key: SealKey, aad: Buffer, plaintext: Buffer): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad);
  const head = Buffer.allocUnsafe(1 + NONCE);
  head[0] = SEAL_FORMAT;
  nonce.copy(head, 1);
  return Buffer.concat([head, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: SealKey, aad: Buffer, sealed: Buffer): Buffer {
  checkKey(key);
  if (!Buffer.isBuffer(sealed) || sealed.length < SEAL_OVERHEAD)
    throw new SealError('seal_malformed', 'the sealed object is too short');
  if (sealed[0] !== SEAL_FORMAT) throw new SealError('seal_malformed', 'the sealed object has an unknown format');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE), { authTagLength: TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG));
    const rest = decipher.final(); // checks the tag; GCM has no bytes left over, so no copy to join them
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch (err) {
    throw new SealError('seal_open_failed', 'the sealed object does not open with this key and binding', {
      cause: err,
    });
  }
}

function checkKey(key: SealKey): void {
  const ok =
    key instanceof KeyObject
      ? key.type === 'secret' && key.symmetricKeySize === 32
      : Buffer.isBuffer(key) && key.length === 32;
  if (!ok) throw new SealError('invalid_data_key', 'a data key is 32 bytes');
}

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new SealError('invalid_seal_binding', `the binding needs a non-empty ${field}`);
  }
  return value;
}

function chunkAad(b: ChunkBinding): Buffer {
  if (!Number.isSafeInteger(b.seq) || b.seq < 0)
    throw new SealError('invalid_seal_binding', 'seq must be a non-negative integer');
  // Keys in sorted order: the bytes are canonical without a sorting step.
  return Buffer.from(
    JSON.stringify({
      format: SEAL_FORMAT,
      kind: 'chunk',
      organizationId: id(b.organizationId, 'organizationId'),
      seq: b.seq,
      sessionId: id(b.sessionId, 'sessionId'),
      trackId: id(b.trackId, 'trackId'),
    }),
  );
}

function blobAad(b: BlobBinding): Buffer {
  if (typeof b.kind !== 'string' || !/^[a-z0-9-]{1,32}$/.test(b.kind) || b.kind === 'chunk') {
    throw new SealError(
      'invalid_seal_binding',
      'a blob kind is lower-case letters, digits and hyphens, and not "chunk"',
    );
  }
  return Buffer.from(
    JSON.stringify({
      format: SEAL_FORMAT,
      kind: b.kind,
      name: id(b.name, 'name'),
      organizationId: id(b.organizationId, 'organizationId'),
      sessionId: id(b.sessionId, 'sessionId'),
    }),
  );
}
