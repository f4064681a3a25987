/**
 * Delivering one endpoint's outbox (the `webhook` job, one per endpoint at a time): the
 * oldest pending event first, signed per Standard Webhooks with the endpoint's secret (and
 * the rotated-out one during its overlap), to a target checked again against request
 * forgery and connected to the checked address. A failed head is retried with exponential
 * back-off before anything behind it goes out, always with the same `webhook-id`; after
 * the last attempt the endpoint is disabled and its owners and admins get an email.
 *
 * No transaction is open during a network round trip (key provider, DNS, the POST): each
 * database step is its own short transaction on the jobs pool, for the org the job names.
 */
import { z } from 'zod';
import type { Deps } from '../core/context.ts';
import { withTenant } from '../core/db/pool.ts';
import { log } from '../core/logger.ts';
import * as repo from '../repositories/webhooks.ts';
import { KeyError } from '../../lib/keys/KeyProvider.ts';
import { webhookHeaders } from '../../lib/webhooks/signature.ts';
import { postWebhook, type AttemptResult } from '../../lib/webhooks/send.ts';
import { resolveTarget, TargetError } from '../../lib/webhooks/target.ts';
import { openSecrets } from './webhookSecrets.ts';
import type { MailMessage } from '../core/mail/mailer.ts';

/** The queue's task name (sql/120_webhooks.sql app.webhook_add_job queues it). */
export const WEBHOOK_TASK = 'webhook';

const payloadSchema = z.object({ endpoint_id: z.uuid(), organization_id: z.uuid() });

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based): base × 4^(attempt−1),
 * at most base × 8640 (12 h at the default 5 s base).
 */
export function retryDelayMs(baseMs: number, attempt: number): number {
  return Math.min(baseMs * 4 ** Math.max(0, attempt - 1), baseMs * 8640);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The body sent: `{type, timestamp, data}` with the stored ids (never content) and links to
 * the API resources they name. The same bytes on every attempt.
 */
export function eventBody(
  publicUrl: string,
  orgId: string,
  d: Pick<repo.NextDeliveryRow, 'event_type' | 'payload' | 'created_at'>,
): string {
  const api = `${publicUrl}/api/orgs/${orgId}`;
  const p = d.payload;
  const links: Record<string, string> = {};
  const session = str(p.session_id);
  if (session) links.session = `${api}/sessions/${session}`;
  if (session && d.event_type.startsWith('transcript.')) links.transcript = `${api}/sessions/${session}/transcript`;
  const exportId = str(p.export_id);
  if (exportId) {
    links.export = `${api}/exports/${exportId}`;
    links.download = `${api}/exports/${exportId}/download`;
  }
  if (d.event_type.startsWith('member.')) links.members = `${api}/members`;
  const endpoint = str(p.endpoint_id);
  if (endpoint) links.endpoint = `${api}/webhooks/${endpoint}`;
  const data: Record<string, unknown> = { organization_id: orgId, ...p, links };
  if (Array.isArray(p.tracks) && session) {
    data.tracks = (p.tracks as unknown[]).map((t) => {
      const track = (t ?? {}) as Record<string, unknown>;
      const id = str(track.id) ?? '';
      return { ...track, download_url: `${api}/sessions/${session}/tracks/${id}/download` };
    });
  }
  return JSON.stringify({ type: d.event_type, timestamp: d.created_at.toISOString(), data });
}

function disabledEmail(deps: Deps, to: string, url: string, attempts: number, lastError: string | null): MailMessage {
  return {
    to,
    subject: 'A webhook endpoint was disabled',
    text:
      `After ${attempts} failed attempts to deliver an event, the webhook endpoint\n  ${url}\nwas disabled.\n\n` +
      `Last error: ${lastError ?? 'unknown'}\n\n` +
      `Events that were waiting are kept. Fix the receiver, then enable the endpoint again in your organization's ` +
      `webhook settings and they are delivered in order:\n${deps.config.publicUrl}/\n`,
  };
}

/** One attempt at the head delivery. Never throws for a failure of the receiver or its address. */
async function attemptOnce(deps: Deps, orgId: string, endpointId: string, d: repo.NextDeliveryRow) {
  const cfg = deps.config.webhooks;
  try {
    const target = await resolveTarget(d.url, { allowLoopback: cfg.allowLoopback });
    const sealed = d.previous_secret_sealed ? [d.secret_sealed, d.previous_secret_sealed] : [d.secret_sealed];
    const secrets = await openSecrets(deps, orgId, endpointId, d.wrapped_key, sealed);
    const body = eventBody(deps.config.publicUrl, orgId, d);
    const headers = webhookHeaders(secrets, d.event_id, Math.floor(Date.now() / 1000), body);
    return await postWebhook(target, headers, body, cfg.timeoutMs);
  } catch (err) {
    if (err instanceof TargetError)
      return { status: null, ok: false, latencyMs: 0, error: `target refused (${err.code})` } satisfies AttemptResult;
    // A key service outage is not the receiver's failure: the queue retries the job.
    if (err instanceof KeyError && err.code === 'key_provider_unavailable') throw err;
    return { status: null, ok: false, latencyMs: 0, error: 'signing failed' } satisfies AttemptResult;
  }
}

/**
 * Works one `webhook` job: delivers the endpoint's due deliveries in order until none is
 * due, one fails (its retry is scheduled), or `signal` aborts (the next start's
 * reconciliation queues the rest).
 * @throws on database or key-service failure (the queue retries the job).
 */
export async function deliverEndpoint(deps: Deps, rawPayload: unknown, signal?: AbortSignal): Promise<void> {
  const { endpoint_id: endpointId, organization_id: orgId } = payloadSchema.parse(rawPayload);
  const cfg = deps.config.webhooks;
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(deps.db.jobs, { orgId, userId: null }, fn);
  while (!signal?.aborted) {
    const d = await tx((c) => repo.nextDelivery(c, endpointId));
    if (!d) return;
    const attempt = d.attempts + 1;
    const r = await attemptOnce(deps, orgId, endpointId, d);
    const disabled = await tx((c) =>
      repo.recordAttempt(c, {
        deliveryId: d.delivery_id,
        attempt,
        status: r.status,
        latencyMs: r.latencyMs,
        error: r.error,
        ok: r.ok,
        retryMs: retryDelayMs(cfg.retryBaseMs, attempt),
        maxAttempts: cfg.maxAttempts,
      }),
    );
    deps.metrics.webhookAttempts.inc({ outcome: r.ok ? 'delivered' : disabled ? 'disabled' : 'retry' });
    if (r.status !== null || r.latencyMs > 0) deps.metrics.webhookLatency.observe(r.latencyMs / 1000);
    if (disabled) {
      log.warn('webhook endpoint disabled after repeated failure', { job: WEBHOOK_TASK, attempts: attempt });
      const admins = await tx((c) => repo.adminEmails(c, endpointId));
      for (const a of admins)
        deps.mailer.sendInBackground(disabledEmail(deps, a.email, a.url, attempt, r.error), 'webhook_disabled');
      return;
    }
    if (!r.ok) return;
  }
}
