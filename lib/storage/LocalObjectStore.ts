/**
 * Objects as files under one folder (normally `<DATA_DIR>/objects`), the zero-setup default.
 * A key `a/b/c` is the file `<root>/a/b/c`. Writes go to a temporary file in the same
 * folder, are flushed to disk, then renamed into place, so a crash or a concurrent reader
 * never sees half an object. Files are 0600, folders 0700.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { checkKey, checkPrefix, compareKeys, StorageError, type ObjectInfo, type ObjectStore } from './ObjectStore.ts';

export interface LocalObjectStoreOptions {
  /** The folder that holds every object; created (0700) when missing. */
  readonly root: string;
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly #root: string;

  /** A store rooted at `opts.root`; creates the folder now. */
  constructor(opts: LocalObjectStoreOptions) {
    this.#root = path.resolve(opts.root);
    fs.mkdirSync(this.#root, { recursive: true, mode: 0o700 });
  }

  /** {@inheritDoc ObjectStore.put} */
  async put(key: string, body: Buffer | Readable): Promise<void> {
    const file = this.#file(key);
    const tmp = path.join(path.dirname(file), `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const fh = await this.#create(tmp);
      try {
        if (Buffer.isBuffer(body)) await fh.writeFile(body);
        else
          for await (const chunk of body)
            await fh.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof StorageError) throw err;
      const code = errno(err);
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST')
        throw new StorageError('invalid_object_key', 'the key collides with another object’s path', { cause: err });
      if (code) throw new StorageError('storage_unavailable', `cannot write the object (${code})`, { cause: err });
      throw err; // the body stream failed: not a storage problem
    }
  }

  /** {@inheritDoc ObjectStore.get} */
  async get(key: string): Promise<Buffer> {
    const file = this.#file(key);
    try {
      return await fsp.readFile(file);
    } catch (err) {
      throw this.#readError(err);
    }
  }

  /** {@inheritDoc ObjectStore.getSync} */
  getSync(key: string, scratch?: Buffer): Buffer {
    const file = this.#file(key);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw this.#readError(err);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      const out =
        scratch && scratch.length >= stat.size ? scratch.subarray(0, stat.size) : Buffer.allocUnsafe(stat.size);
      let got = 0;
      while (got < out.length) {
        const n = fs.readSync(fd, out, got, out.length - got, got);
        if (n === 0) break;
        got += n;
      }
      return got === out.length ? out : out.subarray(0, got);
    } catch (err) {
      throw this.#readError(err);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** {@inheritDoc ObjectStore.getStream} */
  async getStream(key: string): Promise<Readable> {
    const file = this.#file(key);
    try {
      const fh = await fsp.open(file, 'r');
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      }
      return fh.createReadStream();
    } catch (err) {
      throw this.#readError(err);
    }
  }

  /** {@inheritDoc ObjectStore.delete} */
  async delete(key: string): Promise<void> {
    const file = this.#file(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
      throw new StorageError('storage_unavailable', `cannot delete the object (${code})`, { cause: err });
    }
  }

  /** {@inheritDoc ObjectStore.deletePrefix} */
  async deletePrefix(prefix: string): Promise<number> {
    if (checkPrefix(prefix) === '')
      throw new StorageError('invalid_object_key', 'refusing to delete every object (empty prefix)');
    const keys: string[] = [];
    for await (const o of this.list(prefix)) keys.push(o.key);
    const dirs = new Set<string>();
    for (const key of keys) {
      await this.delete(key);
      dirs.add(path.dirname(this.#file(key)));
    }
    // Prune folders left empty, deepest first; one that a concurrent put refilled stays.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
      for (let d = dir; d.startsWith(this.#root + path.sep); d = path.dirname(d)) {
        try {
          await fsp.rmdir(d);
        } catch {
          break;
        }
      }
    }
    return keys.length;
  }

  /** {@inheritDoc ObjectStore.list} */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1);
    yield* this.#walk(base, prefix);
  }

  async *#walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(path.join(this.#root, dirKey), { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
      throw new StorageError('storage_unavailable', `cannot list objects (${errno(err)})`, { cause: err });
    }
    // Sorting "name" for files and "name/" for folders makes the depth-first walk yield
    // whole keys in byte order, as S3 does.
    const named = entries
      .filter((e) => /^[A-Za-z0-9]/.test(e.name) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { e, sortKey } of named) {
      const key = dirKey + sortKey;
      if (e.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(key)) yield* this.#walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        const stat = await fsp.stat(path.join(this.#root, key)).catch(() => undefined);
        if (stat) yield { key, size: stat.size };
      }
    }
  }

  #file(key: string): string {
    return path.join(this.#root, ...checkKey(key).split('/'));
  }

  /** Opens a new temporary file, creating its folder; retries when a prune removed it meanwhile. */
  async #create(tmp: string): Promise<fsp.FileHandle> {
    for (let attempt = 0; ; attempt++) {
      await fsp.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
      try {
        return await fsp.open(tmp, 'wx', 0o600);
      } catch (err) {
        if (errno(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  #readError(err: unknown): StorageError {
    const code = errno(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
      return new StorageError('object_not_found', 'no such object', { cause: err });
    return new StorageError('storage_unavailable', `cannot read the object (${code})`, { cause: err });
  }
}
