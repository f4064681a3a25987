/**
 * Key rotation for webhook endpoints: their data keys (which seal the signing secrets) are
 * re-wrapped exactly like sessions' keys (services/keyRotation.ts), in batches, each stored
 * only if the endpoint still holds the key it was re-wrapped from. Used by
 * `npm run keys:rotate` beside {@link rewrapAll}, so `--status` never calls a KEK unused
 * while a signing secret depends on it.
 */
import { withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/webhooks.ts';
import { rewrapPass, type RewrapOptions, type RewrapResult, type WrappedKeyRows } from './keyRotation.ts';

const endpointKeys: WrappedKeyRows<repo.WebhookKeyRow> = {
  batch: repo.rotationBatch,
  id: (r) => r.endpoint_id,
  context: (r) => `webhook:${r.endpoint_id}`,
  store: repo.rotationStore,
};

/**
 * Re-wraps every matching endpoint key once, one at a time and without pauses whatever `o`
 * says (there are at most 20 endpoints per organisation); a failure on one is counted and
 * the rest go on.
 */
export async function rewrapWebhookKeys(o: RewrapOptions): Promise<RewrapResult> {
  const result: RewrapResult = { moved: 0, skipped: 0, failed: 0, passes: 1 };
  await rewrapPass({ ...o, concurrency: 1, pauseMs: 0 }, endpointKeys, result);
  return result;
}

/** How many endpoint keys each (provider, key id) still protects. */
export async function webhookKeyUsage(o: Pick<RewrapOptions, 'pool'>) {
  const rows = await withUser(o.pool, null, (tx) => repo.keyUsage(tx));
  return rows.map((r) => ({ provider: r.provider, key_id: r.key_id, endpoints: Number(r.endpoints) }));
}
