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
import { withUser } from '../core/db/pool.ts';
import { randomToken } from '../core/crypto/secrets.ts';
import * as repo from '../repositories/lifecycle.ts';
import * as signin from '../repositories/signin.ts';
import { AppError, badRequest, conflict } from '../core/errors.ts';
import { accountDeletionEmail } from './lifecycleEmails.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { NewSession, SignedInUser } from '../context.ts';

/** The recovery window. */
export const RECOVERY_DAYS = 30;

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
  const due = await withUser(deps.db.app, user.id, async (tx) => {
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
    // Due RECOVERY_DAYS from the database's clock; every session is revoked with it.
    return signin.requestAccountDeletion(tx);
  });
  if (!due) throw conflict('already_pending', 'This account is already scheduled for deletion.');
  deps.mailer.sendInBackground(accountDeletionEmail(deps.config, user.email, due), 'account_deletion');
  return { purge_at: due.toISOString() };
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
  const sessionToken = randomToken(32);
  const r = await withUser(deps.db.app, null, (tx) =>
    signin.restore(tx, {
      restoreToken: token,
      token: sessionToken,
      userAgent: userAgent?.slice(0, 300) ?? null,
      clientIp: clientIp.slice(0, 64),
      sessionTtlS: deps.config.sessionAbsoluteTtlS,
    }),
  );
  if (!r) throw new AppError(401, 'invalid_restore_token', 'That restore link is wrong or expired. Sign in again.');
  return {
    token: sessionToken,
    user: { id: r.user_id, email: r.email, displayName: r.display_name, authSessionId: r.auth_session_id },
  };
}

/** The sweep: purges accounts whose recovery window ended. Returns how many. */
export async function purgeDue(deps: Deps): Promise<number> {
  const due = await withUser(deps.db.sweep, null, (tx) => repo.accountsDue(tx, 500));
  let purged = 0;
  for (const d of due) {
    try {
      if (await withUser(deps.db.sweep, null, (tx) => repo.purgeAccount(tx, d.user_id))) purged++;
    } catch (err) {
      // Another owner left in the meantime: the purge waits until ownership is resolved.
      log.warn('account purge postponed', errorFields(err));
    }
  }
  return purged;
}
