/**
 * The members page beyond the basics in services/orgs.ts: seats used against seats paid,
 * and resending an invitation (a new link and a fresh expiry, mailed again).
 */
import type { Deps } from '../core/context.ts';
import { withTenant } from '../core/db/pool.ts';
import { randomToken, sha256 } from '../core/crypto/secrets.ts';
import { notFound } from '../core/errors.ts';
import { invitationEmail } from '../core/mail/templates.ts';
import type { SignedInUser } from '../context.ts';
import { requireAdmin, requireOwnerForOwnership, requirePerson, tenantScope } from '../policies.ts';
import * as audit from '../repositories/audit.ts';
import * as billing from '../repositories/billing.ts';
import * as invitations from '../repositories/invitations.ts';
import * as orgs from '../repositories/orgs.ts';
import type { Role } from '../repositories/orgs.ts';
import { presentInvitation, type InvitationView } from './orgs.ts';

/** Seats used (members) and paid (null: billing off, or no limit). */
export async function seats(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
): Promise<{ used: number; paid: number | null }> {
  return withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => ({
    used: (await orgs.countMembers(tx, orgId)).count,
    paid: await billing.currentSeatLimit(tx),
  }));
}

/**
 * Sends an open invitation again with a new link and expiry; the old link stops working.
 * @throws AppError 403 `api_key_forbidden` (an API key, like creating or revoking one),
 *   `admin_required` (owners only for an owner invitation), 404 `invitation_not_found`.
 */
export async function resendInvitation(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<InvitationView> {
  requirePerson(user, 'An API key cannot change invitations.');
  requireAdmin(role);
  const token = randomToken(32);
  const now = deps.clock.now();
  const { inv, orgName } = await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    const open = (await invitations.listOpenInvitations(tx, orgId)).find((i) => i.id === id);
    if (!open) throw notFound('invitation_not_found', 'No such open invitation.');
    requireOwnerForOwnership(role, open.role === 'owner', 'Only an owner can invite an owner.');
    const row = await invitations.renewInvitation(
      tx,
      orgId,
      id,
      sha256(token),
      new Date(now.getTime() + deps.config.invitationTtlS * 1000),
    );
    if (!row) throw notFound('invitation_not_found', 'No such open invitation.');
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'invitation.resent',
      targetEmail: row.email,
      details: { invitation_id: row.id, role: row.role },
    });
    return { inv: row, orgName: (await orgs.findOrg(tx, orgId))?.name ?? '' };
  });
  // After commit: no SMTP round trip while the tenant transaction holds a connection.
  deps.mailer.sendInBackground(
    invitationEmail(deps.config, inv.email, orgName, user.email, inv.role, token),
    'invitation',
  );
  return presentInvitation(inv, now);
}
