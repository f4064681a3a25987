/** SQL for signed-in browser sessions. */
import { exec, many, maybeOne, type Queryable } from '../core/db/pool.ts';

export interface AuthSessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  client_ip: string | null;
}

const COLS = 'id, user_id, created_at, last_seen_at, expires_at, revoked_at, user_agent, client_ip';

/** Stores a new session; `now` (the service clock) starts both its age and its idle clock. */
export async function insertAuthSession(
  db: Queryable,
  s: {
    userId: string;
    tokenHash: Buffer;
    now: Date;
    expiresAt: Date;
    userAgent: string | null;
    clientIp: string | null;
  },
): Promise<AuthSessionRow> {
  const row = await maybeOne<AuthSessionRow>(
    db,
    `insert into auth_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, user_agent, client_ip)
     values ($1::uuid, $2::bytea, $6::timestamptz, $6::timestamptz, $3::timestamptz, $4::text, $5::text) returning ${COLS}`,
    [s.userId, s.tokenHash, s.expiresAt, s.userAgent, s.clientIp, s.now],
  );
  if (!row) throw new Error('insert returned no row');
  return row;
}

/** A live session by token hash: not revoked, before absolute expiry, seen within the idle window. */
export function findLiveAuthSession(
  db: Queryable,
  tokenHash: Buffer,
  now: Date,
  idleTtlS: number,
): Promise<AuthSessionRow | undefined> {
  return maybeOne<AuthSessionRow>(
    db,
    `select ${COLS} from auth_sessions
      where token_hash = $1::bytea and revoked_at is null and expires_at > $2::timestamptz
        and last_seen_at > $2::timestamptz - make_interval(secs => $3::int)`,
    [tokenHash, now, idleTtlS],
  );
}

/** Refreshes the idle clock, at most once a minute per session to spare writes. */
export async function touchAuthSession(db: Queryable, id: string, now: Date): Promise<void> {
  await exec(
    db,
    `update auth_sessions set last_seen_at = $2::timestamptz where id = $1::uuid and last_seen_at < $2::timestamptz - interval '60 seconds'`,
    [id, now],
  );
}

export function listUserAuthSessions(
  db: Queryable,
  userId: string,
  now: Date,
  idleTtlS: number,
): Promise<AuthSessionRow[]> {
  return many<AuthSessionRow>(
    db,
    `select ${COLS} from auth_sessions
      where user_id = $1::uuid and revoked_at is null and expires_at > $2::timestamptz
        and last_seen_at > $2::timestamptz - make_interval(secs => $3::int)
      order by last_seen_at desc`,
    [userId, now, idleTtlS],
  );
}

/** Revokes one of the user's sessions; returns false when it is not theirs or already gone. */
export async function revokeAuthSession(db: Queryable, userId: string, id: string): Promise<boolean> {
  return (
    (await exec(
      db,
      `update auth_sessions set revoked_at = now() where id = $1::uuid and user_id = $2::uuid and revoked_at is null`,
      [id, userId],
    )) === 1
  );
}
