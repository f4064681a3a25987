/**
 * Retention: an owner or admin keeps recordings until deleted (the default) or for N days;
 * the lifecycle sweep erases (key erasure + certificate) what is older. What the next
 * sweep will erase, and when it runs, is visible beforehand.
 */
import { withTenant, withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycle.ts';
import * as audit from '../repositories/audit.ts';
import { notFound } from '../core/errors.ts';
import { eraseAndCertify } from './certificates.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireAdmin } from '../policies.ts';

/** The name of the lifecycle sweep's row in lifecycle_schedule. */
export const SWEEP = 'lifecycle_sweep';

export interface RetentionView {
  retention_days: number | null;
  next_sweep_at: string;
  /** Sessions the next sweep erases (at most 500). */
  due_at_next_sweep: { id: string; title: string; created_at: string; ended_at: string | null; erase_after: string }[];
}

/** When the next lifecycle sweep runs (now + interval before the first one). */
export async function nextSweepAt(deps: Deps): Promise<Date> {
  const row = await withUser(deps.db.app, null, (tx) => repo.sweepSchedule(tx, SWEEP));
  return row?.next_run_at ?? new Date(deps.clock.now().getTime() + deps.config.lifecycle.sweepIntervalS * 1000);
}

/** The org's retention, the next sweep's time and the sessions it will erase (members). */
export async function getRetention(deps: Deps, user: SignedInUser, orgId: string): Promise<RetentionView> {
  const next = await nextSweepAt(deps);
  // A sweep that is overdue runs at the next tick: what is due now is due then.
  const at = new Date(Math.max(next.getTime(), deps.clock.now().getTime()));
  return withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const org = await repo.findOrgLifecycle(tx, orgId);
    if (!org) throw notFound('org_not_found', 'No such organization, or you are not a member.');
    const due = org.retention_days === null ? [] : await repo.retentionDueBy(tx, orgId, at);
    return {
      retention_days: org.retention_days,
      next_sweep_at: at.toISOString(),
      due_at_next_sweep: due.map((d) => ({
        id: d.id,
        title: d.title,
        created_at: d.created_at.toISOString(),
        ended_at: d.ended_at?.toISOString() ?? null,
        erase_after: d.erase_after.toISOString(),
      })),
    };
  });
}

export interface RetentionPreview {
  retention_days: number | null;
  next_sweep_at: string;
  /** What the next sweep would erase with `retention_days` (at most 500, soonest first). */
  sessions: {
    id: string;
    title: string;
    created_at: string;
    ended_at: string | null;
    /** When its retention ran (or runs) out. */
    retention_ends_at: string;
    /** When the sweep erases it: the next sweep. */
    erase_at: string;
  }[];
}

/**
 * What the next sweep would erase if the retention were `days` (undefined: the current
 * setting; null: keep until deleted, so nothing). Read-only: nothing is erased or changed.
 * @throws AppError 404 `org_not_found`.
 */
export async function previewRetention(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  days: number | null | undefined,
): Promise<RetentionPreview> {
  const next = await nextSweepAt(deps);
  const at = new Date(Math.max(next.getTime(), deps.clock.now().getTime()));
  return withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const org = await repo.findOrgLifecycle(tx, orgId);
    if (!org) throw notFound('org_not_found', 'No such organization, or you are not a member.');
    const keep = days === undefined ? org.retention_days : days;
    const due = keep === null ? [] : await repo.retentionDueIf(tx, orgId, keep, at);
    return {
      retention_days: keep,
      next_sweep_at: at.toISOString(),
      sessions: due.map((d) => ({
        id: d.id,
        title: d.title,
        created_at: d.created_at.toISOString(),
        ended_at: d.ended_at?.toISOString() ?? null,
        retention_ends_at: d.erase_after.toISOString(),
        erase_at: at.toISOString(),
      })),
    };
  });
}

/** Sets the retention (owners and admins); null keeps recordings until deleted. */
export async function setRetention(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  days: number | null,
): Promise<RetentionView> {
  requireAdmin(role, 'Only owners and admins can change the retention.');
  await withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const before = await repo.findOrgLifecycle(tx, orgId);
    if (!before) throw notFound('org_not_found', 'No such organization, or you are not a member.');
    await repo.setRetention(tx, orgId, days);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'org.retention_changed',
      details: { from: before.retention_days, to: days },
    });
  });
  return getRetention(deps, user, orgId);
}

/**
 * The sweep's retention step: erases (with a certificate) every session whose retention ran
 * out at `now`, in batches. Returns how many were erased.
 */
export async function eraseExpired(deps: Deps, now: Date): Promise<number> {
  let erased = 0;
  for (;;) {
    const due = await withUser(deps.db.sweep, null, (tx) => repo.retentionDue(tx, 100));
    for (const d of due) {
      const cert = await eraseAndCertify(deps, d.session_id, 'retention', now);
      if (!cert) continue;
      erased++;
      // A live room of an expired session ends (its chunks could no longer be stored).
      if (cert.wasOpen) await deps.onSessionErased?.(d.session_id);
    }
    if (due.length < 100) return erased;
  }
}
