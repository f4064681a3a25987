/** SQL for the audit log (tenant table: run inside withTenant). */
import { exec, many, type Queryable } from '../core/db/pool.ts';

export interface AuditRow {
  id: string;
  actor_user_id: string | null;
  actor_email: string | null;
  /** Set when an API key acted (sql/110_api_keys.sql); details.api_key then names it. */
  actor_api_key_id: string | null;
  action: string;
  target_user_id: string | null;
  target_email: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export interface AuditEntry {
  orgId: string;
  actorUserId: string | null;
  actorEmail: string | null;
  action: string;
  targetUserId?: string | null;
  targetEmail?: string | null;
  details?: Record<string, unknown>;
}

export async function insertAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await exec(
    db,
    `insert into audit_log (organization_id, actor_user_id, actor_email, action, target_user_id, target_email, details)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::uuid, $6::text, $7::jsonb)`,
    [
      e.orgId,
      e.actorUserId,
      e.actorEmail,
      e.action,
      e.targetUserId ?? null,
      e.targetEmail ?? null,
      JSON.stringify(e.details ?? {}),
    ],
  );
}

/** Newest first, keyset-paginated by id. */
export function listAudit(db: Queryable, orgId: string, limit: number, beforeId: string | null): Promise<AuditRow[]> {
  return many<AuditRow>(
    db,
    `select id::text, actor_user_id, actor_email, actor_api_key_id, action, target_user_id, target_email, details, created_at
       from audit_log where organization_id = $1::uuid and ($3::bigint is null or id < $3::bigint)
      order by audit_log.id desc limit $2::int`,
    [orgId, limit, beforeId],
  );
}

/** What the audit filter narrows by; every field optional (null: no condition). */
export interface AuditFilter {
  action: string | null;
  actorUserId: string | null;
  actorEmail: string | null;
  from: Date | null;
  to: Date | null;
  /** Only entries up to this id (a download's snapshot); null: no bound. */
  upToId?: string | null;
}

/** An audit entry with its actor's and target's current names (null when not visible or gone). */
export interface AuditEventRow extends AuditRow {
  actor_deleted_at: Date | null;
  actor_name: string | null;
  actor_current_email: string | null;
  target_deleted_at: Date | null;
  target_name: string | null;
  target_current_email: string | null;
  session_title: string | null;
}

const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/** Order and keyset condition as constants: ascending (oldest first) or descending. */
const AUDIT_ORDER = {
  asc: { cursor: 'a.id > $7::bigint', order: 'a.id asc' },
  desc: { cursor: 'a.id < $7::bigint', order: 'a.id desc' },
} as const;

/**
 * One page of the org's audit entries that match `f`, keyset-paged on the numeric id
 * (`after`: the last id of the previous page, in the chosen order).
 */
export function auditEvents(
  db: Queryable,
  orgId: string,
  f: AuditFilter,
  order: 'asc' | 'desc',
  after: string | null,
  limit: number,
): Promise<AuditEventRow[]> {
  const o = AUDIT_ORDER[order];
  return many<AuditEventRow>(
    db,
    `select a.id::text as id, a.actor_user_id, a.actor_email, a.action, a.target_user_id, a.target_email, a.details,
            a.created_at, a.actor_deleted_at, a.target_deleted_at,
            au.display_name as actor_name, au.email as actor_current_email,
            tu.display_name as target_name, tu.email as target_current_email,
            s.title as session_title
       from audit_log a
       left join users au on au.id = a.actor_user_id
       left join users tu on tu.id = a.target_user_id
       left join recording_sessions s
         on s.id = case when a.details ->> 'session_id' ~ ${UUID_RE} then (a.details ->> 'session_id')::uuid end
      where a.organization_id = $1::uuid
        and ($2::text is null or a.action = $2::text)
        and ($3::uuid is null or a.actor_user_id = $3::uuid)
        and ($4::text is null or lower(a.actor_email) = lower($4::text))
        and ($5::timestamptz is null or a.created_at >= $5::timestamptz)
        and ($6::timestamptz is null or a.created_at < $6::timestamptz)
        and ($7::bigint is null or ${o.cursor})
        and ($9::bigint is null or a.id <= $9::bigint)
      order by ${o.order} limit $8::int`,
    [orgId, f.action, f.actorUserId, f.actorEmail, f.from, f.to, after, limit, f.upToId ?? null],
  );
}

/** The org's newest audit id ('0' when it has none). */
export async function maxAuditId(db: Queryable, orgId: string): Promise<string> {
  const rows = await many<{ id: string }>(
    db,
    `select coalesce(max(id), 0)::text as id from audit_log where organization_id = $1::uuid`,
    [orgId],
  );
  return rows[0]?.id ?? '0';
}

/** The distinct actions in the org's audit log, by name. */
export function auditActions(db: Queryable, orgId: string): Promise<{ action: string }[]> {
  return many(db, `select distinct action from audit_log where organization_id = $1::uuid order by action`, [orgId]);
}

/** The distinct actors in the org's audit log, with their current names when visible. */
export function auditActors(
  db: Queryable,
  orgId: string,
): Promise<{ actor_user_id: string | null; actor_email: string | null; deleted: boolean; name: string | null }[]> {
  return many(
    db,
    `select a.actor_user_id, coalesce(u.email, max(a.actor_email)) as actor_email, u.display_name as name,
            bool_or(a.actor_deleted_at is not null) as deleted
       from audit_log a left join users u on u.id = a.actor_user_id
      where a.organization_id = $1::uuid and (a.actor_user_id is not null or a.actor_email is not null or a.actor_deleted_at is not null)
      group by a.actor_user_id, u.email, u.display_name, case when a.actor_user_id is null then a.actor_email end
      order by 2 nulls last`,
    [orgId],
  );
}
