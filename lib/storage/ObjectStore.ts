/**
 * Object storage behind one small interface: a local folder by default, any S3-compatible
 * store in production. Objects are opaque bytes (sealed chunks, sealed transcripts,
 * exports); keys are `/`-separated paths such as `<org>/<session>/<track>/000042.chunk`.
 *
 * Keys are checked the same way by every implementation, so a key that works locally works
 * on S3: segments of letters, digits, `.`, `_` and `-`, each starting with a letter or digit
 * (so never `.` or `..`), at most 512 characters in all.
 */
import type { Readable } from 'node:stream';

/** One listed object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface ObjectStore {
  /** `local` or `s3`, for logs and metrics. */
  readonly kind: 'local' | 's3';
  /**
   * Stores `body` under `key`, replacing any object there. The object appears whole or not
   * at all: a reader never sees a partial write.
   * @throws StorageError `invalid_object_key`, `storage_unavailable`.
   */
  put(key: string, body: Buffer | Readable): Promise<void>;
  /**
   * The whole object.
   * @throws StorageError `object_not_found`, `invalid_object_key`, `storage_unavailable`.
   */
  get(key: string): Promise<Buffer>;
  /**
   * The whole object, read without yielding the thread (local folders only; a store that
   * cannot, S3, leaves it out). For a thread that has nothing else to do while it reads, an
   * export's worker: a chunk of 70 kB costs a third of an async read's CPU. The object is
   * read into `scratch` when it fits (the result is then a view of it, valid until the
   * caller reuses `scratch`), else into a new buffer. Same errors as {@link ObjectStore.get}.
   */
  getSync?(key: string, scratch?: Buffer): Buffer;
  /** The object as a stream, for large objects. Same errors as {@link ObjectStore.get}. */
  getStream(key: string): Promise<Readable>;
  /** Removes `key`; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Removes every object whose key starts with `prefix` (a plain string prefix: `a/b`
   * matches `a/b/c` and `a/bc`); returns how many were removed. An empty prefix is refused.
   * @throws StorageError `invalid_object_key`, `storage_unavailable`.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Objects whose key starts with `prefix`, in ascending key (byte) order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Releases network resources, if any. */
  close?(): void;
}

export type StorageErrorCode = 'invalid_object_key' | 'object_not_found' | 'storage_unavailable';

/** A typed storage failure with a stable snake_case `code`; `cause` holds the underlying error. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_KEY = 512;

/**
 * Returns `key` when it is a safe object key (see the module comment).
 * @throws StorageError `invalid_object_key`.
 */
export function checkKey(key: string): string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_KEY ||
    !key.split('/').every((s) => SEGMENT.test(s))
  ) {
    throw new StorageError(
      'invalid_object_key',
      'object keys are /-separated segments of letters, digits, ".", "_" and "-" that start with a letter or digit',
    );
  }
  return key;
}

/**
 * Returns `prefix` when it could begin a safe key: every complete segment is valid and the
 * last (possibly partial, possibly empty after a trailing `/`) is a valid start. The empty
 * prefix is allowed here (listing everything); deletePrefix refuses it separately.
 * @throws StorageError `invalid_object_key`.
 */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY)
    throw new StorageError('invalid_object_key', 'the prefix is too long');
  if (prefix === '') return prefix;
  const parts = prefix.split('/');
  const last = parts.pop() ?? '';
  if (!parts.every((s) => SEGMENT.test(s)) || (last !== '' && !SEGMENT.test(last))) {
    throw new StorageError('invalid_object_key', 'the prefix is not the start of a valid object key');
  }
  return prefix;
}

/** Byte-order comparison of two keys (the order S3 lists in). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
