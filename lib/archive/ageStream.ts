/**
 * Streams bytes through age encryption (https://age-encryption.org/v1, the `age-encryption`
 * package for the header, node's crypto for the payload): to an X25519 recipient (`age1…`)
 * or a passphrase (scrypt). The payload is sealed one 64 KiB STREAM chunk at a time as the
 * input arrives, so memory stays flat however long the input is.
 */
import {
  createCipheriv,
  createSecretKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { bech32 } from '@scure/base';
import { Encrypter, Stanza, type Recipient } from 'age-encryption';

/** Who can decrypt: the holder of an X25519 identity, or of a passphrase. */
export type AgeRecipient = { kind: 'x25519'; recipient: string } | { kind: 'passphrase'; passphrase: string };

/** An X25519 recipient as `age-keygen` prints it (bech32, 62 characters). */
export const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/** scrypt work factor (log2 N) for passphrases: age's default. */
const SCRYPT_LOG_N = 18;

/**
 * The age scrypt recipient (the same stanza as `age -p` writes), computed with node's
 * scrypt in the thread pool: the package's own runs in JavaScript and would block the
 * event loop for seconds (256 MiB of work at N = 2^18).
 */
export function passphraseRecipient(passphrase: string): Recipient {
  return {
    async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
      const salt = randomBytes(16);
      const key = await new Promise<Buffer>((resolve, reject) =>
        scrypt(
          passphrase,
          Buffer.concat([Buffer.from('age-encryption.org/v1/scrypt'), salt]),
          32,
          { N: 2 ** SCRYPT_LOG_N, r: 8, p: 1, maxmem: 300 * 1024 * 1024 },
          (err, k) => (err ? reject(err) : resolve(k)),
        ),
      );
      const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
      const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
      key.fill(0);
      return [new Stanza(['scrypt', salt.toString('base64').replace(/=+$/, ''), String(SCRYPT_LOG_N)], body)];
    },
  };
}

/** age's payload chunk: 64 KiB of plaintext, sealed with ChaCha20-Poly1305 into 64 KiB + 16. */
const CHUNK = 64 * 1024;
const TAG = 16;
/** Output gathered per yield: 16 sealed chunks. */
const OUT = 16 * (CHUNK + TAG);

/**
 * The age X25519 recipient stanza (age-encryption.org/v1, "X25519 recipient stanza"),
 * computed with node's crypto: what the package's X25519Recipient writes.
 * @throws Error for a recipient whose bech32 checksum or length is wrong, or a low-order key.
 */
export function x25519Recipient(recipient: string): Recipient {
  const decoded = bech32.decodeToBytes(recipient);
  if (decoded.prefix !== 'age' || decoded.bytes.length !== 32) throw new Error('not an age X25519 recipient');
  const theirs = Buffer.from(decoded.bytes);
  const theirKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: theirs.toString('base64url') },
    format: 'jwk',
  });
  return {
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
      const ephemeral = generateKeyPairSync('x25519');
      const share = Buffer.from(ephemeral.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const secret = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: theirKey });
      if (secret.every((b) => b === 0)) throw new Error('the X25519 recipient is a low-order point');
      const key = Buffer.from(
        hkdfSync('sha256', secret, Buffer.concat([share, theirs]), 'age-encryption.org/v1/X25519', 32),
      );
      const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG });
      const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
      key.fill(0);
      secret.fill(0);
      return [new Stanza(['X25519', share.toString('base64').replace(/=+$/, '')], body)];
    },
  };
}

/**
 * Encrypts `source` for `to`, yielding the age file as it is produced (header first).
 * Errors from `source` propagate to the consumer.
 *
 * The header (stanzas, MAC, payload nonce) comes from the package. The payload, every byte
 * of the archive, is sealed here with node's ChaCha20-Poly1305 (OpenSSL: about 0.8 GB/s on
 * one core, against 0.17 GB/s for the package's JavaScript cipher): the same STREAM
 * construction (age-encryption.org/v1, "Payload"), so any age implementation decrypts it.
 * @throws Error for a malformed recipient (before any output).
 */
export async function* ageEncrypt(source: AsyncIterable<Uint8Array>, to: AgeRecipient): AsyncGenerator<Uint8Array> {
  let recipient: Recipient;
  if (to.kind === 'x25519') {
    if (!X25519_RECIPIENT.test(to.recipient)) throw new Error('not an age X25519 recipient');
    recipient = x25519Recipient(to.recipient);
  } else {
    recipient = passphraseRecipient(to.passphrase);
  }
  // The package writes the header for the file key it draws; the recipient keeps a copy of
  // that key. An empty file is header, 16-byte nonce, and one empty final chunk (its tag).
  let fileKey: Buffer | undefined;
  const e = new Encrypter();
  e.addRecipient({
    async wrapFileKey(key: Uint8Array): Promise<Stanza[]> {
      fileKey = Buffer.from(key);
      return recipient.wrapFileKey(key);
    },
  });
  const empty = await e.encrypt(new Uint8Array(0));
  if (!fileKey || empty.length < 16 + TAG + 1 || empty[empty.length - 16 - TAG - 1] !== 0x0a)
    throw new Error('unexpected age header layout');
  const head = empty.subarray(0, empty.length - TAG);
  const nonce = head.subarray(head.length - 16);
  const rawStreamKey = Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
  const streamKey = createSecretKey(rawStreamKey); // imported once, not for every chunk
  rawStreamKey.fill(0);
  fileKey.fill(0);
  yield head;

  const counter = Buffer.alloc(12); // 11-byte big-endian chunk counter, then the last-chunk flag
  // Sealed chunks are collected into 1 MiB of output before they are yielded: one storage
  // write per 16 chunks rather than per chunk.
  let out = Buffer.allocUnsafe(OUT);
  let outLength = 0;
  const seal = (plain: Uint8Array, last: boolean): void => {
    counter[11] = last ? 1 : 0;
    const c = createCipheriv('chacha20-poly1305', streamKey, counter, { authTagLength: TAG });
    outLength += c.update(plain).copy(out, outLength);
    outLength += c.final().copy(out, outLength);
    outLength += c.getAuthTag().copy(out, outLength);
    for (let i = 10; i >= 0; i--) {
      const v = ((counter[i] ?? 0) + 1) & 0xff;
      counter[i] = v;
      if (v !== 0) break;
    }
  };
  const full = (): Buffer | undefined => {
    if (outLength + CHUNK + TAG <= out.length) return undefined;
    const done = out.subarray(0, outLength);
    out = Buffer.allocUnsafe(OUT);
    outLength = 0;
    return done;
  };
  // One full chunk is held back: the final chunk must carry the flag, and only the empty
  // file's final chunk may be empty. The chunk buffer is reused: sealing copies it.
  const buf = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (used === CHUNK) {
        seal(buf, false);
        used = 0;
        const done = full();
        if (done) yield done;
      }
      const n = Math.min(CHUNK - used, piece.length - off);
      buf.set(n === piece.length && off === 0 ? piece : piece.subarray(off, off + n), used);
      used += n;
      off += n;
    }
  }
  seal(buf.subarray(0, used), true);
  yield out.subarray(0, outLength);
}
