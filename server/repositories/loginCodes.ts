/** SQL for emailed sign-in codes. */
import { exec, maybeOne, one, type Queryable } from '../core/db/pool.ts';

export interface LoginCodeRow {
  id: string;
  email: string;
  code_hash: Buffer;
  expires_at: Date;
  attempts: number;
  used_at: Date | null;
  dead_at: Date | null;
}

/** Stores a new code and retires every earlier live code for the address (only the newest works). */
export async function insertLoginCode(
  db: Queryable,
  email: string,
  id: string,
  codeHash: Buffer,
  expiresAt: Date,
): Promise<void> {
  await exec(
    db,
    `update login_codes set dead_at = now() where email = $1::text and used_at is null and dead_at is null`,
    [email],
  );
  await one(
    db,
    `insert into login_codes (id, email, code_hash, expires_at) values ($1::uuid, $2::text, $3::bytea, $4::timestamptz) returning id`,
    [id, email, codeHash, expiresAt],
  );
}

/** The newest live code for the address, locked for the verification that follows. */
export function findLiveLoginCode(db: Queryable, email: string, now: Date): Promise<LoginCodeRow | undefined> {
  return maybeOne<LoginCodeRow>(
    db,
    `select id, email, code_hash, expires_at, attempts, used_at, dead_at from login_codes
      where email = $1::text and used_at is null and dead_at is null and expires_at > $2::timestamptz
      order by created_at desc limit 1 for update`,
    [email, now],
  );
}

/** Counts a wrong try; the code dies when it reaches `maxAttempts`. */
export async function recordFailedAttempt(db: Queryable, id: string, maxAttempts: number): Promise<void> {
  await exec(
    db,
    `update login_codes set attempts = attempts + 1, dead_at = case when attempts + 1 >= $2::int then now() else dead_at end where id = $1::uuid`,
    [id, maxAttempts],
  );
}

export async function markLoginCodeUsed(db: Queryable, id: string): Promise<void> {
  await exec(db, `update login_codes set used_at = now() where id = $1::uuid`, [id]);
}

/** Removes codes that can no longer be used (housekeeping). */
export function deleteStaleLoginCodes(db: Queryable, before: Date): Promise<number> {
  return exec(db, `delete from login_codes where expires_at < $1::timestamptz`, [before]);
}
