/**
 * Key rotation for webhook endpoints: their data keys (which seal the signing secrets) are
 * re-wrapped exactly like sessions' keys (services/keyRotation.ts), in batches, each stored
 * only if the endpoint still holds the key it was re-wrapped from. Used by
 * `npm run keys:rotate` beside {@link rewrapAll}, so `--status` never calls a KEK unused
 * while a signing secret depends on it.
 */
import { withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/webhooks.ts';
import { parseWrappedKey } from '../../lib/keys/index.ts';
import type { RewrapOptions, RewrapResult } from './keyRotation.ts';

/** Re-wraps every matching endpoint key once (a failure on one is counted; the rest go on). */
export async function rewrapWebhookKeys(o: RewrapOptions): Promise<RewrapResult> {
  const result: RewrapResult = { moved: 0, skipped: 0, failed: 0, passes: 1 };
  const limit = o.batchSize ?? 100;
  let after: string | null = null;
  for (;;) {
    const batch = await withUser(o.pool, null, (tx) =>
      repo.rotationBatch(tx, {
        after,
        limit,
        org: o.org,
        provider: o.provider,
        targetKey: o.targetKey,
        fromKey: o.fromKey,
      }),
    );
    for (const row of batch) {
      try {
        const next = await o.keyProvider.rewrap(parseWrappedKey(row.wrapped_key), {
          organizationId: row.organization_id,
          sessionId: `webhook:${row.endpoint_id}`,
        });
        const stored = await withUser(o.pool, null, (tx) =>
          repo.rotationStore(tx, row.endpoint_id, row.wrapped_key, next),
        );
        if (stored) result.moved++;
        else result.skipped++;
      } catch {
        result.failed++;
      }
    }
    o.onBatch?.({ ...result });
    const last = batch.at(-1);
    if (!last || batch.length < limit) break;
    after = last.endpoint_id;
  }
  return result;
}

/** How many endpoint keys each (provider, key id) still protects. */
export async function webhookKeyUsage(o: Pick<RewrapOptions, 'pool'>) {
  const rows = await withUser(o.pool, null, (tx) => repo.keyUsage(tx));
  return rows.map((r) => ({ provider: r.provider, key_id: r.key_id, endpoints: Number(r.endpoints) }));
}
