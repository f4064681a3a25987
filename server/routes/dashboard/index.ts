/**
 * The dashboard's routes (docs/dashboard-api.md): home, usage, the audit log's filter,
 * paging and download, invitation resend, the retention preview, sign out elsewhere.
 */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrg, inOrgWithRole, requireUser } from '../../middleware/auth.ts';
import { sendAttachment } from '../../middleware/core.ts';
import * as auditLog from '../../services/auditLog.ts';
import * as usage from '../../services/usage.ts';
import * as home from '../../services/home.ts';
import * as members from '../../services/members.ts';
import * as retention from '../../services/retention.ts';
import type { Billing } from '../../billing/stripe.ts';
import {
  auditDownloadQuery,
  auditEventsQuery,
  homeQuery,
  invitationParams,
  retentionPreviewQuery,
  usageQuery,
} from './schema.ts';

/** `billing`: the started Stripe client, or undefined when billing is off (usage is shown without limits). */
export function dashboardRoutes(deps: Deps, billing?: Billing): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.get('/api/home', async (ctx) => {
    const user = requireUser(ctx);
    const { limit } = parse(homeQuery, ctx.query);
    ctx.body = { sessions: await home.homeSessions(deps, user, limit) };
  });

  r.get('/api/orgs/:orgId/usage', member, async (ctx) => {
    const { months } = parse(usageQuery, ctx.query);
    ctx.body = await usage.getUsage(deps, billing, ...inOrgWithRole(ctx), months);
  });

  r.get('/api/orgs/:orgId/audit/events', member, async (ctx) => {
    const q = parse(auditEventsQuery, ctx.query);
    ctx.body = await auditLog.listEvents(deps, ...inOrgWithRole(ctx), q);
  });

  r.get('/api/orgs/:orgId/audit/facets', member, async (ctx) => {
    ctx.body = await auditLog.facets(deps, ...inOrgWithRole(ctx));
  });

  r.get('/api/orgs/:orgId/audit/download', member, async (ctx) => {
    const { format, ...filter } = parse(auditDownloadQuery, ctx.query);
    const file = await auditLog.download(deps, ...inOrgWithRole(ctx), format, filter);
    sendAttachment(ctx, file);
  });

  r.post('/api/orgs/:orgId/invitations/:id/resend', member, async (ctx) => {
    const { id } = parse(invitationParams, ctx.params);
    ctx.body = await members.resendInvitation(deps, ...inOrgWithRole(ctx), id);
  });

  r.get('/api/orgs/:orgId/retention/preview', member, async (ctx) => {
    const { days } = parse(retentionPreviewQuery, ctx.query);
    ctx.body = await retention.previewRetention(deps, ...inOrg(ctx), days === 'none' ? null : days);
  });

  return r;
}
