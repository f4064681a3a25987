/** /healthz (liveness + database reachability) and /metrics (Prometheus text format). */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { withUser } from '../../core/db/pool.ts';

export function systemRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  r.get('/healthz', async (ctx) => {
    try {
      await withUser(deps.db.app, null, (tx) => tx.query('select 1'));
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = {
        status: 'unavailable',
        error: { code: 'database_unavailable', message: 'The database cannot be reached.' },
      };
    }
  });
  r.get('/metrics', async (ctx) => {
    ctx.set('content-type', deps.metrics.registry.contentType);
    ctx.body = await deps.metrics.registry.metrics();
  });
  return r;
}
