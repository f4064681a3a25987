/**
 * SQL for organisation exports: the export_jobs table (tenant; admins) and the keyset-paged
 * reads the archive is built from, so no query result grows with the organisation.
 */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { WrappedKey } from '../../lib/keys/KeyProvider.ts';

export interface ExportJobRow {
  id: string;
  organization_id: string;
  requested_by: string | null;
  recipient_kind: 'x25519' | 'passphrase';
  recipient: string | null;
  status: 'queued' | 'running' | 'done' | 'failed' | 'expired';
  sessions_total: number;
  sessions_done: number;
  bytes_written: string;
  object_key: string | null;
  size_bytes: string | null;
  error_code: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  expires_at: Date | null;
  download_count: number;
}

const COLS = `id, organization_id, requested_by, recipient_kind, recipient, status, sessions_total, sessions_done,
  bytes_written::text, object_key, size_bytes::text,
  error_code, created_at, started_at, finished_at, expires_at, download_count`;

export function insertExportJob(
  db: Queryable,
  j: { orgId: string; userId: string; kind: 'x25519' | 'passphrase'; recipient: string | null; now: Date },
): Promise<ExportJobRow> {
  return one<ExportJobRow>(
    db,
    `insert into export_jobs (organization_id, requested_by, recipient_kind, recipient, created_at, heartbeat_at)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::timestamptz, $5::timestamptz) returning ${COLS}`,
    [j.orgId, j.userId, j.kind, j.recipient, j.now],
  );
}

export function findExportJob(db: Queryable, orgId: string, id: string): Promise<ExportJobRow | undefined> {
  return maybeOne<ExportJobRow>(
    db,
    `select ${COLS} from export_jobs where organization_id = $1::uuid and id = $2::uuid`,
    [orgId, id],
  );
}

export function listExportJobs(db: Queryable, orgId: string): Promise<ExportJobRow[]> {
  return many<ExportJobRow>(
    db,
    `select ${COLS} from export_jobs where organization_id = $1::uuid order by created_at desc limit 50`,
    [orgId],
  );
}

export function activeExportJob(db: Queryable, orgId: string): Promise<{ id: string } | undefined> {
  return maybeOne(
    db,
    `select id from export_jobs where organization_id = $1::uuid and status in ('queued', 'running') limit 1`,
    [orgId],
  );
}

export async function markExportRunning(db: Queryable, id: string, now: Date, sessionsTotal: number): Promise<void> {
  await exec(
    db,
    `update export_jobs
        set status = 'running', started_at = $2::timestamptz, heartbeat_at = $2::timestamptz, sessions_total = $3::int
      where id = $1::uuid`,
    [id, now, sessionsTotal],
  );
}

export async function recordExportProgress(
  db: Queryable,
  id: string,
  now: Date,
  sessionsDone: number,
  bytes: number,
): Promise<void> {
  await exec(
    db,
    `update export_jobs set sessions_done = $3::int, bytes_written = $4::bigint, heartbeat_at = $2::timestamptz
      where id = $1::uuid and status = 'running'`,
    [id, now, sessionsDone, bytes],
  );
}

export async function markExportDone(
  db: Queryable,
  id: string,
  now: Date,
  objectKey: string,
  size: number,
  expiresAt: Date,
): Promise<void> {
  await exec(
    db,
    `update export_jobs
        set status = 'done', finished_at = $2::timestamptz, object_key = $3::text, size_bytes = $4::bigint,
            bytes_written = $4::bigint, sessions_done = sessions_total, expires_at = $5::timestamptz
      where id = $1::uuid`,
    [id, now, objectKey, size, expiresAt],
  );
}

export async function markExportFailed(db: Queryable, id: string, now: Date, code: string): Promise<void> {
  await exec(
    db,
    `update export_jobs set status = 'failed', finished_at = $2::timestamptz, error_code = $3::text
      where id = $1::uuid and status in ('queued', 'running')`,
    [id, now, code],
  );
}

export async function countExportDownload(db: Queryable, id: string): Promise<void> {
  await exec(db, `update export_jobs set download_count = download_count + 1 where id = $1::uuid`, [id]);
}

/** Exports whose file expired by the database's clock. */
export function expiredExports(
  db: Queryable,
): Promise<{ id: string; organization_id: string; object_key: string | null }[]> {
  return many(db, `select id, organization_id, object_key from app.lifecycle_expired_exports()`);
}

export async function markExportExpired(db: Queryable, id: string): Promise<void> {
  await exec(db, `select app.lifecycle_mark_export_expired($1::uuid)`, [id]);
}

/** Fails export jobs with no heartbeat for 10 minutes (database clock). */
export async function failStaleExports(db: Queryable): Promise<number> {
  return (await one<{ n: number }>(db, `select app.lifecycle_fail_stale_exports() as n`)).n;
}

/** Reads for the archive (tenant, as the requesting admin). */
export interface ExportOrgRow {
  id: string;
  name: string;
  created_at: Date;
  retention_days: number | null;
}

export function exportOrg(db: Queryable, orgId: string): Promise<ExportOrgRow | undefined> {
  return maybeOne<ExportOrgRow>(
    db,
    `select id, name, created_at, retention_days from organizations where id = $1::uuid`,
    [orgId],
  );
}

/** Who asked for an export and the org's name, for the ready email (the requester, while still a member). */
export function exportRequester(
  db: Queryable,
  orgId: string,
  userId: string,
): Promise<{ email: string; org_name: string } | undefined> {
  return maybeOne(
    db,
    `select u.email, o.name as org_name from users u join organizations o on o.id = $1::uuid where u.id = $2::uuid`,
    [orgId, userId],
  );
}

export function countSessions(db: Queryable, orgId: string): Promise<{ n: number }> {
  return one(db, `select count(*)::int as n from recording_sessions where organization_id = $1::uuid`, [orgId]);
}

export interface ExportSessionRow {
  id: string;
  title: string;
  status: string;
  created_at: Date;
  ended_at: Date | null;
  key_erased_at: Date | null;
  wrapped_key: WrappedKey | null;
}

/** Sessions after (created_at, id), oldest first: the archive walks them page by page. */
export function sessionsPage(
  db: Queryable,
  orgId: string,
  after: { createdAt: Date; id: string } | null,
  limit: number,
): Promise<ExportSessionRow[]> {
  return many<ExportSessionRow>(
    db,
    `select id, title, status, created_at, ended_at, key_erased_at, wrapped_key from recording_sessions
      where organization_id = $1::uuid and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3::uuid))
      order by created_at, id limit $4::int`,
    [orgId, after?.createdAt ?? null, after?.id ?? null, limit],
  );
}

/** A page of a track's chunks after `afterSeq`. */
export function chunksPage(
  db: Queryable,
  trackId: string,
  afterSeq: number,
  limit: number,
): Promise<{ seq: number; object_key: string }[]> {
  return many(
    db,
    `select seq, object_key from chunks where track_id = $1::uuid and seq > $2::int order by seq limit $3::int`,
    [trackId, afterSeq, limit],
  );
}

/** The newest audit id now: the export covers entries up to it. */
export async function maxAuditId(db: Queryable, orgId: string): Promise<string> {
  return (
    await one<{ id: string }>(
      db,
      `select coalesce(max(id), 0)::text as id from audit_log where organization_id = $1::uuid`,
      [orgId],
    )
  ).id;
}

/** An audit entry as exported (one JSON line). */
export interface AuditExportRow {
  id: string;
  created_at: Date;
  action: string;
  actor_user_id: string | null;
  actor_email: string | null;
  target_user_id: string | null;
  target_email: string | null;
  details: Record<string, unknown>;
}

export function auditPage(
  db: Queryable,
  orgId: string,
  afterId: string,
  upToId: string,
  limit: number,
): Promise<AuditExportRow[]> {
  return many<AuditExportRow>(
    db,
    `select id::text, created_at, action, actor_user_id, actor_email, target_user_id, target_email, details
       from audit_log
      where organization_id = $1::uuid and id > $2::bigint and id <= $3::bigint
      -- audit_log.id, not the output column id (text): ids must sort as numbers for the cursor.
      order by audit_log.id limit $4::int`,
    [orgId, afterId, upToId, limit],
  );
}
