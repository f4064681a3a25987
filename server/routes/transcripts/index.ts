/**
 * Transcripts of a session (members): status and segments, exports, re-runs; and the org's
 * transcription settings (admins).
 */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf, sendAttachment } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrg, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/transcripts.ts';
import { exportQuery, settingsBody, transcriptParams } from './schema.ts';

/** Mounts /api/orgs/:orgId/sessions/:id/transcript* and /api/orgs/:orgId/settings/transcription. */
export function transcriptRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.get('/api/orgs/:orgId/sessions/:id/transcript', member, async (ctx) => {
    const { id } = parse(transcriptParams, ctx.params);
    ctx.set('cache-control', 'no-store');
    ctx.body = await svc.getTranscript(deps, ...inOrg(ctx), id);
  });

  r.get('/api/orgs/:orgId/sessions/:id/transcript/export', member, async (ctx) => {
    const { id } = parse(transcriptParams, ctx.params);
    const { format } = parse(exportQuery, ctx.query);
    const file = await svc.exportTranscript(deps, ...inOrg(ctx), id, format);
    sendAttachment(ctx, file);
  });

  r.post('/api/orgs/:orgId/sessions/:id/transcript/rerun', member, async (ctx) => {
    const { id } = parse(transcriptParams, ctx.params);
    ctx.status = 202;
    ctx.body = { run: await svc.rerun(deps, ...inOrg(ctx), id) };
  });

  r.get('/api/orgs/:orgId/settings/transcription', member, async (ctx) => {
    ctx.body = await svc.getSettings(deps, ...inOrgWithRole(ctx));
  });

  r.patch('/api/orgs/:orgId/settings/transcription', member, async (ctx) => {
    const change = parse(settingsBody, bodyOf(ctx));
    ctx.body = await svc.updateSettings(deps, ...inOrgWithRole(ctx), change);
  });

  return r;
}
