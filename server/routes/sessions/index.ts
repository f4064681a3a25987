/** /api/orgs/:orgId/sessions/* (members) and /api/join (guests by link). */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf, sendAttachment } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrg, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/sessions.ts';
import * as studio from '../../services/studio.ts';
import { createSessionBody, sessionParams, trackParams, hostJoinBody, guestJoinBody, guestInfoBody } from './schema.ts';

export function sessionRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.post('/api/orgs/:orgId/sessions', member, async (ctx) => {
    const { title } = parse(createSessionBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.createSession(deps, ...inOrg(ctx), title);
  });

  r.get('/api/orgs/:orgId/sessions', member, async (ctx) => {
    ctx.body = { sessions: await svc.listSessions(deps, ...inOrg(ctx)) };
  });

  r.get('/api/orgs/:orgId/sessions/:id', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    const [user, orgId] = inOrg(ctx);
    ctx.body = await studio.withStudioFields(deps, user, orgId, await svc.getSession(deps, user, orgId, id));
  });

  r.post('/api/orgs/:orgId/sessions/:id/guest-link', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    ctx.body = await svc.rotateGuestLink(deps, ...inOrg(ctx), id);
  });

  r.post('/api/orgs/:orgId/sessions/:id/join', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    const { display_name, consent } = parse(hostJoinBody, bodyOf(ctx));
    ctx.body = await svc.hostJoin(deps, ...inOrg(ctx), id, display_name, consent);
  });

  // The session page ends a live session: the room closes for everyone.
  r.post('/api/orgs/:orgId/sessions/:id/end', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    ctx.body = await studio.endSession(deps, ...inOrg(ctx), id);
  });

  r.get('/api/orgs/:orgId/sessions/:id/tracks/:trackId/download', member, async (ctx) => {
    const { id, trackId } = parse(trackParams, ctx.params);
    // Players stream and seek with Range requests (one range; several get the whole file).
    const file = await svc.downloadTrack(deps, ...inOrg(ctx), id, trackId, ctx.get('range') || undefined);
    ctx.set('accept-ranges', 'bytes');
    if (file.status === 416) {
      ctx.status = 416;
      ctx.set('content-range', `bytes */${file.size}`);
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: { code: 'range_not_satisfiable', message: 'The requested range is outside the file.' } };
      return;
    }
    const { range, size } = file;
    sendAttachment(ctx, { ...file, ...(range ? { size: range.end - range.start + 1 } : {}) });
    if (range && size !== undefined) {
      ctx.status = 206;
      ctx.set('content-range', `bytes ${range.start}-${range.end}/${size}`);
    }
  });

  r.delete('/api/orgs/:orgId/sessions/:id', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    ctx.body = await svc.deleteSession(deps, ...inOrgWithRole(ctx), id);
  });

  r.post('/api/join', async (ctx) => {
    ctx.body = await studio.guestJoin(deps, ctx.ip, parse(guestJoinBody, bodyOf(ctx)));
  });

  // What the guest link shows before joining: who records, what is stored, live or not.
  r.post('/api/join/info', async (ctx) => {
    const b = parse(guestInfoBody, bodyOf(ctx));
    ctx.body = await studio.guestInfo(deps, ctx.ip, b.session_id, b.token);
  });

  return r;
}
