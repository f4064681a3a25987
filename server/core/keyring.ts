/**
 * Keeps a running process's key provider in step with key rotation (scripts/keys-rotate.ts).
 *
 * - Local KEKs: the rotation CLI writes a new `kek-<id>` file, points `kek-current` at it
 *   and re-wraps every data key. A process started before that still holds the old key ring;
 *   this wrapper re-reads the ring when it meets a key id it does not know, and before
 *   generating a key when `kek-current` changed, so nothing becomes unreadable mid-rotation
 *   and new sessions move to the new KEK without a restart.
 * - AWS KMS: unwrapping names the key in the record, so nothing is needed there; an
 *   organisation's own key (organizations.kms_key_id) is looked up for new and re-wrapped
 *   keys through {@link orgKmsKeyLookup}.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from './config.ts';
import { one, withUser } from './db/pool.ts';
import { KeyError, LocalKeyProvider, type KeyProvider } from '../../lib/keys/index.ts';
import type { Storage } from './storage.ts';

/** The storage with its key provider wrapped by {@link reloadingKeyProvider}. */
export function withKeyReload(config: Config, storage: Storage): Storage {
  return {
    objectStore: storage.objectStore,
    keyProvider: reloadingKeyProvider(config, storage.keyProvider),
    close: () => storage.close(),
  };
}

/**
 * Wraps the local provider so that a KEK added by rotation is picked up (see the module
 * comment); any other provider is returned as it is.
 */
export function reloadingKeyProvider(config: Config, inner: KeyProvider): KeyProvider {
  if (config.keys.provider !== 'local' || !(inner instanceof LocalKeyProvider)) return inner;
  const secretsDir = path.join(config.dataDir, 'secrets');
  const kek = config.keys.localKek ? Buffer.from(config.keys.localKek, 'base64') : undefined;
  let current: LocalKeyProvider = inner;
  const reopen = () => {
    current = LocalKeyProvider.open({ secretsDir, kek });
    return current;
  };
  const retry = async <T>(fn: (p: KeyProvider) => Promise<T>): Promise<T> => {
    try {
      return await fn(current);
    } catch (err) {
      if (err instanceof KeyError && err.code === 'unknown_key') return fn(reopen());
      throw err;
    }
  };
  const reloading: KeyProvider & { readonly currentKeyId: string } = {
    name: 'local',
    get currentKeyId() {
      return current.currentKeyId;
    },
    generateDataKey(context) {
      if (!kek) {
        let named: string | undefined;
        try {
          named = fs.readFileSync(path.join(secretsDir, 'kek-current'), 'utf8').trim();
        } catch {
          named = undefined;
        }
        if (named && named !== current.currentKeyId) reopen();
      }
      return current.generateDataKey(context);
    },
    decrypt: (wrapped, context) => retry((p) => p.decrypt(wrapped, context)),
    rewrap: (wrapped, context) => retry((p) => p.rewrap(wrapped, context)),
  };
  return reloading;
}

/**
 * The id of the local KEK that new and re-wrapped keys go under, for a provider from
 * openStorage (reloading or not); undefined for AWS KMS.
 */
export function currentLocalKeyId(provider: KeyProvider): string | undefined {
  if (provider instanceof LocalKeyProvider) return provider.currentKeyId;
  if (provider.name !== 'local' || !('currentKeyId' in provider)) return undefined;
  return typeof provider.currentKeyId === 'string' ? provider.currentKeyId : undefined;
}

/**
 * The `kmsKeyIdFor` option of openStorage: an organisation's own KMS key (a found key is
 * cached for a minute). Must not be called inside a tenant transaction (it opens its own).
 */
export function orgKmsKeyLookup(pool: () => pg.Pool): (organizationId: string) => Promise<string | undefined> {
  const cache = new Map<string, { key: string | undefined; at: number }>();
  return async (organizationId) => {
    const hit = cache.get(organizationId);
    if (hit && Date.now() - hit.at < 60_000) return hit.key;
    const key = await withUser(pool(), null, async (tx) => {
      // The keyring's only query (core imports no repository): the SECURITY DEFINER lookup.
      const row = await one<{ k: string | null }>(tx, `select app.org_kms_key($1::uuid) as k`, [organizationId]);
      return row.k ?? undefined;
    });
    // Only found keys are cached: an org that just got its own key uses it at once.
    if (cache.size > 10_000) cache.clear();
    if (key) cache.set(organizationId, { key, at: Date.now() });
    return key;
  };
}
