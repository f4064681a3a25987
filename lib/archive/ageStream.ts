/**
 * Streams bytes through age encryption (https://age-encryption.org/v1, the `age-encryption`
 * package): to an X25519 recipient (`age1…`) or a passphrase (scrypt). The package encrypts
 * a web ReadableStream in 64 KiB STREAM chunks and pulls its input on demand, so memory
 * stays flat however long the input is.
 */
import { createCipheriv, randomBytes, scrypt } from 'node:crypto';
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

/**
 * Encrypts `source` for `to`, yielding the age file as it is produced (header first).
 * Errors from `source` propagate to the consumer.
 * @throws Error for a malformed recipient (before any output).
 */
export async function* ageEncrypt(source: AsyncIterable<Uint8Array>, to: AgeRecipient): AsyncGenerator<Uint8Array> {
  const e = new Encrypter();
  if (to.kind === 'x25519') {
    if (!X25519_RECIPIENT.test(to.recipient)) throw new Error('not an age X25519 recipient');
    e.addRecipient(to.recipient);
  } else {
    e.addRecipient(passphraseRecipient(to.passphrase));
  }
  // Pulled only when age wants more (highWaterMark 0): nothing piles up ahead of it.
  const it = source[Symbol.asyncIterator]();
  const input = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  const output = await e.encrypt(input);
  const reader = output.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // An abandoned consumer stops the pipeline (and the source) instead of leaving it paused.
    await reader.cancel().catch(() => undefined);
  }
}
