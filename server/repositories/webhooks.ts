/**
 * SQL for webhooks. Endpoints, the delivery log and test events are tenant tables the
 * request path reaches under RLS (owners and admins); the job worker delivers through the
 * security-definer functions of sql/120_webhooks.sql.
 */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { WrappedKey } from '../../lib/keys/KeyProvider.ts';
import type { RotationQuery } from './lifecycle.ts';

export interface EndpointRow {
  id: string;
  organization_id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: 'failing' | 'admin' | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface EndpointKeyRow {
  wrapped_key: unknown;
  secret_sealed: Buffer;
}

const COLS =
  'id, organization_id, url, events, enabled, disabled_reason, previous_secret_expires_at, created_at, updated_at';

export function insertEndpoint(
  db: Queryable,
  e: {
    id: string;
    orgId: string;
    url: string;
    events: readonly string[];
    wrappedKey: WrappedKey;
    secretSealed: Buffer;
    createdBy: string | null;
  },
): Promise<EndpointRow> {
  return one<EndpointRow>(
    db,
    `insert into webhook_endpoints (id, organization_id, url, events, wrapped_key, secret_sealed, created_by)
     values ($1::uuid, $2::uuid, $3::text, $4::text[], $5::jsonb, $6::bytea, $7::uuid) returning ${COLS}`,
    [e.id, e.orgId, e.url, e.events, JSON.stringify(e.wrappedKey), e.secretSealed, e.createdBy],
  );
}

export function listEndpoints(db: Queryable, orgId: string): Promise<EndpointRow[]> {
  return many<EndpointRow>(
    db,
    `select ${COLS} from webhook_endpoints where organization_id = $1::uuid order by created_at, id`,
    [orgId],
  );
}

export function findEndpoint(db: Queryable, orgId: string, id: string): Promise<EndpointRow | undefined> {
  return maybeOne<EndpointRow>(
    db,
    `select ${COLS} from webhook_endpoints where organization_id = $1::uuid and id = $2::uuid`,
    [orgId, id],
  );
}

/** The wrapped key and sealed current secret (to seal a new secret under the same key). */
export function findEndpointKey(db: Queryable, orgId: string, id: string): Promise<EndpointKeyRow | undefined> {
  return maybeOne<EndpointKeyRow>(
    db,
    `select wrapped_key, secret_sealed from webhook_endpoints where organization_id = $1::uuid and id = $2::uuid`,
    [orgId, id],
  );
}

/** Changes what is given; `enabled` false by hand records the reason `admin`. */
export function updateEndpoint(
  db: Queryable,
  orgId: string,
  id: string,
  p: { url?: string; events?: readonly string[]; enabled?: boolean },
): Promise<EndpointRow | undefined> {
  return maybeOne<EndpointRow>(
    db,
    `update webhook_endpoints
        set url = coalesce($3::text, url), events = coalesce($4::text[], events),
            enabled = coalesce($5::boolean, enabled),
            disabled_reason = case when $5::boolean is null then disabled_reason when $5::boolean then null
                                   when enabled then 'admin' else disabled_reason end,
            updated_at = now()
      where organization_id = $1::uuid and id = $2::uuid returning ${COLS}`,
    [orgId, id, p.url ?? null, p.events ?? null, p.enabled ?? null],
  );
}

export function deleteEndpoint(db: Queryable, orgId: string, id: string): Promise<number> {
  return exec(db, `delete from webhook_endpoints where organization_id = $1::uuid and id = $2::uuid`, [orgId, id]);
}

/** The new secret signs from now on; the old one beside it for `overlapS` seconds. */
export function rotateSecret(
  db: Queryable,
  orgId: string,
  id: string,
  sealed: Buffer,
  overlapS: number,
): Promise<EndpointRow | undefined> {
  return maybeOne<EndpointRow>(
    db,
    `update webhook_endpoints
        set previous_secret_sealed = secret_sealed, secret_sealed = $3::bytea,
            previous_secret_expires_at = now() + make_interval(secs => $4::int), updated_at = now()
      where organization_id = $1::uuid and id = $2::uuid returning ${COLS}`,
    [orgId, id, sealed, overlapS],
  );
}

/** Queues a `webhook.test` event for one endpoint (the insert trigger wakes its job). */
export function insertTestDelivery(
  db: Queryable,
  orgId: string,
  endpointId: string,
  data: Record<string, unknown>,
): Promise<{ id: string; event_id: string }> {
  return one<{ id: string; event_id: string }>(
    db,
    `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload)
     values ($1::uuid, $2::uuid, 'webhook.test', $3::jsonb) returning id::text, event_id`,
    [orgId, endpointId, JSON.stringify(data)],
  );
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  state: 'pending' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
  last_status: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
}

/** The endpoint's deliveries, newest first, before the delivery id `before` when given. */
export function listDeliveries(
  db: Queryable,
  orgId: string,
  endpointId: string,
  limit: number,
  before: string | null,
): Promise<DeliveryRow[]> {
  return many<DeliveryRow>(
    db,
    `select id::text, event_id, event_type, state, attempts, created_at, next_attempt_at, finished_at,
            last_status, last_latency_ms, last_error
       from webhook_deliveries
      where organization_id = $1::uuid and endpoint_id = $2::uuid and ($4::bigint is null or id < $4::bigint)
      order by id desc limit $3::int`,
    [orgId, endpointId, limit, before],
  );
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: Date;
  status: number | null;
  latency_ms: number;
  error: string | null;
}

export function listAttempts(db: Queryable, orgId: string, deliveryIds: readonly string[]): Promise<AttemptRow[]> {
  return many<AttemptRow>(
    db,
    `select delivery_id::text, attempt, at, status, latency_ms, error from webhook_attempts
      where organization_id = $1::uuid and delivery_id = any($2::bigint[]) order by delivery_id, attempt`,
    [orgId, deliveryIds],
  );
}

// ---- The job worker (recorder_jobs, for the org its job names) ----

export interface NextDeliveryRow {
  delivery_id: string;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
  attempts: number;
  url: string;
  wrapped_key: unknown;
  secret_sealed: Buffer;
  previous_secret_sealed: Buffer | null;
}

/** The endpoint's head delivery if it is due (else its job is rescheduled for then). */
export function nextDelivery(db: Queryable, endpointId: string): Promise<NextDeliveryRow | undefined> {
  return maybeOne<NextDeliveryRow>(
    db,
    `select delivery_id::text, event_id, event_type, payload, created_at, attempts, url, wrapped_key, secret_sealed,
            previous_secret_sealed
       from app.webhook_next($1::uuid)`,
    [endpointId],
  );
}

/** Records one attempt; true when it was the last and the endpoint is now disabled. */
export async function recordAttempt(
  db: Queryable,
  a: {
    deliveryId: string;
    attempt: number;
    status: number | null;
    latencyMs: number;
    error: string | null;
    ok: boolean;
    retryMs: number;
    maxAttempts: number;
  },
): Promise<boolean> {
  const r = await one<{ disabled: boolean }>(
    db,
    `select app.webhook_record_attempt($1::bigint, $2::int, $3::int, $4::int, $5::text, $6::boolean, $7::int, $8::int) as disabled`,
    [a.deliveryId, a.attempt, a.status, a.latencyMs, a.error, a.ok, a.retryMs, a.maxAttempts],
  );
  return r.disabled;
}

/** The owners and admins of the endpoint's org, with its URL. */
export function adminEmails(db: Queryable, endpointId: string): Promise<{ email: string; url: string }[]> {
  return many<{ email: string; url: string }>(db, `select email, url from app.webhook_admin_emails($1::uuid)`, [
    endpointId,
  ]);
}

/** Owner connection: endpoints with pending deliveries and no job get one. */
export async function reconcileJobs(db: Queryable): Promise<number> {
  const r = await one<{ n: number }>(db, `select app.webhook_reconcile_jobs() as n`);
  return r.n;
}

/** Sweep connection: removes finished deliveries older than 30 days; returns how many. */
export async function pruneLog(db: Queryable): Promise<number> {
  const r = await one<{ n: number }>(db, `select app.webhook_prune_log() as n`);
  return r.n;
}

// ---- Key rotation (owner connection, `npm run keys:rotate`) ----

export interface WebhookKeyRow {
  endpoint_id: string;
  organization_id: string;
  wrapped_key: unknown;
}

/** Endpoints whose data key is to be re-wrapped, in id order after `after`. */
export function rotationBatch(db: Queryable, o: RotationQuery): Promise<WebhookKeyRow[]> {
  return many<WebhookKeyRow>(
    db,
    `select endpoint_id, organization_id, wrapped_key
       from app.webhook_rotation_batch($1::uuid, $2::int, $3::uuid, $4::text, $5::text, $6::text)`,
    [o.after, o.limit, o.org, o.provider, o.targetKey, o.fromKey],
  );
}

/** Stores a re-wrapped key if the endpoint still holds `old` (compare-and-swap). */
export async function rotationStore(db: Queryable, endpointId: string, old: unknown, next: unknown): Promise<boolean> {
  const r = await one<{ ok: boolean }>(db, `select app.webhook_rotation_store($1::uuid, $2::jsonb, $3::jsonb) as ok`, [
    endpointId,
    JSON.stringify(old),
    JSON.stringify(next),
  ]);
  return r.ok;
}

/** Endpoint data keys per (provider, key id). */
export function keyUsage(db: Queryable): Promise<{ provider: string; key_id: string; endpoints: string }[]> {
  return many(db, `select provider, key_id, endpoints::text from app.webhook_key_usage()`);
}
