/**
 * The data lifecycle's endpoints (docs/data-lifecycle.md):
 * retention (GET/PUT /api/orgs/:orgId/retention), deletion certificates
 * (GET .../sessions/:id/certificate, GET .../certificates, GET /api/deployment/public-key),
 * org deletion (GET/POST/DELETE /api/orgs/:orgId/deletion), account deletion
 * (DELETE /api/me, POST /api/auth/restore) and exports (/api/orgs/:orgId/exports).
 */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf, sendAttachment } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import {
  orgMember,
  requireUser,
  SESSION_COOKIE,
  DEVICE_COOKIE,
  DEVICE_TTL_S,
  cookieOptions,
  ensureCsrfCookie,
  inOrg,
  inOrgWithRole,
} from '../../middleware/auth.ts';
import * as retention from '../../services/retention.ts';
import * as certificates from '../../services/certificates.ts';
import * as orgDeletion from '../../services/orgDeletion.ts';
import * as accounts from '../../services/accounts.ts';
import * as auth from '../../services/auth.ts';
import * as exports from '../../services/export.ts';
import {
  deleteAccountBody,
  exportBody,
  exportParams,
  restoreBody,
  retentionBody,
  scheduleDeletionBody,
  sessionParams,
} from './schema.ts';

export function lifecycleRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.get(certificates.PUBLIC_KEY_PATH, (ctx) => {
    const key = certificates.publicKey(deps);
    ctx.type = 'application/x-pem-file';
    ctx.set('x-key-sha256', key.fingerprint);
    ctx.body = key.pem;
  });

  r.get('/api/orgs/:orgId/retention', member, async (ctx) => {
    ctx.body = await retention.getRetention(deps, ...inOrg(ctx));
  });

  r.put('/api/orgs/:orgId/retention', member, async (ctx) => {
    const { retention_days } = parse(retentionBody, bodyOf(ctx));
    ctx.body = await retention.setRetention(deps, ...inOrgWithRole(ctx), retention_days);
  });

  r.get('/api/orgs/:orgId/sessions/:id/certificate', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    ctx.body = await certificates.getCertificate(deps, ...inOrg(ctx), id);
  });

  r.get('/api/orgs/:orgId/certificates', member, async (ctx) => {
    ctx.body = { certificates: await certificates.listCertificates(deps, ...inOrg(ctx)) };
  });

  r.get('/api/orgs/:orgId/deletion', member, async (ctx) => {
    ctx.body = await orgDeletion.deletionStatus(deps, ...inOrg(ctx));
  });

  r.post('/api/orgs/:orgId/deletion', member, async (ctx) => {
    const { confirm_name } = parse(scheduleDeletionBody, bodyOf(ctx));
    ctx.status = 202;
    ctx.body = await orgDeletion.scheduleDeletion(deps, ...inOrgWithRole(ctx), confirm_name);
  });

  r.delete('/api/orgs/:orgId/deletion', member, async (ctx) => {
    ctx.body = await orgDeletion.cancelDeletion(deps, ...inOrgWithRole(ctx));
  });

  r.post('/api/orgs/:orgId/exports', member, async (ctx) => {
    const b = parse(exportBody, bodyOf(ctx));
    const to =
      b.recipient !== undefined
        ? { kind: 'x25519' as const, recipient: b.recipient }
        : { kind: 'passphrase' as const, passphrase: b.passphrase ?? '' };
    ctx.status = 202;
    ctx.body = await exports.createExport(deps, ...inOrgWithRole(ctx), to);
  });

  r.get('/api/orgs/:orgId/exports', member, async (ctx) => {
    ctx.body = { exports: await exports.listExports(deps, ...inOrgWithRole(ctx)) };
  });

  r.get('/api/orgs/:orgId/exports/:id', member, async (ctx) => {
    const { id } = parse(exportParams, ctx.params);
    ctx.body = await exports.getExport(deps, ...inOrgWithRole(ctx), id);
  });

  r.get('/api/orgs/:orgId/exports/:id/download', member, async (ctx) => {
    const { id } = parse(exportParams, ctx.params);
    const file = await exports.downloadExport(deps, ...inOrgWithRole(ctx), id);
    sendAttachment(ctx, { ...file, contentType: 'application/octet-stream' });
  });

  r.delete('/api/me', async (ctx) => {
    const user = requireUser(ctx);
    const { confirm_email } = parse(deleteAccountBody, bodyOf(ctx));
    const res = await accounts.requestDeletion(deps, user, confirm_email);
    ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(deps, true), maxAge: 0 });
    ctx.body = {
      ok: true,
      purge_at: res.purge_at,
      message: 'Your account will be deleted. Sign in again before then to restore it.',
    };
  });

  r.post('/api/auth/restore', async (ctx) => {
    const { restore_token } = parse(restoreBody, bodyOf(ctx));
    const session = await accounts.restoreAccount(deps, restore_token, ctx.ip, ctx.get('user-agent') || null);
    ctx.cookies.set(SESSION_COOKIE, session.token, cookieOptions(deps, true, deps.config.sessionAbsoluteTtlS));
    // A restore is a sign-in (the code was right): this browser keeps a sign-in budget of its own, as after /verify.
    if (!auth.trustedDevice(deps, ctx.cookies.get(DEVICE_COOKIE), session.user.email))
      ctx.cookies.set(
        DEVICE_COOKIE,
        auth.deviceCookieFor(deps, session.user.email),
        cookieOptions(deps, true, DEVICE_TTL_S),
      );
    ensureCsrfCookie(deps, ctx);
    ctx.body = {
      user: { id: session.user.id, email: session.user.email, display_name: session.user.displayName },
      restored: true,
    };
  });

  return r;
}
