/**
 * Account deletion with a 30-day recovery window.
 *
 * - DELETE /api/me (with the account's address typed as confirmation): every session is
 *   revoked at once and sign-in is disabled. Refused with 409 `last_owner` while the account
 *   is the only owner of an org that is not itself scheduled for deletion.
 * - Signing in again during the window: the code is checked as usual, but instead of a
 *   session, POST /api/auth/verify answers 403 `account_pending_deletion` with a
 *   single-use `restore_token` (valid 15 minutes) and `purge_at`. POST /api/auth/restore
 *   with that token ends the deletion and signs the user in. Nothing else is possible.
 * - After 30 days the sweep purges the account (memberships and sign-in state go with it;
 *   its address is removed from audit entries).
 */
import { withUser, type Queryable } from '../core/db/pool.ts';
import { randomToken, sha256 } from '../core/crypto/secrets.ts';
import * as repo from '../repositories/lifecycle.ts';
import { insertAuthSession } from '../repositories/authSessions.ts';
import { AppError, badRequest, conflict } from '../core/errors.ts';
import { accountDeletionEmail } from './lifecycleEmails.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { NewSession, SignedInUser } from '../context.ts';

/** The recovery window. */
export const RECOVERY_DAYS = 30;
const RESTORE_TOKEN_TTL_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Requests the deletion of the signed-in user's account.
 * @throws AppError 400 `confirmation_mismatch`, 409 `last_owner` (with `organizations`).
 */
export async function requestDeletion(
  deps: Deps,
  user: SignedInUser,
  confirmEmail: string,
): Promise<{ purge_at: string }> {
  if (confirmEmail.trim().toLowerCase() !== user.email)
    throw badRequest('confirmation_mismatch', "Type your account's email address to confirm.");
  const now = deps.clock.now();
  const due = new Date(now.getTime() + RECOVERY_DAYS * DAY_MS);
  const row = await withUser(deps.db.app, user.id, async (tx) => {
    const sole = await repo.mySoleOwnerships(tx);
    if (sole.length > 0) {
      throw new AppError(
        409,
        'last_owner',
        "You are the only owner of an organization: hand ownership to someone else or schedule the organization's deletion first.",
        {
          details: { organizations: sole.map((o) => ({ id: o.organization_id, name: o.organization_name })) },
        },
      );
    }
    const r = await repo.requestAccountDeletion(tx, user.id, now, due);
    await repo.revokeAllAuthSessions(tx, user.id);
    return r;
  });
  if (!row) throw conflict('already_pending', 'This account is already scheduled for deletion.');
  deps.mailer.sendInBackground(accountDeletionEmail(deps.config, user.email, due), 'account_deletion');
  return { purge_at: due.toISOString() };
}

/**
 * Called by sign-in (services/auth.ts verifyCode) inside its transaction after the code was
 * accepted: for an account pending deletion, stores a fresh restore token (hash only) and
 * returns it; undefined for an ordinary account.
 */
export async function restoreChallenge(
  tx: Queryable,
  userId: string,
  now: Date,
): Promise<{ restoreToken: string; purgeAt: Date } | undefined> {
  const a = await repo.findAccountDeletion(tx, userId);
  if (!a?.deletion_due_at) return undefined;
  const token = randomToken(32);
  await repo.setRestoreToken(tx, userId, sha256(token), new Date(now.getTime() + RESTORE_TOKEN_TTL_MS));
  return { restoreToken: token, purgeAt: a.deletion_due_at };
}

/** The answer sign-in gives an account pending deletion (403 with the restore token). */
export function pendingDeletionError(c: { restoreToken: string; purgeAt: Date }): AppError {
  return new AppError(
    403,
    'account_pending_deletion',
    'This account is scheduled for deletion. Restore it to sign in.',
    {
      details: { restore_token: c.restoreToken, purge_at: c.purgeAt.toISOString() },
    },
  );
}

/**
 * Restores an account with the token sign-in gave, and signs the user in.
 * @throws AppError 401 `invalid_restore_token` (unknown, used or expired).
 */
export async function restoreAccount(
  deps: Deps,
  token: string,
  clientIp: string,
  userAgent: string | null,
): Promise<NewSession> {
  const now = deps.clock.now();
  const sessionToken = randomToken(32);
  const r = await withUser(deps.db.app, null, async (tx) => {
    const user = await repo.restoreAccount(tx, sha256(token), now);
    if (!user) return undefined;
    const session = await insertAuthSession(tx, {
      userId: user.id,
      tokenHash: sha256(sessionToken),
      now,
      expiresAt: new Date(now.getTime() + deps.config.sessionAbsoluteTtlS * 1000),
      userAgent: userAgent?.slice(0, 300) ?? null,
      clientIp: clientIp.slice(0, 64),
    });
    return { user, session };
  });
  if (!r) throw new AppError(401, 'invalid_restore_token', 'That restore link is wrong or expired. Sign in again.');
  return {
    token: sessionToken,
    user: { id: r.user.id, email: r.user.email, displayName: r.user.display_name, authSessionId: r.session.id },
  };
}

/** The sweep: purges accounts whose recovery window ended. Returns how many. */
export async function purgeDue(deps: Deps, now: Date): Promise<number> {
  const due = await withUser(deps.db.app, null, (tx) => repo.accountsDue(tx, now, 500));
  let purged = 0;
  for (const d of due) {
    try {
      if (await withUser(deps.db.app, null, (tx) => repo.purgeAccount(tx, d.user_id, now))) purged++;
    } catch (err) {
      // Another owner left in the meantime: the purge waits until ownership is resolved.
      log.warn('account purge postponed', errorFields(err));
    }
  }
  return purged;
}
