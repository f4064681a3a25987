/**
 * The zero-setup key provider: data keys wrapped with AES-256-GCM under a local
 * key-encryption key (KEK). The KEK is given by the operator (LOCAL_KEK) or created once,
 * 32 random bytes, as `<secretsDir>/kek-<id>` with owner-only permissions; `kek-current`
 * names the one that wraps new keys. Every `kek-<id>` file found still unwraps, so a
 * rotated-out KEK keeps opening old keys until they are re-wrapped.
 *
 * Wrapped form: base64 of `0x01 | nonce (12) | encrypted key (32) | tag (16)`, associated
 * data = the canonical JSON of the context, so a wrapped key only opens for its session.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  canonicalContext,
  DATA_KEY_BYTES,
  KeyError,
  type DataKey,
  type KeyContext,
  type KeyProvider,
  type WrappedKey,
} from './KeyProvider.ts';

const WRAP_FORMAT = 0x01;
const NONCE = 12;
const TAG = 16;
const KEK_FILE = /^kek-([0-9a-f]{16})$/;
const CURRENT = 'kek-current';

export interface LocalKeyProviderOptions {
  /** Directory of KEK files, normally `<DATA_DIR>/secrets`; created 0700 when needed. */
  readonly secretsDir: string;
  /** Operator-given KEK (exactly 32 bytes). Set: it wraps new keys and no file is created. */
  readonly kek?: Buffer | undefined;
}

/**
 * The id of a KEK: 16 hex characters of a labelled SHA-256 of its bytes. Safe to show and
 * store (a hash of 256 random bits reveals nothing usable); distinct KEKs get distinct ids.
 */
export function kekId(kek: Buffer): string {
  return createHash('sha256').update('recorder:kek-id:').update(kek).digest('hex').slice(0, 16);
}

export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local' as const;
  readonly #ring: Map<string, Buffer>;
  readonly #currentId: string;

  private constructor(ring: Map<string, Buffer>, currentId: string) {
    this.#ring = ring;
    this.#currentId = currentId;
  }

  /**
   * Loads the KEKs, creating the first one (mode 0600) when none is given or stored. Safe
   * when several processes start at once: exactly one KEK becomes current.
   * @throws Error when `kek` is not 32 bytes, or a KEK file is malformed, renamed or readable
   *   by group/others.
   */
  static open(opts: LocalKeyProviderOptions): LocalKeyProvider {
    if (opts.kek && opts.kek.length !== DATA_KEY_BYTES) throw new Error('LOCAL_KEK must be exactly 32 bytes');
    if (!opts.kek) ensureCurrentKek(opts.secretsDir);
    const ring = loadRing(opts.secretsDir);
    let currentId: string;
    if (opts.kek) {
      currentId = kekId(opts.kek);
      ring.set(currentId, Buffer.from(opts.kek));
    } else {
      currentId = fs.readFileSync(path.join(opts.secretsDir, CURRENT), 'utf8').trim();
      if (!ring.has(currentId)) throw new Error(`${CURRENT} names a KEK that is not in ${opts.secretsDir}`);
    }
    return new LocalKeyProvider(ring, currentId);
  }

  /** The id of the KEK that wraps new keys. */
  get currentKeyId(): string {
    return this.#currentId;
  }

  /** {@inheritDoc KeyProvider.generateDataKey} */
  generateDataKey(context: KeyContext): Promise<DataKey> {
    return new Promise((resolve) => {
      const aad = Buffer.from(canonicalContext(context));
      const plaintext = randomBytes(DATA_KEY_BYTES);
      resolve({ plaintext, wrapped: this.#wrap(plaintext, aad) });
    });
  }

  /** {@inheritDoc KeyProvider.decrypt} */
  decrypt(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    // A throw inside the executor becomes the rejection.
    return new Promise((resolve) => resolve(this.#unwrap(wrapped, Buffer.from(canonicalContext(context)))));
  }

  /** {@inheritDoc KeyProvider.rewrap} */
  rewrap(wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> {
    return new Promise((resolve) => {
      const aad = Buffer.from(canonicalContext(context));
      const plaintext = this.#unwrap(wrapped, aad);
      resolve(this.#wrap(plaintext, aad));
      plaintext.fill(0);
    });
  }

  #wrap(plaintext: Buffer, aad: Buffer): WrappedKey {
    const kek = this.#ring.get(this.#currentId) as Buffer;
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', kek, nonce);
    cipher.setAAD(aad);
    const body = Buffer.concat([
      Buffer.of(WRAP_FORMAT),
      nonce,
      cipher.update(plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return { version: 1, provider: 'local', keyId: this.#currentId, ciphertext: body.toString('base64') };
  }

  #unwrap(wrapped: WrappedKey, aad: Buffer): Buffer {
    if (wrapped.provider !== 'local')
      throw new KeyError(
        'key_provider_mismatch',
        `a key wrapped by ${wrapped.provider} cannot be opened by the local provider`,
      );
    const kek = this.#ring.get(wrapped.keyId);
    if (!kek) throw new KeyError('unknown_key', `no local KEK with id ${wrapped.keyId}`);
    const body = Buffer.from(wrapped.ciphertext, 'base64');
    if (body.length !== 1 + NONCE + DATA_KEY_BYTES + TAG || body[0] !== WRAP_FORMAT) {
      throw new KeyError('key_unwrap_failed', 'the wrapped key cannot be opened');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek, body.subarray(1, 1 + NONCE), { authTagLength: TAG });
      decipher.setAAD(aad);
      decipher.setAuthTag(body.subarray(body.length - TAG));
      return Buffer.concat([decipher.update(body.subarray(1 + NONCE, body.length - TAG)), decipher.final()]);
    } catch (err) {
      throw new KeyError('key_unwrap_failed', 'the wrapped key cannot be opened', { cause: err });
    }
  }
}

/** Creates a KEK and `kek-current` unless `kek-current` exists; the first writer wins. */
function ensureCurrentKek(dir: string): void {
  const current = path.join(dir, CURRENT);
  if (fs.existsSync(current)) return;
  // The parent (DATA_DIR) stays traversable: embedded Postgres runs as another user below it.
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o711 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kek = randomBytes(DATA_KEY_BYTES);
  const id = kekId(kek);
  const kekFile = path.join(dir, `kek-${id}`);
  // Write under a temporary name, then link(): the final names appear complete or not at all.
  publishSecretFile(dir, kekFile, kek.toString('base64'));
  // another process won; ours wrapped nothing
  if (!publishSecretFile(dir, current, id)) fs.rmSync(kekFile, { force: true });
}

/**
 * Writes `content` to `target` atomically with mode 0600 (temp file, fsync, then link or
 * rename). Without `replace`, returns false when `target` already exists (another process
 * won); with it, `target` is replaced.
 */
export function publishSecretFile(dir: string, target: string, content: string, replace = false): boolean {
  const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (replace) fs.renameSync(tmp, target);
    else fs.linkSync(tmp, target);
    return true;
  } catch (err) {
    if (!replace && (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function loadRing(dir: string): Map<string, Buffer> {
  const ring = new Map<string, Buffer>();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ring;
    throw err;
  }
  for (const name of names) {
    const id = KEK_FILE.exec(name)?.[1];
    if (!id) continue;
    const file = path.join(dir, name);
    if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by others; chmod 600 it`);
    const kek = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (kek.length !== DATA_KEY_BYTES || kekId(kek) !== id)
      throw new Error(`${file} does not hold the KEK its name says`);
    ring.set(id, kek);
  }
  return ring;
}
