/**
 * Key rotation: re-wraps every stored session data key under the current key-encryption
 * key (KeyProvider.rewrap), in batches, without touching a single chunk. A row is updated
 * only after its re-wrap succeeded, and only if it still holds the key it was re-wrapped
 * from (compare-and-swap), so a session deleted or re-wrapped meanwhile is left alone and no
 * key is ever unreadable. Old KEKs are never removed here: the operator removes a
 * `kek-<id>` file once {@link keyUsage} shows no row depends on it.
 *
 * Used by `npm run keys:rotate` (scripts/keys-rotate.ts) with the owner connection.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { withUser, type Queryable } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycle.ts';
import { kekId, parseWrappedKey, type KeyProvider } from '../../lib/keys/index.ts';
import { publishSecretFile } from '../../lib/keys/LocalKeyProvider.ts';

export interface RewrapOptions {
  /** The owner pool (the rotation functions are not granted to the API role). */
  readonly pool: pg.Pool;
  readonly keyProvider: KeyProvider;
  /** Only rows wrapped by this provider. */
  readonly provider: 'local' | 'aws-kms';
  /** Skip rows already wrapped under this key id (the current KEK / the org's KMS key). */
  readonly targetKey: string | null;
  /** Only rows wrapped under this key id (KMS: the key being retired). */
  readonly fromKey: string | null;
  /** Only this organisation's rows. */
  readonly org: string | null;
  /** Rows per batch (default 100). */
  readonly batchSize?: number;
  /** Pause between batches, to spare KMS quotas and the database (default 0). */
  readonly pauseMs?: number;
  /** Re-wraps in flight at once (default 4). */
  readonly concurrency?: number;
  readonly onBatch?: (progress: RewrapResult) => void;
}

export interface RewrapResult {
  moved: number;
  /** Rows that changed under us (erased or re-wrapped by someone else): left as they are. */
  skipped: number;
  failed: number;
  passes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One kind of row that holds a wrapped data key (sessions; webhook endpoints in
 * services/webhookKeyRotation.ts): how to page through them, what to name the key by to the
 * key provider, and how to store a re-wrapped key only if the row still holds the old one.
 */
export interface WrappedKeyRows<R extends { organization_id: string; wrapped_key: unknown }> {
  batch: (tx: Queryable, q: repo.RotationQuery) => Promise<R[]>;
  /** The row's id: the paging cursor and what `store` updates. */
  id: (row: R) => string;
  /** The key's context id for the key provider (KMS encryption context). */
  context: (row: R) => string;
  store: (tx: Queryable, id: string, old: unknown, next: unknown) => Promise<boolean>;
}

/**
 * One pass over every matching row in id order, batch by batch, `o.concurrency` re-wraps at
 * once (default 4), counting into `result` (a failure on one row is counted and the rest go
 * on). Returns how many rows the pass found.
 */
export async function rewrapPass<R extends { organization_id: string; wrapped_key: unknown }>(
  o: RewrapOptions,
  rows: WrappedKeyRows<R>,
  result: RewrapResult,
): Promise<number> {
  const limit = o.batchSize ?? 100;
  let after: string | null = null;
  let found = 0;
  for (;;) {
    const batch = await withUser(o.pool, null, (tx) =>
      rows.batch(tx, {
        after,
        limit,
        org: o.org,
        provider: o.provider,
        targetKey: o.targetKey,
        fromKey: o.fromKey,
      }),
    );
    found += batch.length;
    const queue = [...batch];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        try {
          const next = await o.keyProvider.rewrap(parseWrappedKey(row.wrapped_key), {
            organizationId: row.organization_id,
            sessionId: rows.context(row),
          });
          const r = row;
          const stored = await withUser(o.pool, null, (tx) => rows.store(tx, rows.id(r), r.wrapped_key, next));
          if (stored) result.moved++;
          else result.skipped++;
        } catch {
          result.failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
    o.onBatch?.({ ...result });
    const last = batch.at(-1);
    if (!last || batch.length < limit) break;
    after = rows.id(last);
    if (o.pauseMs) await sleep(o.pauseMs);
  }
  return found;
}

const sessionKeys: WrappedKeyRows<{ session_id: string; organization_id: string; wrapped_key: unknown }> = {
  batch: repo.rotationBatch,
  id: (r) => r.session_id,
  context: (r) => r.session_id,
  store: repo.rotationStore,
};

/**
 * Re-wraps matching session keys in id order, batch by batch; then passes again from the
 * start while a pass still found rows (sessions created by processes that had not yet picked
 * up the new key), at most 5 passes. A failure on one row is counted and the rest go on.
 */
export async function rewrapAll(o: RewrapOptions): Promise<RewrapResult> {
  const result: RewrapResult = { moved: 0, skipped: 0, failed: 0, passes: 0 };
  for (let pass = 0; pass < 5; pass++) {
    result.passes++;
    const failedBefore = result.failed;
    const found = await rewrapPass(o, sessionKeys, result);
    // Rows that failed stay behind; passing again would fail them again.
    if (found === 0 || found === result.failed - failedBefore || (o.targetKey === null && o.fromKey === null)) break;
  }
  return result;
}

/** How many wrapped keys each (provider, key id) still protects. */
export function keyUsage(pool: pg.Pool): Promise<{ provider: string; key_id: string; sessions: number }[]> {
  return withUser(pool, null, (tx) => repo.keyUsage(tx)).then((rows) =>
    rows.map((r) => ({ ...r, sessions: Number(r.sessions) })),
  );
}

/**
 * Creates a new local KEK (`kek-<id>`, 0600) and makes it current by atomically replacing
 * `kek-current`; the previous KEK files stay and keep unwrapping. Returns the new id.
 */
export function createNextLocalKek(secretsDir: string): string {
  fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const kek = randomBytes(32);
  const id = kekId(kek);
  publishSecretFile(secretsDir, path.join(secretsDir, `kek-${id}`), kek.toString('base64'));
  kek.fill(0);
  publishSecretFile(secretsDir, path.join(secretsDir, 'kek-current'), id, true);
  return id;
}

/** Saves a previous operator-given KEK (base64) as a file so it keeps unwrapping after LOCAL_KEK changes. */
export function saveLocalKek(secretsDir: string, base64: string): string {
  const kek = Buffer.from(base64.trim(), 'base64');
  if (kek.length !== 32) throw new Error('a KEK is 32 bytes in base64');
  const id = kekId(kek);
  fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const file = path.join(secretsDir, `kek-${id}`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, kek.toString('base64'), { mode: 0o600, flag: 'wx' });
  return id;
}
