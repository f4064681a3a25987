/** /api/auth/* and /api/me: sign-in by emailed code, sign-out, the user's sessions. */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import {
  requireUser,
  SESSION_COOKIE,
  CSRF_COOKIE,
  DEVICE_COOKIE,
  DEVICE_TTL_S,
  cookieOptions,
  ensureCsrfCookie,
} from '../../middleware/auth.ts';
import * as auth from '../../services/auth.ts';
import { myOrgs } from '../../services/orgs.ts';
import { withUser } from '../../core/db/pool.ts';
import { updateDisplayName } from '../../repositories/users.ts';
import { requestCodeBody, verifyBody, sessionIdParams, updateMeBody } from './schema.ts';

export function authRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();

  r.post('/api/auth/code', async (ctx) => {
    const { email } = parse(requestCodeBody, bodyOf(ctx));
    await auth.requestCode(deps, email, ctx.ip, ctx.cookies.get(DEVICE_COOKIE));
    ctx.status = 202;
    ctx.body = { ok: true, message: 'If the address can receive mail, a code is on its way.' };
  });

  r.post('/api/auth/verify', async (ctx) => {
    const { email, code, time_zone } = parse(verifyBody, bodyOf(ctx));
    const device = ctx.cookies.get(DEVICE_COOKIE);
    const session = await auth.verifyCode(deps, email, code, ctx.ip, ctx.get('user-agent') || null, device, time_zone);
    ctx.cookies.set(SESSION_COOKIE, session.token, cookieOptions(deps, true, deps.config.sessionAbsoluteTtlS));
    // This browser has now signed in to this address: it keeps a sign-in budget of its own.
    if (!auth.trustedDevice(deps, device, session.user.email))
      ctx.cookies.set(
        DEVICE_COOKIE,
        auth.deviceCookieFor(deps, session.user.email),
        cookieOptions(deps, true, DEVICE_TTL_S),
      );
    ensureCsrfCookie(deps, ctx);
    ctx.body = { user: { id: session.user.id, email: session.user.email, display_name: session.user.displayName } };
  });

  r.post('/api/auth/logout', async (ctx) => {
    if (ctx.state.user) await auth.logout(deps, ctx.state.user);
    ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(deps, true), maxAge: 0 });
    ctx.cookies.set(CSRF_COOKIE, '', { ...cookieOptions(deps, false), maxAge: 0 });
    ctx.status = 204;
  });

  r.get('/api/me', async (ctx) => {
    const user = requireUser(ctx);
    ensureCsrfCookie(deps, ctx);
    ctx.body = {
      user: { id: user.id, email: user.email, display_name: user.displayName },
      memberships: await myOrgs(deps, user),
    };
  });

  r.patch('/api/me', async (ctx) => {
    const user = requireUser(ctx);
    const { display_name } = parse(updateMeBody, bodyOf(ctx));
    const row = await withUser(deps.db.app, user.id, (tx) => updateDisplayName(tx, user.id, display_name));
    ctx.body = { user: { id: row.id, email: row.email, display_name: row.display_name } };
  });

  r.get('/api/auth/sessions', async (ctx) => {
    const user = requireUser(ctx);
    ctx.body = { sessions: await auth.listSessions(deps, user) };
  });

  r.post('/api/auth/sessions/revoke-others', async (ctx) => {
    ctx.body = { revoked: await auth.revokeOtherSessions(deps, requireUser(ctx)) };
  });

  r.delete('/api/auth/sessions/:id', async (ctx) => {
    const user = requireUser(ctx);
    const { id } = parse(sessionIdParams, ctx.params);
    await auth.revokeSession(deps, user, id);
    ctx.status = 204;
  });

  return r;
}
