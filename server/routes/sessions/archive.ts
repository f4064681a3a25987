/** GET /api/orgs/:orgId/sessions/:id/archive: every track and the transcript as one tar. */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { sendAttachment } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { inOrg, orgMember } from '../../middleware/auth.ts';
import { downloadSessionArchive } from '../../services/sessionArchive.ts';
import { sessionParams } from './schema.ts';

/** The session archive route (members of the session's organisation). */
export function sessionArchiveRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  r.get('/api/orgs/:orgId/sessions/:id/archive', orgMember(deps), async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    sendAttachment(ctx, await downloadSessionArchive(deps, ...inOrg(ctx), id));
  });
  return r;
}
