/**
 * Webhook endpoints, as an org's owners and admins manage them: register (the signing
 * secret is returned once), list, show, change URL / events / enabled, delete, rotate the
 * secret (the old one keeps signing beside the new one for WEBHOOK_SECRET_OVERLAP_S), send
 * a test event, and read the delivery log. Targets are checked against server-side request
 * forgery here and again before every attempt (services/webhookDelivery.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { outsideTransaction, withTenant } from '../core/db/pool.ts';
import { AppError, conflict, notFound } from '../core/errors.ts';
import * as repo from '../repositories/webhooks.ts';
import * as audit from '../repositories/audit.ts';
import { requireAdmin, tenantScope } from '../policies.ts';
import { newWebhookSecret } from '../../lib/webhooks/signature.ts';
import { resolveTarget, TargetError } from '../../lib/webhooks/target.ts';
import { sealNewSecret, sealWithKey } from './webhookSecrets.ts';

const endpointNotFound = () => notFound('webhook_not_found', 'No such webhook endpoint.');
/** Endpoints per organisation: each event goes out once per endpoint, so their number is bounded. */
export const MAX_ENDPOINTS = 20;
const requireManager = (role: Role) => requireAdmin(role, 'Only owners and admins manage webhooks.');

export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  /** Why it is disabled: `failing` (every retry of a delivery failed) or `admin` (by hand). */
  disabled_reason: 'failing' | 'admin' | null;
  /** While the previous secret still signs beside the current one (after a rotation). */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

function present(r: repo.EndpointRow, now: Date): EndpointView {
  const prev = r.previous_secret_expires_at;
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    enabled: r.enabled,
    disabled_reason: r.disabled_reason,
    previous_secret_expires_at: prev && prev > now ? prev.toISOString() : null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/**
 * Checks a target URL (DNS included) outside any transaction.
 * @throws AppError 400 with the TargetError's code (`invalid_url`, `https_required`,
 *   `address_not_allowed`, `host_not_found`).
 */
async function checkUrl(deps: Deps, url: string): Promise<void> {
  try {
    await outsideTransaction(() => resolveTarget(url, { allowLoopback: deps.config.webhooks.allowLoopback }));
  } catch (err) {
    if (err instanceof TargetError) throw new AppError(400, err.code, err.message);
    throw err;
  }
}

/** Registers an endpoint; its signing secret is in the answer and never shown again. */
export async function createEndpoint(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  input: { url: string; events: readonly string[] },
): Promise<EndpointView & { secret: string }> {
  requireManager(role);
  await checkUrl(deps, input.url);
  const id = randomUUID();
  const secret = newWebhookSecret();
  const { wrappedKey, sealed } = await outsideTransaction(() => sealNewSecret(deps, orgId, id, secret));
  const row = await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    if ((await repo.listEndpoints(tx, orgId)).length >= MAX_ENDPOINTS)
      throw conflict('webhook_limit', `An organization has at most ${MAX_ENDPOINTS} webhook endpoints.`);
    const r = await repo.insertEndpoint(tx, {
      id,
      orgId,
      url: input.url,
      events: input.events,
      wrappedKey,
      secretSealed: sealed,
      // An API key is not a person: the endpoint names no creator (the audit entry names the key).
      createdBy: user.apiKey ? null : user.id,
    });
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'webhook.created',
      details: { endpoint_id: id, url: input.url, events: input.events },
    });
    return r;
  });
  return { ...present(row, deps.clock.now()), secret };
}

export async function listEndpoints(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
): Promise<EndpointView[]> {
  requireManager(role);
  const rows = await withTenant(deps.db.app, tenantScope(orgId, user), (tx) => repo.listEndpoints(tx, orgId));
  return rows.map((r) => present(r, deps.clock.now()));
}

export async function getEndpoint(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<EndpointView> {
  requireManager(role);
  const row = await withTenant(deps.db.app, tenantScope(orgId, user), (tx) => repo.findEndpoint(tx, orgId, id));
  if (!row) throw endpointNotFound();
  return present(row, deps.clock.now());
}

/** Changes URL (checked again), events or enabled; enabling again delivers what waited. */
export async function updateEndpoint(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
  patch: { url?: string | undefined; events?: readonly string[] | undefined; enabled?: boolean | undefined },
): Promise<EndpointView> {
  requireManager(role);
  if (patch.url !== undefined) await checkUrl(deps, patch.url);
  const row = await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    const r = await repo.updateEndpoint(tx, orgId, id, {
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.events !== undefined ? { events: patch.events } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    });
    if (!r) throw endpointNotFound();
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'webhook.updated',
      details: { endpoint_id: id, ...patch },
    });
    return r;
  });
  return present(row, deps.clock.now());
}

export async function deleteEndpoint(deps: Deps, user: SignedInUser, orgId: string, role: Role, id: string) {
  requireManager(role);
  await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    if ((await repo.deleteEndpoint(tx, orgId, id)) === 0) throw endpointNotFound();
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'webhook.deleted',
      details: { endpoint_id: id },
    });
  });
}

/**
 * A new signing secret, returned once. The previous one keeps signing beside it (several
 * `v1,` signatures) for WEBHOOK_SECRET_OVERLAP_S, so receivers can switch without a gap.
 */
export async function rotateSecret(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<EndpointView & { secret: string }> {
  requireManager(role);
  const scope = tenantScope(orgId, user);
  const key = await withTenant(deps.db.app, scope, (tx) => repo.findEndpointKey(tx, orgId, id));
  if (!key) throw endpointNotFound();
  const secret = newWebhookSecret();
  const sealed = await outsideTransaction(() => sealWithKey(deps, orgId, id, key.wrapped_key, secret));
  const row = await withTenant(deps.db.app, scope, async (tx) => {
    const r = await repo.rotateSecret(tx, orgId, id, sealed, deps.config.webhooks.secretOverlapS);
    if (!r) throw endpointNotFound();
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'webhook.secret_rotated',
      details: { endpoint_id: id },
    });
    return r;
  });
  return { ...present(row, deps.clock.now()), secret };
}

/** Queues a `webhook.test` event for the endpoint; it goes out behind what is already pending. */
export async function sendTestEvent(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<{ delivery_id: string; event_id: string }> {
  requireManager(role);
  return withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    const e = await repo.findEndpoint(tx, orgId, id);
    if (!e) throw endpointNotFound();
    if (!e.enabled) throw conflict('webhook_disabled', 'Enable the endpoint before sending a test event.');
    const d = await repo.insertTestDelivery(tx, orgId, id, { endpoint_id: id });
    return { delivery_id: d.id, event_id: d.event_id };
  });
}

export interface DeliveryView {
  id: string;
  /** The `webhook-id` header of every attempt. */
  event_id: string;
  type: string;
  state: repo.DeliveryRow['state'];
  attempts: { attempt: number; at: string; status: number | null; latency_ms: number; error: string | null }[];
  created_at: string;
  next_attempt_at: string | null;
  finished_at: string | null;
}

/** The delivery log of one endpoint, newest first, each with its attempts. */
export async function listDeliveries(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
  limit: number,
  before: string | null,
): Promise<DeliveryView[]> {
  requireManager(role);
  return withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    if (!(await repo.findEndpoint(tx, orgId, id))) throw endpointNotFound();
    const rows = await repo.listDeliveries(tx, orgId, id, limit, before);
    const attempts = await repo.listAttempts(
      tx,
      orgId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      event_id: r.event_id,
      type: r.event_type,
      state: r.state,
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempt: a.attempt,
          at: a.at.toISOString(),
          status: a.status,
          latency_ms: a.latency_ms,
          error: a.error,
        })),
      created_at: r.created_at.toISOString(),
      next_attempt_at: r.state === 'pending' ? r.next_attempt_at.toISOString() : null,
      finished_at: r.finished_at?.toISOString() ?? null,
    }));
  });
}
