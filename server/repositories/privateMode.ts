/** SQL for private mode (migrations/1732400011000_private_mode.sql, sql/140_private.sql). */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';

export interface OrgKeyRow {
  public_key: Buffer;
  enabled_at: Date;
  enabled_by: string | null;
}

export function findOrgKey(db: Queryable, orgId: string): Promise<OrgKeyRow | undefined> {
  return maybeOne<OrgKeyRow>(
    db,
    `select public_key, enabled_at, enabled_by from org_private_keys where organization_id = $1::uuid`,
    [orgId],
  );
}

/** Turns private mode on (RLS: owners only; a second time violates the primary key). */
export async function insertOrgKey(db: Queryable, orgId: string, publicKey: Buffer, userId: string): Promise<void> {
  await exec(
    db,
    `insert into org_private_keys (organization_id, public_key, enabled_by) values ($1::uuid, $2::bytea, $3::uuid)`,
    [orgId, publicKey, userId],
  );
}

export interface HolderRow {
  user_id: string;
  email: string;
  display_name: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Key holders the caller may see (RLS: admins see all, others only themselves). */
export function listHolders(db: Queryable, orgId: string): Promise<HolderRow[]> {
  return many<HolderRow>(
    db,
    `select h.user_id, u.email, u.display_name, h.created_at, h.updated_at
       from private_key_holders h join users u on u.id = h.user_id
      where h.organization_id = $1::uuid order by h.created_at`,
    [orgId],
  );
}

export function findMyWrappedKey(
  db: Queryable,
  orgId: string,
  userId: string,
): Promise<{ wrapped: unknown } | undefined> {
  return maybeOne(
    db,
    `select wrapped_private_key as wrapped from private_key_holders where organization_id = $1::uuid and user_id = $2::uuid`,
    [orgId, userId],
  );
}

/** Registers or replaces the caller's own copy; returns whether it replaced one. */
export async function upsertMyWrappedKey(
  db: Queryable,
  orgId: string,
  userId: string,
  wrapped: unknown,
): Promise<boolean> {
  const r = await one<{ replaced: boolean }>(
    db,
    `insert into private_key_holders (organization_id, user_id, wrapped_private_key) values ($1::uuid, $2::uuid, $3::jsonb)
     on conflict (organization_id, user_id) do update set wrapped_private_key = excluded.wrapped_private_key, updated_at = now()
     returning (xmax <> 0) as replaced`,
    [orgId, userId, JSON.stringify(wrapped)],
  );
  return r.replaced;
}

export function deleteHolder(db: Queryable, orgId: string, userId: string): Promise<{ email: string } | undefined> {
  return maybeOne(
    db,
    `delete from private_key_holders h using users u
      where h.organization_id = $1::uuid and h.user_id = $2::uuid and u.id = h.user_id returning u.email`,
    [orgId, userId],
  );
}

export interface SealedSessionRow {
  private_wrapped_key: unknown;
  private_sealed_at: Date | null;
}

export function findSealedSession(
  db: Queryable,
  orgId: string,
  sessionId: string,
): Promise<SealedSessionRow | undefined> {
  return maybeOne<SealedSessionRow>(
    db,
    `select private_wrapped_key, private_sealed_at from recording_sessions
      where organization_id = $1::uuid and id = $2::uuid and deleted_at is null`,
    [orgId, sessionId],
  );
}

/** Up to `count` chunk rows of a track from sequence number `from` on. */
export function chunkRange(
  db: Queryable,
  sessionId: string,
  trackId: string,
  from: number,
  count: number,
): Promise<{ seq: number; object_key: string }[]> {
  return many(
    db,
    `select c.seq, c.object_key from chunks c join tracks t on t.id = c.track_id
      where t.session_id = $1::uuid and t.id = $2::uuid and c.seq >= $3::int order by c.seq limit $4::int`,
    [sessionId, trackId, from, count],
  );
}

export function findTranscriptObject(
  db: Queryable,
  sessionId: string,
  runId: string,
): Promise<{ object_key: string } | undefined> {
  return maybeOne(db, `select object_key from transcripts where session_id = $1::uuid and run_id = $2::uuid`, [
    sessionId,
    runId,
  ]);
}

/** Sweep: sessions whose data key is due to be re-wrapped (any org). */
export function pendingSessions(
  db: Queryable,
  limit: number,
): Promise<{ organization_id: string; session_id: string; wrapped_key: unknown; public_key: Buffer }[]> {
  return many(db, `select * from app.private_sessions_pending($1::int)`, [limit]);
}

/** Sweep: stores the re-wrapped key and erases the KMS-wrapped one; false when no longer due. */
export async function sealSession(
  db: Queryable,
  sessionId: string,
  publicKey: Buffer,
  privateWrapped: unknown,
): Promise<boolean> {
  const r = await one<{ ok: boolean }>(db, `select app.private_seal_session($1::uuid, $2::bytea, $3::jsonb) as ok`, [
    sessionId,
    publicKey,
    JSON.stringify(privateWrapped),
  ]);
  return r.ok;
}

export interface RequestRow {
  user_id: string;
  email: string;
  public_key: Buffer;
  wrapped_request_key: unknown;
  grant_key: unknown;
  granted_by: string | null;
  created_at: Date;
  granted_at: Date | null;
}

/** Requests for a copy the caller may see (RLS: admins all, others their own). */
export function listRequests(db: Queryable, orgId: string): Promise<RequestRow[]> {
  return many<RequestRow>(
    db,
    `select r.user_id, u.email, r.public_key, r.wrapped_request_key, r.grant_key, r.granted_by, r.created_at, r.granted_at
       from private_key_requests r join users u on u.id = r.user_id
      where r.organization_id = $1::uuid order by r.created_at`,
    [orgId],
  );
}

/** Asks (again) for a copy: a new personal key replaces an ungranted request. */
export async function upsertRequest(
  db: Queryable,
  orgId: string,
  userId: string,
  publicKey: Buffer,
  wrapped: unknown,
): Promise<void> {
  await exec(
    db,
    `insert into private_key_requests (organization_id, user_id, public_key, wrapped_request_key)
     values ($1::uuid, $2::uuid, $3::bytea, $4::jsonb)
     on conflict (organization_id, user_id) do update
       set public_key = excluded.public_key, wrapped_request_key = excluded.wrapped_request_key,
           grant_key = null, granted_by = null, granted_at = null, created_at = now()`,
    [orgId, userId, publicKey, JSON.stringify(wrapped)],
  );
}

/** A key holder's grant of someone's request; undefined when there is none to grant. */
export function grantRequest(
  db: Queryable,
  orgId: string,
  userId: string,
  granterId: string,
  publicKey: Buffer,
  grant: unknown,
): Promise<{ email: string } | undefined> {
  return maybeOne(
    db,
    `update private_key_requests r set grant_key = $5::jsonb, granted_by = $3::uuid, granted_at = now()
       from users u
      where r.organization_id = $1::uuid and r.user_id = $2::uuid and u.id = r.user_id and r.public_key = $4::bytea
      returning u.email`,
    [orgId, userId, granterId, publicKey, JSON.stringify(grant)],
  );
}

export async function deleteRequest(db: Queryable, orgId: string, userId: string): Promise<void> {
  await exec(db, `delete from private_key_requests where organization_id = $1::uuid and user_id = $2::uuid`, [
    orgId,
    userId,
  ]);
}
