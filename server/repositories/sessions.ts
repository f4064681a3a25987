/** SQL for recording sessions and what was captured in them (tenant tables). */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { WrappedKey } from '../../lib/keys/KeyProvider.ts';

export interface SessionRow {
  id: string;
  organization_id: string;
  title: string;
  status: 'open' | 'ended';
  created_by: string | null;
  /** The API key that created it (then created_by is null). */
  created_by_api_key_id: string | null;
  created_at: Date;
  ended_at: Date | null;
  key_erased_at: Date | null;
  deleted_at: Date | null;
  wrapped_key: WrappedKey | null;
  /** Private mode: when the data key was re-wrapped to the org public key (wrapped_key is then null). */
  private_sealed_at: Date | null;
  participant_count: number;
  track_count: number;
}

const SESSION_COLS = `s.id, s.organization_id, s.title, s.status, s.created_by, s.created_by_api_key_id, s.created_at, s.ended_at,
  s.key_erased_at, s.deleted_at, s.wrapped_key, s.private_sealed_at,
  (select count(*)::int from participants p where p.session_id = s.id) as participant_count,
  (select count(*)::int from tracks t where t.session_id = s.id) as track_count`;

export function insertSession(
  db: Queryable,
  s: { id: string; orgId: string; title: string; createdBy: string; guestTokenHash: Buffer; wrappedKey: WrappedKey },
): Promise<{ id: string }> {
  return one(
    db,
    `insert into recording_sessions (id, organization_id, title, created_by, guest_token_hash, wrapped_key)
     values ($1::uuid, $2::uuid, $3::text, $4::uuid, $5::bytea, $6::jsonb) returning id`,
    [s.id, s.orgId, s.title, s.createdBy, s.guestTokenHash, JSON.stringify(s.wrappedKey)],
  );
}

/** What the org's session list shows: no key, no audit columns (fewer bytes to send and parse per row). */
export type SessionListRow = Pick<
  SessionRow,
  'id' | 'title' | 'status' | 'created_at' | 'ended_at' | 'participant_count' | 'track_count'
>;

/**
 * The org's sessions, newest first (500 at most). The counts are correlated subqueries on
 * (session_id) indexes: EXPLAIN ANALYZE as the API role in a proven transaction showed them
 * cheaper than grouped aggregates at list sizes, and each table's policy check runs once per
 * statement (an InitPlan), not per row.
 */
export function listSessions(db: Queryable, orgId: string): Promise<SessionListRow[]> {
  return many<SessionListRow>(
    db,
    `select s.id, s.title, s.status, s.created_at, s.ended_at,
            (select count(*)::int from participants p where p.session_id = s.id) as participant_count,
            (select count(*)::int from tracks t where t.session_id = s.id) as track_count
       from recording_sessions s
      where s.organization_id = $1::uuid and s.deleted_at is null
      order by s.created_at desc limit 500`,
    [orgId],
  );
}

export function findSession(db: Queryable, orgId: string, id: string): Promise<SessionRow | undefined> {
  return maybeOne<SessionRow>(
    db,
    `select ${SESSION_COLS}
       from recording_sessions s
      where s.organization_id = $1::uuid and s.id = $2::uuid and s.deleted_at is null`,
    [orgId, id],
  );
}

/** Rotates the guest link (the old one stops working). */
export async function setGuestToken(db: Queryable, id: string, hash: Buffer): Promise<void> {
  await exec(db, `update recording_sessions set guest_token_hash = $2::bytea where id = $1::uuid`, [id, hash]);
}

/** Cryptographic erasure: the wrapped key is removed; nothing sealed under it opens again. */
export function eraseSessionKey(db: Queryable, id: string): Promise<{ id: string } | undefined> {
  return maybeOne(
    db,
    `update recording_sessions
        set wrapped_key = null, key_erased_at = now(), deleted_at = now(), status = 'ended',
            ended_at = coalesce(ended_at, now())
      where id = $1::uuid and deleted_at is null returning id`,
    [id],
  );
}

export interface ParticipantRow {
  id: string;
  user_id: string | null;
  display_name: string;
  role: 'host' | 'guest';
  joined_at: Date | null;
  left_at: Date | null;
}

export function insertHostParticipant(
  db: Queryable,
  orgId: string,
  sessionId: string,
  userId: string,
  name: string,
): Promise<{ id: string }> {
  return one(
    db,
    `insert into participants (organization_id, session_id, user_id, display_name, role)
     values ($1::uuid, $2::uuid, $3::uuid, $4::text, 'host') returning id`,
    [orgId, sessionId, userId, name],
  );
}

export function listParticipants(db: Queryable, sessionId: string): Promise<ParticipantRow[]> {
  return many<ParticipantRow>(
    db,
    `select id, user_id, display_name, role, joined_at, left_at
       from participants where session_id = $1::uuid order by created_at`,
    [sessionId],
  );
}

export interface TrackRow {
  id: string;
  take_id: string;
  take_seq: number;
  take_started_at: Date;
  take_stopped_at: Date | null;
  participant_id: string;
  display_name: string;
  kind: 'audio' | 'video';
  mime_type: string;
  started_at: Date;
  ended_at: Date | null;
  chunk_count: number;
  byte_count: string;
  lost_chunks: number;
}

const TRACK_COLS = `t.id, t.take_id, k.seq as take_seq, k.started_at as take_started_at,
  k.stopped_at as take_stopped_at, t.participant_id, p.display_name, t.kind, t.mime_type, t.started_at,
  t.ended_at, t.chunk_count, t.byte_count::text, t.lost_chunks`;
const TRACK_FROM = `tracks t join recording_takes k on k.id = t.take_id join participants p on p.id = t.participant_id`;

export function listTracks(db: Queryable, sessionId: string): Promise<TrackRow[]> {
  return many<TrackRow>(
    db,
    `select ${TRACK_COLS} from ${TRACK_FROM} where t.session_id = $1::uuid order by k.seq, t.started_at`,
    [sessionId],
  );
}

export function findTrack(db: Queryable, sessionId: string, trackId: string): Promise<TrackRow | undefined> {
  return maybeOne<TrackRow>(
    db,
    `select ${TRACK_COLS} from ${TRACK_FROM} where t.session_id = $1::uuid and t.id = $2::uuid`,
    [sessionId, trackId],
  );
}

export interface ChunkRow {
  seq: number;
  object_key: string;
  size: number;
}

export function listChunks(db: Queryable, trackId: string): Promise<ChunkRow[]> {
  return many<ChunkRow>(db, `select seq, object_key, size from chunks where track_id = $1::uuid order by seq`, [
    trackId,
  ]);
}

export interface TakeRow {
  id: string;
  seq: number;
  started_at: Date;
  stopped_at: Date | null;
}

export function listTakes(db: Queryable, sessionId: string): Promise<TakeRow[]> {
  return many<TakeRow>(
    db,
    `select id, seq, started_at, stopped_at from recording_takes where session_id = $1::uuid order by seq`,
    [sessionId],
  );
}

export interface EventRow {
  at: Date;
  kind: string;
  participant_id: string | null;
  track_id: string | null;
  details: Record<string, unknown>;
}

export function listEvents(db: Queryable, sessionId: string): Promise<EventRow[]> {
  return many<EventRow>(
    db,
    `select at, kind, participant_id, track_id, details
       from session_events where session_id = $1::uuid order by at, id limit 5000`,
    [sessionId],
  );
}

/** Sessions (any org) whose key is erased and whose media is still there: the sweep's work list. */
export function erasedPendingSweep(
  db: Queryable,
  limit: number,
): Promise<{ organization_id: string; session_id: string }[]> {
  return many(db, `select organization_id, session_id from app.erased_sessions_pending_sweep($1::int)`, [limit]);
}

export async function sweepSessionMedia(db: Queryable, sessionId: string): Promise<number> {
  const r = await one<{ n: number }>(db, `select app.sweep_session_media($1::uuid) as n`, [sessionId]);
  return r.n;
}
