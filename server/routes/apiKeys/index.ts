/** /api/orgs/:orgId/api-keys: create (the key is shown once), list, revoke. Owners and admins, signed in. */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/apiKeys.ts';
import { createKeyBody, keyParams } from './schema.ts';

export function apiKeyRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.post('/api/orgs/:orgId/api-keys', member, async (ctx) => {
    const body = parse(createKeyBody, bodyOf(ctx));
    const created = await svc.createKey(deps, ...inOrgWithRole(ctx), body);
    ctx.status = 201;
    // The only answer that carries the key: never cached, never stored.
    ctx.set('cache-control', 'no-store');
    ctx.body = created;
  });

  r.get('/api/orgs/:orgId/api-keys', member, async (ctx) => {
    ctx.body = { api_keys: await svc.listKeys(deps, ...inOrgWithRole(ctx)) };
  });

  r.delete('/api/orgs/:orgId/api-keys/:id', member, async (ctx) => {
    const { id } = parse(keyParams, ctx.params);
    await svc.revokeKey(deps, ...inOrgWithRole(ctx), id);
    ctx.status = 204;
  });

  return r;
}
