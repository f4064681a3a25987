/**
 * SQL for the data lifecycle: retention, deletion certificates, org deletion, account
 * deletion and the sweep's schedule. Tenant queries run inside withTenant; the `app.*`
 * functions are the security-definer admin path listed in sql/070_lifecycle.sql.
 */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';

/** Retention and deletion state of an org (tenant row). */
export interface OrgLifecycleRow {
  id: string;
  name: string;
  retention_days: number | null;
  deletion_scheduled_at: Date | null;
  deletion_due_at: Date | null;
  deletion_scheduled_by: string | null;
}

/** The org's lifecycle columns (RLS: members only). */
export function findOrgLifecycle(db: Queryable, orgId: string): Promise<OrgLifecycleRow | undefined> {
  return maybeOne<OrgLifecycleRow>(
    db,
    `select id, name, retention_days, deletion_scheduled_at, deletion_due_at, deletion_scheduled_by
       from organizations where id = $1::uuid`,
    [orgId],
  );
}

/**
 * Sets the retention (NULL: keep until deleted).
 * RLS: admins; the read-only trigger refuses it during a scheduled deletion.
 */
export function setRetention(db: Queryable, orgId: string, days: number | null): Promise<{ id: string } | undefined> {
  return maybeOne(
    db,
    `update organizations set retention_days = $2::int, updated_at = now() where id = $1::uuid returning id`,
    [orgId, days],
  );
}

/** A session the retention sweep would erase at `at`. */
export interface RetentionDueRow {
  id: string;
  title: string;
  created_at: Date;
  ended_at: Date | null;
  erase_after: Date;
}

/** Sessions of the org whose retention runs out by `at` (at most 500, oldest first). */
export function retentionDueBy(db: Queryable, orgId: string, at: Date): Promise<RetentionDueRow[]> {
  return many<RetentionDueRow>(
    db,
    `select s.id, s.title, s.created_at, s.ended_at,
            coalesce(s.ended_at, s.created_at) + make_interval(days => o.retention_days) as erase_after
       from recording_sessions s join organizations o on o.id = s.organization_id
      where s.organization_id = $1::uuid and o.retention_days is not null and s.wrapped_key is not null
        and coalesce(s.ended_at, s.created_at) + make_interval(days => o.retention_days) <= $2::timestamptz
      order by erase_after, s.id limit 500`,
    [orgId, at],
  );
}

/** What retentionDueBy would list if the org kept recordings for `days` days (a preview; erases nothing). */
export function retentionDueIf(db: Queryable, orgId: string, days: number, at: Date): Promise<RetentionDueRow[]> {
  return many<RetentionDueRow>(
    db,
    `select s.id, s.title, s.created_at, s.ended_at,
            coalesce(s.ended_at, s.created_at) + make_interval(days => $2::int) as erase_after
       from recording_sessions s
      where s.organization_id = $1::uuid and s.wrapped_key is not null
        and coalesce(s.ended_at, s.created_at) + make_interval(days => $2::int) <= $3::timestamptz
      order by erase_after, s.id limit 500`,
    [orgId, days, at],
  );
}

/** Sessions (any org) due for retention erasure by the database's clock. */
export function retentionDue(db: Queryable, limit: number): Promise<{ organization_id: string; session_id: string }[]> {
  return many(db, `select organization_id, session_id from app.retention_due($1::int)`, [limit]);
}

/** What a session's erasure made unreadable (RLS: members). */
export async function sessionMediaCounts(
  db: Queryable,
  sessionId: string,
): Promise<{ chunks: number; bytes: number; transcripts: number }> {
  const r = await one<{ chunks: string; bytes: string }>(
    db,
    `select coalesce(sum(chunk_count), 0)::text as chunks, coalesce(sum(byte_count), 0)::text as bytes
       from tracks where session_id = $1::uuid`,
    [sessionId],
  );
  return { chunks: Number(r.chunks), bytes: Number(r.bytes), transcripts: await countTranscripts(db, sessionId) };
}

/** Transcripts of a session (sealed under its key, so erasing the key covers them). */
export async function countTranscripts(db: Queryable, sessionId: string): Promise<number> {
  return (
    await one<{ n: number }>(db, `select count(*)::int as n from transcripts where session_id = $1::uuid`, [sessionId])
  ).n;
}

/** What the sweep's erasure of one session removed (app.lifecycle_erase_session). */
export interface ErasedSessionRow {
  organization_id: string;
  key_provider: string;
  key_id: string;
  wrapped_key_sha256: string;
  erased_at: Date;
  chunks: string;
  bytes: string;
  was_open: boolean;
  transcripts: string;
}

export function eraseSessionForSweep(
  db: Queryable,
  sessionId: string,
  action: 'session.erased_by_retention',
): Promise<ErasedSessionRow | undefined> {
  return maybeOne<ErasedSessionRow>(
    db,
    `select organization_id, key_provider, key_id, wrapped_key_sha256, erased_at,
            chunks::text, bytes::text, was_open, transcripts::text
       from app.lifecycle_erase_session($1::uuid, $2::text)`,
    [sessionId, action],
  );
}

export interface CertificateRow {
  id: string;
  session_id: string;
  reason: 'deleted' | 'retention';
  statement: Record<string, unknown>;
  signature: string;
  created_at: Date;
}

/** Stores a certificate from a tenant transaction (RLS: members). */
export async function insertCertificate(
  db: Queryable,
  c: { id: string; orgId: string; sessionId: string; reason: string; statement: unknown; signature: string },
): Promise<void> {
  await exec(
    db,
    `insert into deletion_certificates (id, organization_id, session_id, reason, statement, signature)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::jsonb, $6::text)`,
    [c.id, c.orgId, c.sessionId, c.reason, JSON.stringify(c.statement), c.signature],
  );
}

/** Stores a certificate from the sweep (definer function; the session must be erased). */
export async function storeCertificateForSweep(
  db: Queryable,
  c: { id: string; orgId: string; sessionId: string; reason: string; statement: unknown; signature: string },
): Promise<void> {
  await exec(db, `select app.store_deletion_certificate($1::uuid, $2::uuid, $3::uuid, $4::text, $5::jsonb, $6::text)`, [
    c.id,
    c.orgId,
    c.sessionId,
    c.reason,
    JSON.stringify(c.statement),
    c.signature,
  ]);
}

const CERT_COLS = 'id, session_id, reason, statement, signature, created_at';

export function findCertificate(db: Queryable, orgId: string, sessionId: string): Promise<CertificateRow | undefined> {
  return maybeOne<CertificateRow>(
    db,
    `select ${CERT_COLS} from deletion_certificates where organization_id = $1::uuid and session_id = $2::uuid`,
    [orgId, sessionId],
  );
}

export function listCertificates(db: Queryable, orgId: string, limit: number): Promise<CertificateRow[]> {
  return many<CertificateRow>(
    db,
    `select ${CERT_COLS}
       from deletion_certificates where organization_id = $1::uuid order by created_at desc, id limit $2::int`,
    [orgId, limit],
  );
}

/** Org deletion (definer functions, see sql/070_lifecycle.sql). Due 7 days from the database's clock. */
export function scheduleOrgDeletion(
  db: Queryable,
): Promise<{ organization_name: string; deletion_due_at: Date; owner_emails: string[] }> {
  return one(db, `select organization_name, deletion_due_at, owner_emails from app.schedule_org_deletion()`);
}

export function cancelOrgDeletion(db: Queryable): Promise<{ organization_name: string; owner_emails: string[] }> {
  return one(db, `select organization_name, owner_emails from app.cancel_org_deletion()`);
}

/** Orgs whose deletion is due by the database's clock. */
export function orgsDueForDeletion(
  db: Queryable,
): Promise<{ organization_id: string; organization_name: string; deletion_due_at: Date }[]> {
  return many(db, `select organization_id, organization_name, deletion_due_at from app.lifecycle_orgs_due()`);
}

/** Orgs due for deletion within a day (database clock) and not yet reminded, marked reminded. */
export function claimDeletionReminders(
  db: Queryable,
): Promise<{ organization_id: string; organization_name: string; deletion_due_at: Date; owner_emails: string[] }[]> {
  return many(
    db,
    `select organization_id, organization_name, deletion_due_at, owner_emails from app.lifecycle_claim_reminders()`,
  );
}

export async function eraseOrgKeys(
  db: Queryable,
  orgId: string,
): Promise<{ sessions: number; chunks: number; bytes: number }> {
  const r = await one<{ sessions: number; chunks: string; bytes: string }>(
    db,
    `select sessions, chunks::text, bytes::text from app.org_deletion_erase_keys($1::uuid)`,
    [orgId],
  );
  return { sessions: r.sessions, chunks: Number(r.chunks), bytes: Number(r.bytes) };
}

/** Deletes an org whose grace period ended by the database's clock; `not_due` otherwise. */
export function finishOrgDeletion(
  db: Queryable,
  orgId: string,
  details: Record<string, unknown>,
): Promise<{ organization_name: string; owner_emails: string[] }> {
  return one(db, `select organization_name, owner_emails from app.org_deletion_finish($1::uuid, $2::jsonb)`, [
    orgId,
    JSON.stringify(details),
  ]);
}

/** Purges audit entries of orgs deleted more than 365 days ago (database clock). */
export async function purgeOrphanedAudit(db: Queryable): Promise<number> {
  return (await one<{ n: number }>(db, `select app.purge_orphaned_audit() as n`)).n;
}

/** Accounts. `users` is not a tenant table; these run in withUser. */
export interface AccountDeletionRow {
  id: string;
  email: string;
  deletion_due_at: Date | null;
}

export function mySoleOwnerships(db: Queryable): Promise<{ organization_id: string; organization_name: string }[]> {
  return many(db, `select organization_id, organization_name from app.my_sole_ownerships()`);
}

/** Accounts whose recovery window ended by the database's clock. */
export function accountsDue(db: Queryable, limit: number): Promise<{ user_id: string }[]> {
  return many(db, `select user_id from app.lifecycle_accounts_due($1::int)`, [limit]);
}

/** Purges an account whose 30 days ended by the database's clock; false when not due. */
export async function purgeAccount(db: Queryable, userId: string): Promise<boolean> {
  return (await one<{ ok: boolean }>(db, `select app.purge_account($1::uuid) as ok`, [userId])).ok;
}

/** The sweep's schedule (not a tenant table). */
export function sweepSchedule(
  db: Queryable,
  name: string,
): Promise<{ next_run_at: Date; last_run_at: Date | null } | undefined> {
  return maybeOne(db, `select next_run_at, last_run_at from lifecycle_schedule where name = $1::text`, [name]);
}

/** Creates the schedule row when missing. */
export async function ensureSweepSchedule(db: Queryable, name: string, next: Date): Promise<void> {
  await exec(
    db,
    `insert into lifecycle_schedule (name, next_run_at)
     values ($1::text, $2::timestamptz) on conflict (name) do nothing`,
    [name, next],
  );
}

/** Claims a due run: true for exactly one caller when `next_run_at <= now`. */
export async function claimSweep(db: Queryable, name: string, now: Date, next: Date): Promise<boolean> {
  return (
    (await exec(
      db,
      `update lifecycle_schedule set last_run_at = $2::timestamptz, next_run_at = $3::timestamptz
        where name = $1::text and next_run_at <= $2::timestamptz`,
      [name, now, next],
    )) === 1
  );
}

export async function recordSweepResult(db: Queryable, name: string, result: Record<string, unknown>): Promise<void> {
  await exec(db, `update lifecycle_schedule set last_result = $2::jsonb where name = $1::text`, [
    name,
    JSON.stringify(result),
  ]);
}

/** Key rotation and bring-your-own-key (definer functions; the CLI calls the write ones as the owner). */
export async function setOrgKmsKey(db: Queryable, orgId: string, keyId: string): Promise<void> {
  await exec(db, `select app.set_org_kms_key($1::uuid, $2::text)`, [orgId, keyId]);
}

/**
 * Which wrapped keys a rotation batch takes: after `after` in id order, at most `limit`, of
 * `provider`, not already under `targetKey`, only under `fromKey` and only of `org` when set.
 * The same for session keys and webhook endpoint keys (repositories/webhooks.ts).
 */
export interface RotationQuery {
  after: string | null;
  limit: number;
  org: string | null;
  provider: string;
  targetKey: string | null;
  fromKey: string | null;
}

/** Session data keys to re-wrap (see {@link RotationQuery}). */
export function rotationBatch(
  db: Queryable,
  q: RotationQuery,
): Promise<{ session_id: string; organization_id: string; wrapped_key: unknown }[]> {
  return many(
    db,
    `select session_id, organization_id, wrapped_key
       from app.rotation_batch($1::uuid, $2::int, $3::uuid, $4::text, $5::text, $6::text)`,
    [q.after, q.limit, q.org, q.provider, q.targetKey, q.fromKey],
  );
}

/** Stores a re-wrapped key only if the row still holds `old`; false when it changed (erased, re-wrapped). */
export async function rotationStore(db: Queryable, sessionId: string, old: unknown, next: unknown): Promise<boolean> {
  return (
    await one<{ ok: boolean }>(db, `select app.rotation_store($1::uuid, $2::jsonb, $3::jsonb) as ok`, [
      sessionId,
      JSON.stringify(old),
      JSON.stringify(next),
    ])
  ).ok;
}

export function keyUsage(db: Queryable): Promise<{ provider: string; key_id: string; sessions: string }[]> {
  return many(db, `select provider, key_id, sessions::text from app.rotation_key_usage()`);
}
