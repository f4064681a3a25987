/**
 * Metered usage counted against plan limits. Features that consume a limited resource
 * (recording, for now) report it here; the billing overview totals the current period.
 */
import type { Deps } from '../core/context.ts';
import { withTenant } from '../core/db/pool.ts';
import * as repo from '../repositories/billing.ts';

export { RECORDING_SECONDS } from './plans.ts';

export interface UsageReport {
  orgId: string;
  /** The member on whose behalf it is recorded (RLS: members of the org may insert). */
  userId: string;
  /** e.g. RECORDING_SECONDS; lower-case letters, digits and _. */
  metric: string;
  quantity: number;
  /** What was used (e.g. a session or track id): reporting the same source twice counts once. */
  sourceId?: string;
  /** Default: the clock's now. */
  occurredAt?: Date;
}

/**
 * Records one usage event in the org's tenant transaction. Recorded whether or not billing
 * is on, so turning billing on later shows the real history.
 * @returns false when this (metric, sourceId) was already recorded.
 * @throws RangeError for a negative or non-integer quantity.
 */
export async function recordUsage(deps: Deps, r: UsageReport): Promise<boolean> {
  if (!Number.isSafeInteger(r.quantity) || r.quantity < 0)
    throw new RangeError('usage quantity must be a non-negative integer');
  return withTenant(deps.db.jobs, { orgId: r.orgId, userId: r.userId }, (tx) =>
    repo.insertUsage(tx, {
      orgId: r.orgId,
      metric: r.metric,
      quantity: r.quantity,
      occurredAt: r.occurredAt ?? deps.clock.now(),
      sourceId: r.sourceId ?? null,
    }),
  );
}
