/** SQL for signed-in browser sessions. */
import { exec, many, type Queryable } from '../core/db/pool.ts';

export interface AuthSessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  client_ip: string | null;
  time_zone: string | null;
}

const COLS = 'id, user_id, created_at, last_seen_at, expires_at, revoked_at, user_agent, client_ip, time_zone';

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

/** Revokes every other live session of the user (sign out elsewhere); returns how many. */
export function revokeOtherAuthSessions(db: Queryable, userId: string, keepId: string): Promise<number> {
  return exec(
    db,
    `update auth_sessions set revoked_at = now() where user_id = $1::uuid and id <> $2::uuid and revoked_at is null`,
    [userId, keepId],
  );
}

/** Records the browser's time zone on the session whose raw token this is (app.auth_session_set_time_zone). */
export async function setAuthSessionTimeZone(db: Queryable, token: string, zone: string): Promise<void> {
  await exec(db, `select app.auth_session_set_time_zone($1::text, $2::text)`, [token, zone]);
}
