/**
 * Builds the configured {@link ObjectStore} from plain options (lib/ never reads server
 * config; server/core/storage.ts maps Config onto these options).
 */
import { LocalObjectStore, type LocalObjectStoreOptions } from './LocalObjectStore.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from './S3ObjectStore.ts';
import type { ObjectStore } from './ObjectStore.ts';

export type ObjectStoreOptions =
  ({ readonly kind: 'local' } & LocalObjectStoreOptions) | ({ readonly kind: 's3' } & S3ObjectStoreOptions);

/**
 * The object store for `opts.kind`. `local` creates its folder now; `s3` makes no call
 * until first used.
 * @throws Error when the folder cannot be created or the bucket is empty.
 */
export function createObjectStore(opts: ObjectStoreOptions): ObjectStore {
  return opts.kind === 'local' ? new LocalObjectStore(opts) : new S3ObjectStore(opts);
}

export * from './ObjectStore.ts';
export { LocalObjectStore, type LocalObjectStoreOptions } from './LocalObjectStore.ts';
export { S3ObjectStore, type S3ObjectStoreOptions } from './S3ObjectStore.ts';
