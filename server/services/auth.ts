/**
 * Passwordless sign-in: emailed single-use 6-digit codes, and cookie sessions.
 * Every address gets a code (first sign-in creates the account), so known and unknown
 * addresses get the same answer and the same work.
 */
import { createDecipheriv } from 'node:crypto';
import { withUser } from '../core/db/pool.ts';
import { randomToken, safeEqual } from '../core/crypto/secrets.ts';
import { consume } from './rateLimit.ts';
import { issueCode, verifyCode as verifyCodeRow } from '../repositories/signin.ts';
import {
  listUserAuthSessions,
  revokeAuthSession,
  revokeOtherAuthSessions,
  setAuthSessionTimeZone,
  type AuthSessionRow,
} from '../repositories/authSessions.ts';
import { parseUserAgent, timeZonePlace } from '../../lib/userAgent.ts';
import { AppError, notFound, tooManyRequests } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';
import type { NewSession, SignedInUser } from '../context.ts';
import { loginCodeEmail } from '../core/mail/templates.ts';
import { pendingDeletionError } from './accounts.ts';

/** Normalises an address for lookups: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Opens a code the database sealed to this process (sql/015_signin.sql): IV(16) || AES-256-CBC. */
function unsealCode(deps: Deps, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-cbc', deps.secrets.key('login-code'), sealed.subarray(0, 16));
  return Buffer.concat([decipher.update(sealed.subarray(16)), decipher.final()]).toString('utf8');
}

/**
 * Issues a code for the address and emails it (in the background, so timing does not
 * depend on the mail server). The database draws the code and keeps only its keyed hash.
 * @throws AppError 429 when throttled.
 */
export async function requestCode(
  deps: Deps,
  rawEmail: string,
  clientIp: string,
  deviceCookie?: string,
): Promise<void> {
  const email = normalizeEmail(rawEmail);
  await consume(deps, 'code-client', clientIp, deps.config.rateLimits.codesPerClient);
  // A browser that signed in to this address before keeps a budget of its own: someone
  // exhausting the address's budget from elsewhere does not lock its owner out.
  const device = trustedDevice(deps, deviceCookie, email);
  if (device) await consume(deps, 'code-device', `${device}:${email}`, deps.config.rateLimits.codesPerEmail);
  else await consume(deps, 'code-email', email, deps.config.rateLimits.codesPerEmail);
  const sealed = await withUser(deps.db.app, null, (tx) => issueCode(tx, email, deps.config.loginCodeTtlS));
  const code = unsealCode(deps, sealed);
  deps.metrics.codesSent.inc();
  deps.mailer.sendInBackground(loginCodeEmail(deps.config, email, code), 'login_code');
}

const invalidCode = () =>
  new AppError(401, 'invalid_code', 'That code is wrong, expired or already used. Request a new one.');

/**
 * Checks a code; on success creates the user (first time) and a session, all inside
 * app.signin_verify. An account pending deletion gets a restore offer instead.
 * @throws AppError 401 `invalid_code`, 403 `account_pending_deletion`, 429 `rate_limited`.
 */
export async function verifyCode(
  deps: Deps,
  rawEmail: string,
  code: string,
  clientIp: string,
  userAgent: string | null,
  deviceCookie?: string,
  timeZone?: string,
): Promise<NewSession> {
  const email = normalizeEmail(rawEmail);
  await consume(deps, 'verify-client', clientIp, deps.config.rateLimits.verifyPerClient);
  const trusted = trustedDevice(deps, deviceCookie, email) !== undefined;
  const token = randomToken(32);
  const restoreToken = randomToken(32);
  const r = await withUser(deps.db.app, null, (tx) =>
    verifyCodeRow(tx, {
      email,
      code,
      token,
      restoreToken,
      userAgent: userAgent?.slice(0, 300) ?? null,
      clientIp: clientIp.slice(0, 64),
      maxAttempts: deps.config.loginCodeMaxAttempts,
      sessionTtlS: deps.config.sessionAbsoluteTtlS,
      trusted,
    }),
  );
  if (r.status === 'slow_down') throw tooManyRequests(r.retry_after ?? 1);
  if (r.status === 'restore' && r.purge_at) throw pendingDeletionError({ restoreToken, purgeAt: r.purge_at });
  if (r.status !== 'ok' || !r.user_id || !r.email || !r.auth_session_id) {
    deps.metrics.codesFailed.inc();
    throw invalidCode();
  }
  // The holder of the new session's token records where the browser's clock is (account page).
  if (timeZone) await withUser(deps.db.app, null, (tx) => setAuthSessionTimeZone(tx, token, timeZone));
  return {
    token,
    user: { id: r.user_id, email: r.email, displayName: r.display_name, authSessionId: r.auth_session_id },
  };
}

/**
 * The device cookie a browser gets when it signs in (OWASP's defence against lockout): a
 * nonce and a MAC binding it to the address. Returns the cookie value.
 */
export function deviceCookieFor(deps: Deps, email: string): string {
  const nonce = randomToken(16);
  return `${nonce}.${deps.secrets.hmac('device-cookie', `${nonce}:${normalizeEmail(email)}`).toString('base64url')}`;
}

/** The device's nonce when `cookie` is a device cookie this server made for `email`; else undefined. */
export function trustedDevice(deps: Deps, cookie: string | undefined, email: string): string | undefined {
  const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
  if (!m?.[1] || !m[2]) return undefined;
  const expected = deps.secrets.hmac('device-cookie', `${m[1]}:${normalizeEmail(email)}`);
  return safeEqual(Buffer.from(m[2], 'base64url'), expected) ? m[1] : undefined;
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
  /** "Chrome on macOS", from the user agent (lib/userAgent.ts). */
  device: string;
  browser: string | null;
  os: string | null;
  /** The browser's IANA time zone at sign-in, when it said. */
  time_zone: string | null;
  /** The place the zone is named for ("Berlin"), or null. */
  place: string | null;
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
    ...parseUserAgent(s.user_agent),
    time_zone: s.time_zone,
    place: timeZonePlace(s.time_zone),
  };
}

export async function listSessions(deps: Deps, user: SignedInUser): Promise<SessionView[]> {
  const rows = await withUser(deps.db.app, user.id, (tx) =>
    listUserAuthSessions(tx, user.id, deps.clock.now(), deps.config.sessionIdleTtlS),
  );
  return rows.map((r) => present(r, user.authSessionId));
}

/** Signs out everywhere else: revokes the user's other sessions. Returns how many. */
export async function revokeOtherSessions(deps: Deps, user: SignedInUser): Promise<number> {
  return withUser(deps.db.app, user.id, (tx) => revokeOtherAuthSessions(tx, user.id, user.authSessionId));
}

/** Revokes one of the user's own sessions. @throws AppError 404 when it is not theirs. */
export async function revokeSession(deps: Deps, user: SignedInUser, id: string): Promise<void> {
  const ok = await withUser(deps.db.app, user.id, (tx) => revokeAuthSession(tx, user.id, id));
  if (!ok) throw notFound('session_not_found', 'No such active session.');
}
