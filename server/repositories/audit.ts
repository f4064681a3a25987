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
