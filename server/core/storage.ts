/**
 * Maps {@link Config} onto the shared key provider and object store (lib/keys, lib/storage),
 * for the API, the SFU and the job workers alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { createKeyProvider, type KeyProvider } from '../../lib/keys/index.ts';
import { createObjectStore, type ObjectStore } from '../../lib/storage/index.ts';

export interface Storage {
  /** Wraps and unwraps session data keys. */
  readonly keyProvider: KeyProvider;
  /** Holds sealed chunks, sealed transcripts and exports. */
  readonly objectStore: ObjectStore;
  /** Releases network clients (KMS, S3). Safe to call twice. */
  close(): void;
}

export interface StorageOptions {
  /**
   * An organisation's own KMS key id (bring your own key), or undefined for the deployment's
   * AWS_KMS_KEY_ID. Only used with KEY_PROVIDER=aws-kms. Must not be called inside a tenant
   * transaction that is waiting on the KMS call.
   */
  readonly kmsKeyIdFor?: (organizationId: string) => string | undefined | Promise<string | undefined>;
}

/**
 * The configured key provider and object store. With the defaults this creates
 * `<DATA_DIR>/secrets/kek-<id>` (0600) on first start and `<DATA_DIR>/objects`.
 * @throws Error when a KEK file is malformed or not owner-only, or a folder cannot be created.
 */
export function openStorage(config: Config, opts: StorageOptions = {}): Storage {
  // DATA_DIR stays traversable (0711): embedded Postgres runs as another user below it.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o711 });
  const k = config.keys;
  const keyProvider = createKeyProvider(
    k.provider === 'local'
      ? {
          kind: 'local',
          secretsDir: path.join(config.dataDir, 'secrets'),
          kek: k.localKek ? Buffer.from(k.localKek, 'base64') : undefined,
        }
      : { kind: 'aws-kms', keyId: k.kmsKeyId, region: k.region, endpoint: k.endpoint, keyIdFor: opts.kmsKeyIdFor },
  );
  const s = config.storage;
  const objectStore = createObjectStore(
    s.kind === 'local'
      ? { kind: 'local', root: path.join(config.dataDir, 'objects') }
      : { kind: 's3', bucket: s.bucket, region: s.region, endpoint: s.endpoint, forcePathStyle: s.forcePathStyle },
  );
  return {
    keyProvider,
    objectStore,
    close() {
      keyProvider.close?.();
      objectStore.close?.();
    },
  };
}
