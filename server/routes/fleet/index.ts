/**
 * /api/fleet/*: the operators' API over the SFU fleet, behind FLEET_ADMIN_TOKEN (a bearer
 * token; no cookies, so no CSRF). List nodes with their load, drain a node (it takes no new
 * sessions and moves its live ones), or make it active again.
 */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { Next } from 'koa';
import type { AppContext, AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import * as svc from '../../services/fleet.ts';
import { emptyBody, nodeParams } from './schema.ts';

export function fleetRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const admin = async (ctx: AppContext, next: Next) => {
    svc.requireFleetAdmin(deps, ctx.get('authorization') || undefined);
    ctx.set('cache-control', 'no-store');
    await next();
  };

  r.get('/api/fleet/nodes', admin, async (ctx) => {
    ctx.body = await svc.listNodes(deps);
  });

  for (const [action, state] of [
    ['drain', 'draining'],
    ['activate', 'active'],
  ] as const) {
    r.post(`/api/fleet/nodes/:nodeId/${action}`, admin, async (ctx) => {
      const { nodeId } = parse(nodeParams, ctx.params);
      parse(emptyBody, bodyOf(ctx) ?? {});
      ctx.body = { node: await svc.setNodeState(deps, nodeId, state) };
    });
  }
  return r;
}
