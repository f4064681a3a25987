/**
 * Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…) through @aws-sdk/client-s3.
 * Streams of unknown length are sent as one PutObject when they fit in one part, else as a
 * multipart upload (aborted on failure, so no partial object ever becomes visible).
 * Credentials come from the SDK's default chain unless given.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { checkKey, checkPrefix, StorageError, type ObjectInfo, type ObjectStore } from './ObjectStore.ts';

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** Custom endpoint (MinIO, a VPC endpoint, a loopback fake); unset: AWS's. */
  readonly endpoint?: string | undefined;
  /** Address the bucket in the path (`host/bucket/key`), as most non-AWS stores need. */
  readonly forcePathStyle?: boolean | undefined;
  /** Static credentials; unset: the SDK's default provider chain. */
  readonly credentials?:
    { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined;
  /** Bytes per multipart part for streamed puts (default 8 MiB; S3's minimum is 5 MiB). */
  readonly partSize?: number | undefined;
  /** SDK attempts per call, including retries (default 3). */
  readonly maxAttempts?: number | undefined;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #partSize: number;

  /** A store over one S3 client; makes no network call. */
  constructor(opts: S3ObjectStoreOptions) {
    if (!opts.bucket) throw new Error('S3ObjectStore needs a bucket');
    this.#bucket = opts.bucket;
    this.#partSize = opts.partSize ?? 8 * 1024 * 1024;
    this.#client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      maxAttempts: opts.maxAttempts ?? 3,
    });
  }

  /** {@inheritDoc ObjectStore.put} */
  async put(key: string, body: Buffer | Readable): Promise<void> {
    checkKey(key);
    if (Buffer.isBuffer(body)) return this.#call(() => this.#putOne(key, body));
    const parts = partsOf(body, this.#partSize);
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) return this.#call(() => this.#putOne(key, first.done ? Buffer.alloc(0) : first.value));
    const Bucket = this.#bucket;
    const { UploadId } = await this.#call(() =>
      this.#client.send(new CreateMultipartUploadCommand({ Bucket, Key: key })),
    );
    try {
      const done: { PartNumber: number; ETag: string }[] = [];
      const upload = async (part: Buffer) => {
        const PartNumber = done.length + 1;
        const res = await this.#call(() =>
          this.#client.send(
            new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber, Body: part, ContentLength: part.length }),
          ),
        );
        done.push({ PartNumber, ETag: res.ETag ?? '' });
      };
      await upload(first.value as Buffer);
      await upload(second.value);
      for await (const part of parts) await upload(part);
      await this.#call(() =>
        this.#client.send(
          new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId, MultipartUpload: { Parts: done } }),
        ),
      );
    } catch (err) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  /** {@inheritDoc ObjectStore.get} */
  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) chunks.push(c as Buffer);
    } catch (err) {
      throw new StorageError('storage_unavailable', 'the object download failed', { cause: err });
    }
    return Buffer.concat(chunks);
  }

  /** {@inheritDoc ObjectStore.getStream} */
  async getStream(key: string): Promise<Readable> {
    checkKey(key);
    const res = await this.#call(() => this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key })));
    if (!(res.Body instanceof Readable))
      throw new StorageError('storage_unavailable', 'the object body is not a stream');
    return res.Body;
  }

  /** {@inheritDoc ObjectStore.delete} */
  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#call(() => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })));
  }

  /** {@inheritDoc ObjectStore.deletePrefix} */
  async deletePrefix(prefix: string): Promise<number> {
    if (checkPrefix(prefix) === '')
      throw new StorageError('invalid_object_key', 'refusing to delete every object (empty prefix)');
    let count = 0;
    let batch: string[] = [];
    const flush = async () => {
      const Objects = batch.map((Key) => ({ Key }));
      batch = [];
      const res = await this.#call(() =>
        this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects, Quiet: true } })),
      );
      if (res.Errors?.length)
        throw new StorageError(
          'storage_unavailable',
          `${res.Errors.length} objects could not be deleted (${res.Errors[0]?.Code})`,
        );
      count += Objects.length;
    };
    // Batches of 1000 (DeleteObjects' limit) as the listing goes on: deleted keys lie behind
    // the continuation token, so deleting them skips nothing.
    for await (const o of this.list(prefix)) {
      batch.push(o.key);
      if (batch.length === 1000) await flush();
    }
    if (batch.length) await flush();
    return count;
  }

  /** {@inheritDoc ObjectStore.list} */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    let token: string | undefined;
    do {
      const res = await this.#call(() =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of res.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0 };
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /** Closes the SDK's connection pool. */
  close(): void {
    this.#client.destroy();
  }

  async #putOne(key: string, body: Buffer): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentLength: body.length }),
    );
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')) {
        throw new StorageError('object_not_found', 'no such object', { cause: err });
      }
      throw new StorageError('storage_unavailable', `object storage failed (${e.name ?? 'error'})`, { cause: err });
    }
  }
}

/** Cuts a stream into Buffers of exactly `size` bytes (the last may be shorter, never empty). */
async function* partsOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const c of stream) {
    let chunk = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    while (length + chunk.length >= size) {
      const take = size - length;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending);
      chunk = chunk.subarray(take);
      pending = [];
      length = 0;
    }
    if (chunk.length) {
      pending.push(chunk);
      length += chunk.length;
    }
  }
  if (length) yield Buffer.concat(pending);
}
