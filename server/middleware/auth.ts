/**
 * Session cookie, CSRF and role gates.
 *
 * CSRF: a state-changing request authenticated by the session cookie must send the
 * readable `csrf_token` cookie's value in `x-csrf-token` (double submit); else 403.
 */
import type { Deps } from '../core/context.ts';
import type { AppContext, OrgActor, SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { withRequest } from '../core/db/pool.ts';
import { forbidden, unauthorized, notFound } from '../core/errors.ts';
import { randomToken, safeEqual } from '../core/crypto/secrets.ts';
import { z } from 'zod';
import { KeyProver } from '../services/apiKeys.ts';

type Next = () => Promise<unknown>;

export const SESSION_COOKIE = 'sid';
export const CSRF_COOKIE = 'csrf_token';
/** A browser that signed in to an address before (services/auth.ts deviceCookieFor); kept a year. */
export const DEVICE_COOKIE = 'device';
export const DEVICE_TTL_S = 365 * 24 * 3600;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cookieOptions(deps: Deps, httpOnly: boolean, maxAgeS?: number) {
  return {
    httpOnly,
    sameSite: 'lax' as const,
    secure: deps.config.secureCookies,
    path: '/',
    overwrite: true,
    ...(maxAgeS ? { maxAge: maxAgeS * 1000 } : {}),
  };
}

/** Sets a fresh CSRF cookie when the client has none; returns its value. */
export function ensureCsrfCookie(deps: Deps, ctx: AppContext): string {
  const existing = ctx.cookies.get(CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{20,100}$/.test(existing)) return existing;
  const value = randomToken(24);
  ctx.cookies.set(CSRF_COOKIE, value, cookieOptions(deps, false));
  return value;
}

const ORG_PATH = /^\/api\/orgs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/|$)/i;
const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

/**
 * The actor middleware: enforces CSRF for cookie-authenticated writes, then opens the
 * request's one transaction and proves the session cookie's token inside it
 * (app.begin_request: the database checks the session, the user and their membership of
 * the org the path names, and sets that verified context for the transaction). The result
 * is `ctx.state.actor` ({user, orgId, role}); every query of the request runs in that
 * transaction (core/db/pool.ts withRequest).
 *
 * An API request with `Authorization: Bearer rec_…` is proven by its key instead
 * ({@link keyLoader}); its cookies are ignored, so CSRF does not apply. Any other
 * Authorization header (e.g. a reverse proxy's basic auth) is ignored.
 */
export function sessionLoader(deps: Deps) {
  const keyRequest = keyLoader(deps);
  return async (ctx: AppContext, next: Next) => {
    // Behind a TLS-terminating proxy Koa sees http; PUBLIC_URL says what clients use.
    ctx.cookies.secure = deps.config.secureCookies;
    // Only our keys: another Authorization (a proxy's basic auth) is none of our business.
    if (ctx.path.startsWith('/api/') && KEY_HEADER.test(ctx.get('authorization'))) return keyRequest(ctx, next);
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) ctx.state.cookieAuth = true;
    if (ctx.state.cookieAuth && !SAFE.has(ctx.method) && ctx.path.startsWith('/api/')) {
      const header = ctx.get('x-csrf-token');
      const cookie = ctx.cookies.get(CSRF_COOKIE) ?? '';
      if (!header || !cookie || !safeEqual(Buffer.from(header), Buffer.from(cookie))) {
        throw forbidden('csrf_failed', 'Missing or wrong x-csrf-token header.');
      }
    }
    const orgId = ORG_PATH.exec(ctx.path)?.[1]?.toLowerCase() ?? null;
    const proof = token && TOKEN.test(token) ? { token, orgId, idleS: deps.config.sessionIdleTtlS } : null;
    return withRequest(deps.db.app, proof, async (proven) => {
      if (proven) {
        const user: SignedInUser = {
          id: proven.userId,
          email: proven.email,
          displayName: proven.displayName,
          authSessionId: proven.authSessionId,
        };
        ctx.state.user = user;
        ctx.state.actor = { user, orgId: proven.role ? orgId : null, role: proven.role };
        if (orgId && proven.role) ctx.state.org = { id: orgId, role: proven.role };
      }
      return next();
    });
  };
}

const KEY_HEADER = /^Bearer\s+rec_/i;
const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/i;
const invalidKey = () =>
  unauthorized('invalid_api_key', 'The API key is not valid: unknown, revoked or expired, or not a bearer key.');

/**
 * Proves a bearer API key for the request's one transaction (app.begin_request_key: the
 * database checks the key's hash, revocation and expiry, and sets the key's org and role
 * when the path names that org). On an org route the key acts as a member of its role
 * there; another org's route answers 404 like any non-member's; routes outside an org see
 * no user (a key is not a person). A key that does not prove is 401 `invalid_api_key`.
 */
function keyLoader(deps: Deps) {
  const prover = new KeyProver(deps);
  return async (ctx: AppContext, next: Next) => {
    const bearer = BEARER.exec(ctx.get('authorization'))?.[1];
    if (!bearer) throw invalidKey();
    const orgId = ORG_PATH.exec(ctx.path)?.[1]?.toLowerCase() ?? null;
    const proof = await prover.prove(bearer, orgId, ctx.ip);
    if (!proof) throw invalidKey();
    return withRequest(deps.db.app, proof, async (proven) => {
      const key = proven?.apiKey;
      if (!proven || !key) throw invalidKey();
      prover.accepted(bearer, proof);
      if (!orgId) return next();
      const user: SignedInUser = {
        id: proven.userId,
        email: proven.email,
        displayName: proven.displayName,
        authSessionId: proven.authSessionId,
        apiKey: { id: key.id, name: key.name, prefix: key.prefix },
      };
      ctx.state.user = user;
      ctx.state.actor = { user, orgId: proven.role ? orgId : null, role: proven.role };
      if (proven.role) ctx.state.org = { id: orgId, role: proven.role };
      return next();
    });
  };
}

/** The signed-in user, or 401. */
export function requireUser(ctx: AppContext): SignedInUser {
  const user = ctx.state.user;
  if (!user) throw unauthorized();
  return user;
}

/** The org resolved by {@link orgMember} for this request. @throws when the middleware is missing (a wiring bug). */
export function currentOrg(ctx: { state: AppContext['state'] }): { id: string; role: Role } {
  const o = ctx.state.org;
  if (!o) throw new Error('orgMember middleware missing');
  return o;
}

/** The actor of an org route: the signed-in user, the org and their role in it. */
export function orgActor(ctx: AppContext): OrgActor {
  const o = currentOrg(ctx);
  return { user: requireUser(ctx), orgId: o.id, role: o.role };
}

/** The actor of an org route as services take it: `svc.x(deps, ...inOrg(ctx), …)` (user, org id). */
export function inOrg(ctx: AppContext): [SignedInUser, string] {
  const a = orgActor(ctx);
  return [a.user, a.orgId];
}

/** The same with the role: `svc.x(deps, ...inOrgWithRole(ctx), …)` (user, org id, role). */
export function inOrgWithRole(ctx: AppContext): [SignedInUser, string, Role] {
  const a = orgActor(ctx);
  return [a.user, a.orgId, a.role];
}

const orgIdParam = z.uuid();

/**
 * Router middleware for /api/orgs/:orgId/*: signed in, and a member of that org. The
 * membership was proven by the database in the request's transaction ({@link sessionLoader}).
 */
export function orgMember(_deps: Deps) {
  return async (ctx: AppContext, next: Next) => {
    requireUser(ctx);
    const orgId = ctx.params.orgId;
    if (!orgIdParam.safeParse(orgId).success || !orgId || ctx.state.org?.id !== orgId.toLowerCase())
      throw notFound('org_not_found', 'No such organization, or you are not a member.');
    return next();
  };
}
