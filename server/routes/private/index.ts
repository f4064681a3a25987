/**
 * Private mode: the org's key pair and key holders (owners and admins), and a sealed
 * session's data for a key holder's browser: its re-wrapped key, chunk list, and the sealed
 * chunks and transcript exactly as stored.
 */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrg, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../services/privateMode.ts';
import {
  enableBody,
  grantBody,
  holderParams,
  requestBody,
  myKeyBody,
  orgParams,
  rangeQuery,
  sessionParams,
  trackParams,
  transcriptParams,
} from './schema.ts';

/** Mounts /api/orgs/:orgId/private-mode* and /api/orgs/:orgId/sessions/:id/private*. */
export function privateModeRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.get('/api/orgs/:orgId/private-mode', member, async (ctx) => {
    parse(orgParams, ctx.params);
    ctx.set('cache-control', 'no-store');
    ctx.body = await svc.getPrivateMode(deps, ...inOrg(ctx));
  });

  r.post('/api/orgs/:orgId/private-mode', member, async (ctx) => {
    parse(orgParams, ctx.params);
    const body = parse(enableBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.enablePrivateMode(
      deps,
      ...inOrgWithRole(ctx),
      Buffer.from(body.public_key, 'base64'),
      body.wrapped_private_key,
    );
  });

  r.put('/api/orgs/:orgId/private-mode/holders/me', member, async (ctx) => {
    parse(orgParams, ctx.params);
    const body = parse(myKeyBody, bodyOf(ctx));
    ctx.body = await svc.putMyKey(deps, ...inOrgWithRole(ctx), body.wrapped_private_key);
  });

  r.post('/api/orgs/:orgId/private-mode/requests', member, async (ctx) => {
    parse(orgParams, ctx.params);
    const body = parse(requestBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = await svc.requestKey(
      deps,
      ...inOrgWithRole(ctx),
      Buffer.from(body.public_key, 'base64'),
      body.wrapped_request_key,
    );
  });

  r.put('/api/orgs/:orgId/private-mode/requests/:userId/grant', member, async (ctx) => {
    const { userId } = parse(holderParams, ctx.params);
    const body = parse(grantBody, bodyOf(ctx));
    ctx.body = await svc.grantKey(
      deps,
      ...inOrgWithRole(ctx),
      userId,
      Buffer.from(body.public_key, 'base64'),
      body.grant,
    );
  });

  r.delete('/api/orgs/:orgId/private-mode/holders/:userId', member, async (ctx) => {
    const { userId } = parse(holderParams, ctx.params);
    ctx.body = await svc.removeHolder(deps, ...inOrgWithRole(ctx), userId);
  });

  r.get('/api/orgs/:orgId/sessions/:id/private', member, async (ctx) => {
    const { id } = parse(sessionParams, ctx.params);
    ctx.set('cache-control', 'no-store');
    ctx.body = await svc.sealedSession(deps, ...inOrg(ctx), id);
  });

  r.get('/api/orgs/:orgId/sessions/:id/private/tracks/:trackId/chunks', member, async (ctx) => {
    const { id, trackId } = parse(trackParams, ctx.params);
    const { from, count } = parse(rangeQuery, ctx.query);
    const body = await svc.sealedChunkRange(deps, ...inOrg(ctx), id, trackId, from, count);
    ctx.type = 'application/octet-stream';
    ctx.set('cache-control', 'private, max-age=3600');
    ctx.body = body;
  });

  r.get('/api/orgs/:orgId/sessions/:id/private/transcripts/:runId', member, async (ctx) => {
    const { id, runId } = parse(transcriptParams, ctx.params);
    const body = await svc.sealedTranscript(deps, ...inOrg(ctx), id, runId);
    ctx.type = 'application/octet-stream';
    ctx.set('cache-control', 'no-store');
    ctx.body = body;
  });

  return r;
}
