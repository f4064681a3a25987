/**
 * The server secret and the keys derived from it. One secret (SERVER_SECRET, or a random
 * 32-byte file created once under DATA_DIR/secrets with owner-only permissions) yields a
 * separate HMAC key per purpose, so a leak of one derived key reveals nothing of another.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type SecretPurpose =
  'login-code' | 'rate-limit' | 'metrics-org' | 'db-app-password' | 'join-token' | 'log-org' | 'device-cookie';

export class Secrets {
  readonly #root: Buffer;
  private constructor(root: Buffer) {
    this.#root = root;
  }

  /**
   * Uses `given` when set, otherwise reads (or creates, mode 0600) `<dataDir>/secrets/server-secret`.
   * @throws when the file exists but is unreadable or too short.
   */
  static load(given: string | undefined, dataDir: string): Secrets {
    if (given) return new Secrets(Buffer.from(given, 'utf8'));
    const dir = path.join(dataDir, 'secrets');
    const file = path.join(dir, 'server-secret');
    // DATA_DIR itself stays traversable: embedded Postgres runs as another user below it.
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const value = fs.readFileSync(file, 'utf8').trim();
    if (value.length < 32) throw new Error(`${file} holds fewer than 32 characters`);
    return new Secrets(Buffer.from(value, 'utf8'));
  }

  /** A 32-byte key for one purpose. */
  key(purpose: SecretPurpose): Buffer {
    return createHmac('sha256', this.#root).update(`recorder:${purpose}`).digest();
  }

  /** HMAC-SHA256 of `data` under the purpose's key. */
  hmac(purpose: SecretPurpose, data: string | Buffer): Buffer {
    return createHmac('sha256', this.key(purpose)).update(data).digest();
  }
}

/** SHA-256, for random high-entropy tokens (session cookies, invitation links). */
export function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** A random URL-safe token of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time comparison of two byte strings of possibly different length. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
