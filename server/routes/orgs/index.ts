/** /api/orgs/*: organizations, members, invitations, audit log; /api/invitations/accept. */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, requireUser, inOrg, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/orgs.ts';
import * as members from '../../services/members.ts';
import {
  createOrgBody,
  updateOrgBody,
  memberParams,
  changeRoleBody,
  inviteBody,
  invitationParams,
  acceptBody,
  auditQuery,
  invitationsQuery,
} from './schema.ts';

export function orgRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.post('/api/orgs', async (ctx) => {
    const user = requireUser(ctx);
    const { name } = parse(createOrgBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.createOrg(deps, user, name);
  });

  r.get('/api/orgs', async (ctx) => {
    ctx.body = { organizations: await svc.myOrgs(deps, requireUser(ctx)) };
  });

  r.get('/api/orgs/:orgId', member, async (ctx) => {
    ctx.body = await svc.getOrg(deps, ...inOrgWithRole(ctx));
  });

  r.patch('/api/orgs/:orgId', member, async (ctx) => {
    const { name } = parse(updateOrgBody, bodyOf(ctx));
    ctx.body = await svc.renameOrg(deps, ...inOrgWithRole(ctx), name);
  });

  r.get('/api/orgs/:orgId/members', member, async (ctx) => {
    ctx.body = { members: await svc.listMembers(deps, ...inOrg(ctx)), seats: await members.seats(deps, ...inOrg(ctx)) };
  });

  r.patch('/api/orgs/:orgId/members/:userId', member, async (ctx) => {
    const { userId } = parse(memberParams, ctx.params);
    const { role } = parse(changeRoleBody, bodyOf(ctx));
    ctx.body = await svc.changeRole(deps, ...inOrgWithRole(ctx), userId, role);
  });

  r.delete('/api/orgs/:orgId/members/:userId', member, async (ctx) => {
    const { userId } = parse(memberParams, ctx.params);
    await svc.removeMember(deps, ...inOrgWithRole(ctx), userId);
    ctx.status = 204;
  });

  r.post('/api/orgs/:orgId/invitations', member, async (ctx) => {
    const { email, role } = parse(inviteBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.invite(deps, ...inOrgWithRole(ctx), email, role);
  });

  r.get('/api/orgs/:orgId/invitations', member, async (ctx) => {
    const q = parse(invitationsQuery, ctx.query);
    ctx.body = { invitations: await svc.listInvitations(deps, ...inOrgWithRole(ctx), q.include_expired === 'true') };
  });

  r.delete('/api/orgs/:orgId/invitations/:id', member, async (ctx) => {
    const { id } = parse(invitationParams, ctx.params);
    await svc.revokeInvitation(deps, ...inOrgWithRole(ctx), id);
    ctx.status = 204;
  });

  r.post('/api/invitations/accept', async (ctx) => {
    const user = requireUser(ctx);
    const { token } = parse(acceptBody, bodyOf(ctx));
    ctx.body = await svc.acceptInvitation(deps, user, token);
  });

  r.get('/api/orgs/:orgId/audit', member, async (ctx) => {
    const q = parse(auditQuery, ctx.query);
    const entries = await svc.listAudit(deps, ...inOrgWithRole(ctx), q.limit, q.before ?? null);
    ctx.body = { entries, next_before: entries.length === q.limit ? (entries[entries.length - 1]?.id ?? null) : null };
  });

  return r;
}
