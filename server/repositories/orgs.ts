/** SQL for organizations and memberships (tenant tables: run inside withTenant). */
import { many, maybeOne, one, type Queryable } from '../core/db/pool.ts';

export type Role = 'owner' | 'admin' | 'member';

export interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

export interface MemberRow {
  user_id: string;
  email: string;
  display_name: string | null;
  role: Role;
  created_at: Date;
}

export interface MyMembershipRow {
  organization_id: string;
  organization_name: string;
  role: Role;
  joined_at: Date;
}

/** Creates an org owned by the transaction's user (security-definer function). */
export function createOrganization(db: Queryable, name: string): Promise<OrgRow> {
  return one<OrgRow>(db, `select id, name, created_at, updated_at from app.create_organization($1::text)`, [name]);
}

export function myMemberships(db: Queryable): Promise<MyMembershipRow[]> {
  return many<MyMembershipRow>(
    db,
    `select organization_id, organization_name, role, joined_at from app.my_memberships()`,
  );
}

/** The current user's role in the current org, or undefined when not a member. */
export async function currentRole(db: Queryable): Promise<Role | undefined> {
  const row = await one<{ role: Role | null }>(db, `select app.current_role_in_org() as role`);
  return row.role ?? undefined;
}

export function findOrg(db: Queryable, id: string): Promise<OrgRow | undefined> {
  return maybeOne<OrgRow>(db, `select id, name, created_at, updated_at from organizations where id = $1::uuid`, [id]);
}

export function renameOrg(db: Queryable, id: string, name: string): Promise<OrgRow | undefined> {
  return maybeOne<OrgRow>(
    db,
    `update organizations set name = $2::text, updated_at = now() where id = $1::uuid
     returning id, name, created_at, updated_at`,
    [id, name],
  );
}

export function listMembers(db: Queryable, orgId: string): Promise<MemberRow[]> {
  return many<MemberRow>(
    db,
    `select m.user_id, u.email, u.display_name, m.role, m.created_at
       from memberships m join users u on u.id = m.user_id
      where m.organization_id = $1::uuid order by m.created_at, u.email`,
    [orgId],
  );
}

export function findMember(db: Queryable, orgId: string, userId: string): Promise<MemberRow | undefined> {
  return maybeOne<MemberRow>(
    db,
    `select m.user_id, u.email, u.display_name, m.role, m.created_at
       from memberships m join users u on u.id = m.user_id
      where m.organization_id = $1::uuid and m.user_id = $2::uuid`,
    [orgId, userId],
  );
}

export function countMembers(db: Queryable, orgId: string): Promise<{ count: number }> {
  return one<{ count: number }>(db, `select count(*)::int as count from memberships where organization_id = $1::uuid`, [
    orgId,
  ]);
}

export function setMemberRole(
  db: Queryable,
  orgId: string,
  userId: string,
  role: Role,
): Promise<{ user_id: string } | undefined> {
  return maybeOne<{ user_id: string }>(
    db,
    `update memberships set role = $3::text where organization_id = $1::uuid and user_id = $2::uuid returning user_id`,
    [orgId, userId, role],
  );
}

export function deleteMember(db: Queryable, orgId: string, userId: string): Promise<{ user_id: string } | undefined> {
  return maybeOne<{ user_id: string }>(
    db,
    `delete from memberships where organization_id = $1::uuid and user_id = $2::uuid returning user_id`,
    [orgId, userId],
  );
}
