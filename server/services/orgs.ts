/**
 * Organizations, members, invitations and the audit log: the use cases behind /api/orgs.
 * Tenant rows are reached only through withTenant, so RLS decides what exists.
 */
import { withTenant, withUser } from '../core/db/pool.ts';
import { randomToken, sha256 } from '../core/crypto/secrets.ts';
import * as orgs from '../repositories/orgs.ts';
import * as invitations from '../repositories/invitations.ts';
import * as audit from '../repositories/audit.ts';
import { conflict, notFound } from '../core/errors.ts';
import { invitationEmail } from '../core/mail/templates.ts';
import { normalizeEmail } from './auth.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireAdmin, requireOwnerForOwnership, requirePerson, tenantScope } from '../policies.ts';

export interface OrgView {
  id: string;
  name: string;
  role: Role;
  created_at: string;
}

const scope = tenantScope;
const orgNotFound = () => notFound('org_not_found', 'No such organization, or you are not a member.');

/** Creates an organization with the user as owner. */
export async function createOrg(deps: Deps, user: SignedInUser, name: string): Promise<OrgView> {
  const org = await withUser(deps.db.app, user.id, (tx) => orgs.createOrganization(tx, name));
  return { id: org.id, name: org.name, role: 'owner', created_at: org.created_at.toISOString() };
}

/** The user's memberships across organizations. */
export async function myOrgs(deps: Deps, user: SignedInUser): Promise<OrgView[]> {
  const rows = await withUser(deps.db.app, user.id, (tx) => orgs.myMemberships(tx));
  return rows.map((r) => ({
    id: r.organization_id,
    name: r.organization_name,
    role: r.role,
    created_at: r.joined_at.toISOString(),
  }));
}

export async function getOrg(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
): Promise<OrgView & { member_count: number }> {
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const org = await orgs.findOrg(tx, orgId);
    if (!org) throw orgNotFound();
    const { count } = await orgs.countMembers(tx, orgId);
    return { id: org.id, name: org.name, role, created_at: org.created_at.toISOString(), member_count: count };
  });
}

/** Renames the org (owner/admin). */
export async function renameOrg(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  name: string,
): Promise<OrgView> {
  requireAdmin(role);
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const before = await orgs.findOrg(tx, orgId);
    const org = await orgs.renameOrg(tx, orgId, name);
    if (!org || !before) throw orgNotFound();
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'org.updated',
      details: { field: 'name', from: before.name, to: name },
    });
    return { id: org.id, name: org.name, role, created_at: org.created_at.toISOString() };
  });
}

export interface MemberView {
  user_id: string;
  email: string;
  display_name: string | null;
  role: Role;
  joined_at: string;
}

export async function listMembers(deps: Deps, user: SignedInUser, orgId: string): Promise<MemberView[]> {
  const rows = await withTenant(deps.db.app, scope(orgId, user), (tx) => orgs.listMembers(tx, orgId));
  return rows.map((m) => ({
    user_id: m.user_id,
    email: m.email,
    display_name: m.display_name,
    role: m.role,
    joined_at: m.created_at.toISOString(),
  }));
}

/**
 * Changes a member's role. Admins manage members and admins; only owners grant or take
 * away ownership. The last owner cannot be demoted (also enforced by a database trigger).
 */
export async function changeRole(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  targetUserId: string,
  newRole: Role,
): Promise<MemberView> {
  requirePerson(user, 'An API key cannot change members.');
  requireAdmin(role);
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const target = await orgs.findMember(tx, orgId, targetUserId);
    if (!target) throw notFound('member_not_found', 'No such member.');
    requireOwnerForOwnership(
      role,
      target.role === 'owner' || newRole === 'owner',
      'Only an owner can grant or remove ownership.',
    );
    if (target.role !== newRole) {
      await orgs.setMemberRole(tx, orgId, targetUserId, newRole);
      await audit.insertAudit(tx, {
        orgId,
        actorUserId: user.id,
        actorEmail: user.email,
        action: 'member.role_changed',
        targetUserId,
        targetEmail: target.email,
        details: { from: target.role, to: newRole },
      });
    }
    return {
      user_id: target.user_id,
      email: target.email,
      display_name: target.display_name,
      role: newRole,
      joined_at: target.created_at.toISOString(),
    };
  });
}

/** Removes a member, or lets a member leave (target = self). The last owner cannot leave. */
export async function removeMember(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  targetUserId: string,
): Promise<void> {
  requirePerson(user, 'An API key cannot change members.');
  const self = targetUserId === user.id;
  if (!self) requireAdmin(role);
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const target = await orgs.findMember(tx, orgId, targetUserId);
    if (!target) throw notFound('member_not_found', 'No such member.');
    requireOwnerForOwnership(role, !self && target.role === 'owner', 'Only an owner can remove an owner.');
    // Audit first: after leaving, RLS no longer lets the user write this org's log.
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: self ? 'member.left' : 'member.removed',
      targetUserId,
      targetEmail: target.email,
      details: { role: target.role },
    });
    await orgs.deleteMember(tx, orgId, targetUserId);
  });
}

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  created_at: string;
  expires_at: string;
}

const presentInvitation = (i: invitations.InvitationRow): InvitationView => ({
  id: i.id,
  email: i.email,
  role: i.role,
  created_at: i.created_at.toISOString(),
  expires_at: i.expires_at.toISOString(),
});

/** Invites an address with a role and emails the link. Admins may not invite owners. */
export async function invite(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  rawEmail: string,
  invitedRole: Role,
): Promise<InvitationView> {
  requirePerson(user, 'An API key cannot invite members.');
  requireAdmin(role);
  requireOwnerForOwnership(role, invitedRole === 'owner', 'Only an owner can invite an owner.');
  const email = normalizeEmail(rawEmail);
  const token = randomToken(32);
  const { inv, orgName } = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const org = await orgs.findOrg(tx, orgId);
    if (!org) throw orgNotFound();
    const members = await orgs.listMembers(tx, orgId);
    if (members.some((m) => m.email === email)) throw conflict('already_member', 'That person is already a member.');
    const row = await invitations.insertInvitation(tx, {
      orgId,
      email,
      role: invitedRole,
      tokenHash: sha256(token),
      invitedBy: user.id,
      expiresAt: new Date(deps.clock.now().getTime() + deps.config.invitationTtlS * 1000),
    });
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'invitation.created',
      targetEmail: email,
      details: { invitation_id: row.id, role: invitedRole },
    });
    return { inv: row, orgName: org.name };
  });
  // Sent after commit: no SMTP round trip while a tenant transaction holds a connection.
  deps.mailer.sendInBackground(
    invitationEmail(deps.config, email, orgName, user.email, invitedRole, token),
    'invitation',
  );
  return presentInvitation(inv);
}

export async function listInvitations(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
): Promise<InvitationView[]> {
  requireAdmin(role);
  const rows = await withTenant(deps.db.app, scope(orgId, user), (tx) =>
    invitations.listPendingInvitations(tx, orgId, deps.clock.now()),
  );
  return rows.map(presentInvitation);
}

export async function revokeInvitation(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<void> {
  requirePerson(user, 'An API key cannot change invitations.');
  requireAdmin(role);
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const inv = await invitations.revokeInvitation(tx, orgId, id);
    if (!inv) throw notFound('invitation_not_found', 'No such pending invitation.');
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'invitation.revoked',
      targetEmail: inv.email,
      details: { invitation_id: id },
    });
  });
}

/**
 * Accepts an invitation for the signed-in user (the invitation's address must be theirs).
 * @throws AppError `invalid_invitation` (404), `wrong_account` (409), seat errors from billing.
 */
export async function acceptInvitation(
  deps: Deps,
  user: SignedInUser,
  token: string,
): Promise<{ organization_id: string; role: Role }> {
  // Refusals (invalid_invitation 404, wrong_account 409, seats) come from the database as they are.
  return withUser(deps.db.app, user.id, (tx) => invitations.acceptInvitation(tx, sha256(token)));
}

export interface AuditView {
  id: string;
  action: string;
  /** A person (user_id, email), or an API key (api_key: its id, name and prefix; user_id and email null). */
  actor: { user_id: string | null; email: string | null; api_key: { id: string; name: string; prefix: string } | null };
  target: { user_id: string | null; email: string | null } | null;
  details: Record<string, unknown>;
  created_at: string;
}

export async function listAudit(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  limit: number,
  before: string | null,
): Promise<AuditView[]> {
  requireAdmin(role);
  const rows = await withTenant(deps.db.app, scope(orgId, user), (tx) => audit.listAudit(tx, orgId, limit, before));
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    actor: {
      user_id: r.actor_user_id,
      email: r.actor_email,
      api_key: r.actor_api_key_id ? apiKeyLabel(r.details) : null,
    },
    target: r.target_user_id || r.target_email ? { user_id: r.target_user_id, email: r.target_email } : null,
    details: r.details,
    created_at: r.created_at.toISOString(),
  }));
}

/** The key named in an audit entry's details (written by the database with the entry). */
function apiKeyLabel(details: Record<string, unknown>): { id: string; name: string; prefix: string } | null {
  const k = details.api_key as { id?: unknown; name?: unknown; prefix?: unknown } | undefined;
  return k && typeof k.id === 'string' && typeof k.name === 'string' && typeof k.prefix === 'string'
    ? { id: k.id, name: k.name, prefix: k.prefix }
    : null;
}
