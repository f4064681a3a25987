/**
 * Passwordless sign-in: emailed single-use 6-digit codes, and cookie sessions.
 * Every address gets a code (first sign-in creates the account), so known and unknown
 * addresses get the same answer and the same work.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { withUser } from '../core/db/pool.ts';
import { randomToken, safeEqual, sha256 } from '../core/crypto/secrets.ts';
import { consume } from './rateLimit.ts';
import {
  insertLoginCode,
  findLiveLoginCode,
  recordFailedAttempt,
  markLoginCodeUsed,
} from '../repositories/loginCodes.ts';
import { upsertUserByEmail, findUserById } from '../repositories/users.ts';
import {
  insertAuthSession,
  findLiveAuthSession,
  touchAuthSession,
  listUserAuthSessions,
  revokeAuthSession,
  type AuthSessionRow,
} from '../repositories/authSessions.ts';
import { AppError, notFound } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';
import type { NewSession, SignedInUser } from '../context.ts';
import { loginCodeEmail } from '../core/mail/templates.ts';
import { restoreChallenge, pendingDeletionError } from './accounts.ts';

/** Normalises an address for lookups: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function codeHash(deps: Deps, id: string, email: string, code: string): Buffer {
  return deps.secrets.hmac('login-code', `${id}:${email}:${code}`);
}

/**
 * Issues a code for the address and emails it (in the background, so timing does not
 * depend on the mail server). @throws AppError 429 when throttled.
 */
export async function requestCode(deps: Deps, rawEmail: string, clientIp: string): Promise<void> {
  const email = normalizeEmail(rawEmail);
  await consume(deps, 'code-client', clientIp, deps.config.rateLimits.codesPerClient);
  await consume(deps, 'code-email', email, deps.config.rateLimits.codesPerEmail);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const id = randomUUID();
  const expiresAt = new Date(deps.clock.now().getTime() + deps.config.loginCodeTtlS * 1000);
  await withUser(deps.db.app, null, (tx) => insertLoginCode(tx, email, id, codeHash(deps, id, email, code), expiresAt));
  deps.metrics.codesSent.inc();
  deps.mailer.sendInBackground(loginCodeEmail(deps.config, email, code), 'login_code');
}

const invalidCode = () =>
  new AppError(401, 'invalid_code', 'That code is wrong, expired or already used. Request a new one.');

/**
 * Checks a code; on success creates the user (first time) and a session.
 * @throws AppError 401 `invalid_code`, 429 `rate_limited`.
 */
export async function verifyCode(
  deps: Deps,
  rawEmail: string,
  code: string,
  clientIp: string,
  userAgent: string | null,
): Promise<NewSession> {
  const email = normalizeEmail(rawEmail);
  await consume(deps, 'verify-client', clientIp, deps.config.rateLimits.verifyPerClient);
  const now = deps.clock.now();
  const token = randomToken(32);
  const result = await withUser(deps.db.app, null, async (tx) => {
    const live = await findLiveLoginCode(tx, email, now);
    if (!live) return undefined;
    if (!safeEqual(codeHash(deps, live.id, email, code), live.code_hash)) {
      await recordFailedAttempt(tx, live.id, deps.config.loginCodeMaxAttempts);
      return undefined;
    }
    await markLoginCodeUsed(tx, live.id);
    const user = await upsertUserByEmail(tx, email);
    // An account pending deletion gets a restore offer instead of a session (services/accounts.ts).
    const restore = await restoreChallenge(tx, user.id, now);
    if (restore) return { restore };
    const session = await insertAuthSession(tx, {
      userId: user.id,
      tokenHash: sha256(token),
      now,
      expiresAt: new Date(now.getTime() + deps.config.sessionAbsoluteTtlS * 1000),
      userAgent: userAgent?.slice(0, 300) ?? null,
      clientIp: clientIp.slice(0, 64),
    });
    return { user, session };
  });
  if (!result) {
    deps.metrics.codesFailed.inc();
    throw invalidCode();
  }
  if ('restore' in result && result.restore) throw pendingDeletionError(result.restore);
  return {
    token,
    user: {
      id: result.user.id,
      email: result.user.email,
      displayName: result.user.display_name,
      authSessionId: result.session.id,
    },
  };
}

/** The signed-in user for a session cookie token, or undefined when it is not live. */
export async function authenticate(deps: Deps, token: string): Promise<SignedInUser | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const now = deps.clock.now();
  return withUser(deps.db.app, null, async (tx) => {
    const session = await findLiveAuthSession(tx, sha256(token), now, deps.config.sessionIdleTtlS);
    if (!session) return undefined;
    const user = await findUserById(tx, session.user_id);
    if (!user) return undefined;
    await touchAuthSession(tx, session.id, now);
    return { id: user.id, email: user.email, displayName: user.display_name, authSessionId: session.id };
  });
}

/** Ends the session behind this token (sign out). */
export async function logout(deps: Deps, user: SignedInUser): Promise<void> {
  await withUser(deps.db.app, user.id, (tx) => revokeAuthSession(tx, user.id, user.authSessionId));
}

export interface SessionView {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  client_ip: string | null;
  current: boolean;
}

function present(s: AuthSessionRow, currentId: string): SessionView {
  return {
    id: s.id,
    created_at: s.created_at.toISOString(),
    last_seen_at: s.last_seen_at.toISOString(),
    expires_at: s.expires_at.toISOString(),
    user_agent: s.user_agent,
    client_ip: s.client_ip,
    current: s.id === currentId,
  };
}

export async function listSessions(deps: Deps, user: SignedInUser): Promise<SessionView[]> {
  const rows = await withUser(deps.db.app, user.id, (tx) =>
    listUserAuthSessions(tx, user.id, deps.clock.now(), deps.config.sessionIdleTtlS),
  );
  return rows.map((r) => present(r, user.authSessionId));
}

/** Revokes one of the user's own sessions. @throws AppError 404 when it is not theirs. */
export async function revokeSession(deps: Deps, user: SignedInUser, id: string): Promise<void> {
  const ok = await withUser(deps.db.app, user.id, (tx) => revokeAuthSession(tx, user.id, id));
  if (!ok) throw notFound('session_not_found', 'No such active session.');
}
