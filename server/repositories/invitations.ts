/** SQL for invitations (tenant table: run inside withTenant). */
import { many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { Role } from './orgs.ts';

export interface InvitationRow {
  id: string;
  organization_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

const COLS = 'id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at';

export function insertInvitation(
  db: Queryable,
  i: { orgId: string; email: string; role: Role; tokenHash: Buffer; invitedBy: string; expiresAt: Date },
): Promise<InvitationRow> {
  return one<InvitationRow>(
    db,
    `insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
     values ($1::uuid, $2::text, $3::text, $4::bytea, $5::uuid, $6::timestamptz) returning ${COLS}`,
    [i.orgId, i.email, i.role, i.tokenHash, i.invitedBy, i.expiresAt],
  );
}

/** Pending invitations: not accepted, not revoked, not expired. */
export function listPendingInvitations(db: Queryable, orgId: string, now: Date): Promise<InvitationRow[]> {
  return many<InvitationRow>(
    db,
    `select ${COLS} from invitations
      where organization_id = $1::uuid and accepted_at is null and revoked_at is null and expires_at > $2::timestamptz
      order by created_at desc`,
    [orgId, now],
  );
}

/** Open invitations (not accepted, not revoked), expired ones included: the members page shows them as such. */
export function listOpenInvitations(db: Queryable, orgId: string): Promise<InvitationRow[]> {
  return many<InvitationRow>(
    db,
    `select ${COLS} from invitations
      where organization_id = $1::uuid and accepted_at is null and revoked_at is null
      order by created_at desc`,
    [orgId],
  );
}

/** A new token and expiry for an open invitation (the old link stops working); undefined when not open. */
export function renewInvitation(
  db: Queryable,
  orgId: string,
  id: string,
  tokenHash: Buffer,
  expiresAt: Date,
): Promise<InvitationRow | undefined> {
  return maybeOne<InvitationRow>(
    db,
    `update invitations set token_hash = $3::bytea, expires_at = $4::timestamptz
      where organization_id = $1::uuid and id = $2::uuid and accepted_at is null and revoked_at is null
     returning ${COLS}`,
    [orgId, id, tokenHash, expiresAt],
  );
}

export function revokeInvitation(db: Queryable, orgId: string, id: string): Promise<InvitationRow | undefined> {
  return maybeOne<InvitationRow>(
    db,
    `update invitations set revoked_at = now()
      where organization_id = $1::uuid and id = $2::uuid and accepted_at is null and revoked_at is null
     returning ${COLS}`,
    [orgId, id],
  );
}

/** Accepts for the transaction's user (security-definer function; checks email, expiry, seats). */
export function acceptInvitation(db: Queryable, tokenHash: Buffer): Promise<{ organization_id: string; role: Role }> {
  return one<{ organization_id: string; role: Role }>(
    db,
    `select organization_id, role from app.accept_invitation($1::bytea)`,
    [tokenHash],
  );
}
