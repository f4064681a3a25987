/**
 * Organisation deletion. An owner schedules it: a 7-day grace period follows in which the
 * org is read-only (enforced by a trigger in sql/070_lifecycle.sql: writes get 423
 * `org_pending_deletion`) and any owner can cancel. Then the sweep erases every session key
 * (nothing can be decrypted from that moment), removes the org's objects, removes its rows
 * and members, and keeps the audit log with the org id nulled for up to 12 months. Owners
 * are emailed when it is scheduled, a day before, and when it is done (with a signed
 * certificate), always after commit.
 */
import { withTenant, withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycle.ts';
import { badRequest, notFound } from '../core/errors.ts';
import { certifyOrgErasure } from './certificates.ts';
import {
  orgDeletedEmail,
  orgDeletionCancelledEmail,
  orgDeletionReminderEmail,
  orgDeletionScheduledEmail,
} from './lifecycleEmails.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireOwner, requirePerson } from '../policies.ts';

/** The grace period between scheduling and deletion. */
/** The grace period (sql/070_lifecycle.sql app.schedule_org_deletion sets the due date from the database clock). */
export const GRACE_DAYS = 7;

export interface DeletionView {
  scheduled: boolean;
  scheduled_at: string | null;
  due_at: string | null;
  scheduled_by: string | null;
}

/** The org's deletion state (members). */
export async function deletionStatus(deps: Deps, user: SignedInUser, orgId: string): Promise<DeletionView> {
  const org = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) => repo.findOrgLifecycle(tx, orgId));
  if (!org) throw notFound('org_not_found', 'No such organization, or you are not a member.');
  return {
    scheduled: org.deletion_due_at !== null,
    scheduled_at: org.deletion_scheduled_at?.toISOString() ?? null,
    due_at: org.deletion_due_at?.toISOString() ?? null,
    scheduled_by: org.deletion_scheduled_by,
  };
}

/**
 * Schedules the org's deletion (owners only). `confirmName` must equal the org's name.
 * @throws AppError 403 `owner_required`, 400 `confirmation_mismatch`, 409 `already_scheduled`.
 */
export async function scheduleDeletion(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  confirmName: string,
): Promise<DeletionView> {
  requirePerson(user, 'An API key cannot delete the organization.');
  requireOwner(role, 'Only an owner can delete the organization.');
  const now = deps.clock.now();
  const r = await withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const org = await repo.findOrgLifecycle(tx, orgId);
    if (!org) throw notFound('org_not_found', 'No such organization, or you are not a member.');
    if (org.name !== confirmName)
      throw badRequest('confirmation_mismatch', "Type the organization's exact name to confirm.");
    return repo.scheduleOrgDeletion(tx);
  });
  const due = r.deletion_due_at;
  for (const to of r.owner_emails)
    deps.mailer.sendInBackground(
      orgDeletionScheduledEmail(deps.config, to, r.organization_name, user.email, due),
      'org_deletion_scheduled',
    );
  return { scheduled: true, scheduled_at: now.toISOString(), due_at: due.toISOString(), scheduled_by: user.id };
}

/** Cancels a scheduled deletion (any owner). @throws AppError 403 `owner_required`, 409 `not_scheduled`. */
export async function cancelDeletion(deps: Deps, user: SignedInUser, orgId: string, role: Role): Promise<DeletionView> {
  requireOwner(role, 'Only an owner can cancel the deletion.');
  const r = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) => repo.cancelOrgDeletion(tx));
  for (const to of r.owner_emails)
    deps.mailer.sendInBackground(
      orgDeletionCancelledEmail(deps.config, to, r.organization_name, user.email),
      'org_deletion_cancelled',
    );
  return { scheduled: false, scheduled_at: null, due_at: null, scheduled_by: null };
}

/** The sweep: reminder emails for deletions due within a day. Returns how many orgs. */
export async function sendReminders(deps: Deps): Promise<number> {
  const due = await withUser(deps.db.sweep, null, (tx) => repo.claimDeletionReminders(tx));
  for (const o of due) {
    for (const to of o.owner_emails)
      deps.mailer.sendInBackground(
        orgDeletionReminderEmail(deps.config, to, o.organization_name, o.deletion_due_at),
        'org_deletion_reminder',
      );
  }
  return due.length;
}

/**
 * The sweep: deletes every org whose grace period ended. Per org: erase all session keys
 * (commit), remove its objects (no transaction held), then remove its rows, keeping the
 * audit log orphaned; owners get the signed certificate. Returns how many orgs were deleted.
 */
export async function deleteDueOrgs(deps: Deps, now: Date): Promise<number> {
  const due = await withUser(deps.db.sweep, null, (tx) => repo.orgsDueForDeletion(tx));
  let deleted = 0;
  for (const o of due) {
    try {
      const counts = await withUser(deps.db.sweep, null, (tx) => repo.eraseOrgKeys(tx, o.organization_id));
      const objectsRemoved = await deps.storage.objectStore.deletePrefix(`orgs/${o.organization_id}/`);
      const cert = certifyOrgErasure(deps, { orgId: o.organization_id, erasedAt: now, ...counts, objectsRemoved });
      const r = await withUser(deps.db.sweep, null, (tx) =>
        repo.finishOrgDeletion(tx, o.organization_id, {
          certificate_id: cert.certificate.certificate_id,
          sessions: counts.sessions,
          chunks: counts.chunks,
          bytes: counts.bytes,
          objects_removed: objectsRemoved,
        }),
      );
      for (const to of r.owner_emails)
        deps.mailer.sendInBackground(orgDeletedEmail(deps.config, to, r.organization_name, cert), 'org_deleted');
      deleted++;
    } catch (err) {
      // One org's failure (storage outage) must not stop the others; the next sweep retries.
      log.error('org deletion failed', { ...errorFields(err), org: deps.metrics.orgLabel(o.organization_id) });
    }
  }
  return deleted;
}
