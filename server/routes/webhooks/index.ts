/** /api/orgs/:orgId/webhooks: signed webhook endpoints, their secrets, test events and delivery log (owners, admins). */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/webhooks.ts';
import { createEndpointBody, updateEndpointBody, endpointParams, deliveriesQuery } from './schema.ts';

export function webhookRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);
  const base = '/api/orgs/:orgId/webhooks';

  r.post(base, member, async (ctx) => {
    const body = parse(createEndpointBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.createEndpoint(deps, ...inOrgWithRole(ctx), body);
  });

  r.get(base, member, async (ctx) => {
    ctx.body = { endpoints: await svc.listEndpoints(deps, ...inOrgWithRole(ctx)) };
  });

  r.get(`${base}/:id`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    ctx.body = await svc.getEndpoint(deps, ...inOrgWithRole(ctx), id);
  });

  r.patch(`${base}/:id`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    const patch = parse(updateEndpointBody, bodyOf(ctx));
    ctx.body = await svc.updateEndpoint(deps, ...inOrgWithRole(ctx), id, patch);
  });

  r.delete(`${base}/:id`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    await svc.deleteEndpoint(deps, ...inOrgWithRole(ctx), id);
    ctx.status = 204;
  });

  r.post(`${base}/:id/rotate-secret`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    ctx.body = await svc.rotateSecret(deps, ...inOrgWithRole(ctx), id);
  });

  r.post(`${base}/:id/test`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    ctx.status = 202;
    ctx.body = await svc.sendTestEvent(deps, ...inOrgWithRole(ctx), id);
  });

  r.get(`${base}/:id/deliveries`, member, async (ctx) => {
    const { id } = parse(endpointParams, ctx.params);
    const q = parse(deliveriesQuery, ctx.query);
    const deliveries = await svc.listDeliveries(deps, ...inOrgWithRole(ctx), id, q.limit, q.before ?? null);
    ctx.body = {
      deliveries,
      next_before: deliveries.length === q.limit ? (deliveries[deliveries.length - 1]?.id ?? null) : null,
    };
  });

  return r;
}
