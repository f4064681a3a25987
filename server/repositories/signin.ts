/**
 * SQL for sign-in: every step runs in a security-definer function of sql/015_signin.sql,
 * because the API role cannot read or write login_codes, and creates sessions only there.
 */
import { one, maybeOne, type Queryable } from '../core/db/pool.ts';

/** Issues a code for the address; returns it sealed to this process (IV || AES-256-CBC). */
export async function issueCode(db: Queryable, email: string, ttlS: number): Promise<Buffer> {
  return (await one<{ sealed: Buffer }>(db, 'select app.signin_issue_code($1::text, $2::int) as sealed', [email, ttlS]))
    .sealed;
}

export interface SigninRow {
  status: 'ok' | 'restore' | 'invalid' | 'slow_down';
  user_id: string | null;
  email: string | null;
  display_name: string | null;
  auth_session_id: string | null;
  purge_at: Date | null;
  /** With status 'slow_down': seconds until this address may try again. */
  retry_after: number | null;
}

/**
 * Checks a code: a session for `token`, a restore offer under `restoreToken`, invalid (a try counted), or slow_down.
 */
export function verifyCode(
  db: Queryable,
  v: {
    email: string;
    code: string;
    token: string;
    restoreToken: string;
    userAgent: string | null;
    clientIp: string;
    maxAttempts: number;
    sessionTtlS: number;
    /** The browser holds a device cookie for this address: its own budget, no slow-down. */
    trusted: boolean;
  },
): Promise<SigninRow> {
  return one<SigninRow>(
    db,
    `select status, user_id, email, display_name, auth_session_id, purge_at, retry_after
       from app.signin_verify($1::text, $2::text, $3::text, $4::text, $5::text,
            $6::text, $7::int, $8::int, $9::boolean)`,
    [v.email, v.code, v.token, v.restoreToken, v.userAgent, v.clientIp, v.maxAttempts, v.sessionTtlS, v.trusted],
  );
}

/** Ends a pending deletion for a live restore token and creates a session for `token`. */
export function restore(
  db: Queryable,
  v: { restoreToken: string; token: string; userAgent: string | null; clientIp: string; sessionTtlS: number },
): Promise<{ user_id: string; email: string; display_name: string | null; auth_session_id: string } | undefined> {
  return maybeOne(
    db,
    `select user_id, email, display_name, auth_session_id
       from app.signin_restore($1::text, $2::text, $3::text, $4::text, $5::int)`,
    [v.restoreToken, v.token, v.userAgent, v.clientIp, v.sessionTtlS],
  );
}

/** Asks for the signed-in user's account deletion (due in 30 days); undefined when already pending. */
export async function requestAccountDeletion(db: Queryable): Promise<Date | undefined> {
  return (await one<{ due: Date | null }>(db, 'select app.request_account_deletion() as due')).due ?? undefined;
}

/** One hit on a rate-limit bucket in the window the database's clock is in. */
export function rateLimitHit(
  db: Queryable,
  bucket: string,
  windowS: number,
): Promise<{ hits: number; window_start: Date }> {
  return one(db, 'select hits, window_start from app.rate_limit_hit($1::text, $2::int)', [bucket, windowS]);
}
