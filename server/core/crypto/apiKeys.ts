/**
 * API key material: the key format, its argon2id hash, and a small cache of verified hashes.
 *
 * A key is `rec_<prefix>_<secret>`: `prefix`, 12 lowercase letters and digits, is public (it
 * names the key in lists and logs and finds its row); `secret` is 32 random bytes in
 * base64url. (`rec_`, not Stripe's `rk_`: an operator's Stripe restricted key is `rk_…`, and
 * secret scanners should tell the two apart.) The database stores only
 * sha256(argon2id_raw(secret, salt)); see migrations/1732400008000_api_keys.sql.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { hashRaw, type Algorithm } from '@node-rs/argon2';

/**
 * argon2id parameters: OWASP Password Storage Cheat Sheet (2025), first recommended
 * configuration: m = 19 MiB (19456 KiB), t = 2 iterations, p = 1. Stored per key, so a later
 * raise applies to new keys without breaking old ones.
 */
export const ARGON2_PARAMS = { memoryKib: 19456, iterations: 2, parallelism: 1 } as const;
export type Argon2Params = { memoryKib: number; iterations: number; parallelism: number };

/** `Algorithm.Argon2id` of @node-rs/argon2 (a const enum, which type stripping cannot read). */
const ARGON2ID = 2 as Algorithm;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const KEY = /^rec_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** A parsed bearer key. */
export interface ParsedKey {
  prefix: string;
  secret: string;
}

/** A new key's parts: the full key (shown once), its prefix, and the salt to store. */
export interface NewKey {
  key: string;
  prefix: string;
  secret: string;
  salt: Buffer;
}

/** Draws a new key: a random 12-character prefix, a 256-bit secret and a 16-byte salt. */
export function generateKey(): NewKey {
  let prefix = '';
  for (let i = 0; i < 12; i++) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const secret = randomBytes(32).toString('base64url');
  return { key: `rec_${prefix}_${secret}`, prefix, secret, salt: randomBytes(16) };
}

/** Splits a bearer key into prefix and secret; undefined when it is not one of ours. */
export function parseKey(bearer: string): ParsedKey | undefined {
  const m = KEY.exec(bearer);
  return m?.[1] && m[2] ? { prefix: m[1], secret: m[2] } : undefined;
}

/** The raw 32-byte argon2id hash of `secret` under `salt` (what app.begin_request_key proves). */
export function keyHash(secret: string, salt: Buffer, p: Argon2Params): Promise<Buffer> {
  return hashRaw(secret, {
    algorithm: ARGON2ID,
    memoryCost: p.memoryKib,
    timeCost: p.iterations,
    parallelism: p.parallelism,
    outputLen: 32,
    salt,
  });
}

/**
 * sha256(bearer) → raw hash, for keys the database accepted: a hit saves the argon2id work
 * (about 30 ms of CPU) on every later request. Bounded (least recently used out first) and
 * short-lived. Holding a raw hash proves nothing the bearer itself does not, and it decides
 * nothing: revocation and expiry are checked by the database on every request.
 */
export class KeyHashCache {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { hash: Buffer; until: number }>();
  /** @param max entries kept (default 4096) @param ttlMs lifetime of an entry (default 5 minutes) */
  constructor(max = 4096, ttlMs = 5 * 60_000) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  static id(bearer: string): string {
    return createHash('sha256').update(bearer).digest('base64url');
  }

  get(bearer: string, now = Date.now()): Buffer | undefined {
    const id = KeyHashCache.id(bearer);
    const e = this.#entries.get(id);
    if (!e) return undefined;
    this.#entries.delete(id);
    if (e.until <= now) return undefined;
    this.#entries.set(id, e);
    return e.hash;
  }

  set(bearer: string, hash: Buffer, now = Date.now()): void {
    const id = KeyHashCache.id(bearer);
    this.#entries.delete(id);
    this.#entries.set(id, { hash, until: now + this.#ttlMs });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
