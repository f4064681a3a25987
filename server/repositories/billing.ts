/**
 * SQL for billing. Tenant tables (billing_customers, subscriptions, usage_events) are read
 * inside withTenant; the webhook writes only through the app.billing_* security-definer
 * functions of sql/095_billing.sql; the deployment settings row through the owner pool.
 */
import { exec, maybeOne, one, type Queryable } from '../core/db/pool.ts';

export type SubscriptionStatus =
  'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';

export interface SubscriptionRow {
  stripe_subscription_id: string;
  plan: string | null;
  stripe_price_id: string | null;
  seats: number;
  status: SubscriptionStatus;
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
}

/** Start-up (owner pool): whether billing is on and the seats of an org without a subscription. */
export async function saveSettings(db: Queryable, enabled: boolean, freeSeats: number): Promise<void> {
  await exec(
    db,
    `update billing_settings set enabled = $1::boolean, free_seats = $2::int, updated_at = now() where id`,
    [enabled, freeSeats],
  );
}

/** The org's Stripe customer id, or undefined (admins only, by RLS). */
export async function findCustomerId(db: Queryable, orgId: string): Promise<string | undefined> {
  const row = await maybeOne<{ stripe_customer_id: string }>(
    db,
    `select stripe_customer_id from billing_customers where organization_id = $1::uuid`,
    [orgId],
  );
  return row?.stripe_customer_id;
}

/** Links a Stripe customer to the org (owners only, by RLS); keeps an existing link. */
export async function insertCustomer(db: Queryable, orgId: string, customerId: string): Promise<void> {
  await exec(
    db,
    `insert into billing_customers (organization_id, stripe_customer_id)
     values ($1::uuid, $2::text) on conflict do nothing`,
    [orgId, customerId],
  );
}

/** The subscription that decides the org's plan (same rule as the seat check), or undefined. */
export function currentSubscription(db: Queryable, orgId: string): Promise<SubscriptionRow | undefined> {
  return maybeOne<SubscriptionRow>(
    db,
    `select stripe_subscription_id, plan, stripe_price_id, seats, status,
            current_period_start, current_period_end, cancel_at_period_end
       from app.billing_current_subscription($1::uuid) where stripe_subscription_id is not null`,
    [orgId],
  );
}

/** Seats the current org may fill (NULL: no limit), as the database's seat check computes it. */
export async function currentSeatLimit(db: Queryable): Promise<number | null> {
  const row = await one<{ seat_limit: number | null }>(db, `select app.current_seat_limit() as seat_limit`);
  return row.seat_limit;
}

/** Sum of a metric's usage events in [from, to). */
export async function usageTotal(db: Queryable, orgId: string, metric: string, from: Date, to: Date): Promise<number> {
  const row = await one<{ total: string }>(
    db,
    `select coalesce(sum(quantity), 0)::text as total from usage_events
      where organization_id = $1::uuid and metric = $2::text
        and occurred_at >= $3::timestamptz and occurred_at < $4::timestamptz`,
    [orgId, metric, from, to],
  );
  return Number(row.total);
}

/** Records a usage event; a repeated (metric, source id) is ignored. Returns whether it was new. */
export async function insertUsage(
  db: Queryable,
  e: { orgId: string; metric: string; quantity: number; occurredAt: Date; sourceId: string | null },
): Promise<boolean> {
  const n = await exec(
    db,
    `insert into usage_events (organization_id, metric, quantity, occurred_at, source_id)
     values ($1::uuid, $2::text, $3::bigint, $4::timestamptz, $5::text) on conflict do nothing`,
    [e.orgId, e.metric, e.quantity, e.occurredAt, e.sourceId],
  );
  return n === 1;
}

// --- Webhook admin path (security-definer functions; no tenant set) ---

/** Records a Stripe event id; false when it was processed before. */
export async function claimEvent(db: Queryable, id: string, type: string, created: Date): Promise<boolean> {
  const row = await one<{ claimed: boolean }>(
    db,
    `select app.billing_claim_event($1::text, $2::text, $3::timestamptz) as claimed`,
    [id, type, created],
  );
  return row.claimed;
}

/** A completed checkout: links customer and org, audits. Returns the org id, or null when unknown. */
export async function checkoutCompleted(
  db: Queryable,
  c: { orgHint: string | null; customerId: string; sessionId: string; subscriptionId: string | null; eventId: string },
): Promise<string | null> {
  const row = await one<{ org: string | null }>(
    db,
    `select app.billing_checkout_completed($1::uuid, $2::text, $3::text, $4::text, $5::text) as org`,
    [c.orgHint, c.customerId, c.sessionId, c.subscriptionId, c.eventId],
  );
  return row.org;
}

export interface SubscriptionUpdate {
  subscriptionId: string;
  customerId: string;
  orgHint: string | null;
  plan: string | null;
  priceId: string | null;
  seats: number;
  status: SubscriptionStatus;
  periodStart: Date | null;
  periodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  eventId: string;
  eventType: string;
  eventCreated: Date;
  eventRank: number;
}

/** Applies a subscription snapshot unless newer state is stored: 'applied', 'stale' or 'unknown_org'. */
export async function applySubscription(
  db: Queryable,
  s: SubscriptionUpdate,
): Promise<'applied' | 'stale' | 'unknown_org'> {
  const row = await one<{ outcome: 'applied' | 'stale' | 'unknown_org' }>(
    db,
    `select app.billing_apply_subscription($1::text, $2::text, $3::uuid, $4::text, $5::text, $6::int, $7::text,
            $8::timestamptz, $9::timestamptz, $10::boolean, $11::text, $12::text,
            $13::timestamptz, $14::int) as outcome`,
    [
      s.subscriptionId,
      s.customerId,
      s.orgHint,
      s.plan,
      s.priceId,
      s.seats,
      s.status,
      s.periodStart,
      s.periodEnd,
      s.cancelAtPeriodEnd,
      s.eventId,
      s.eventType,
      s.eventCreated,
      s.eventRank,
    ],
  );
  return row.outcome;
}

export interface InvoiceRecipients {
  organization_id: string;
  organization_name: string;
  owner_emails: string[];
}

/** Audits an invoice outcome; returns the org and its owners' addresses, or undefined for an unknown customer. */
export function invoiceEvent(
  db: Queryable,
  e: {
    customerId: string;
    action: 'billing.invoice_paid' | 'billing.payment_failed';
    invoiceId: string;
    amount: number;
    currency: string;
    eventId: string;
  },
): Promise<InvoiceRecipients | undefined> {
  return maybeOne<InvoiceRecipients>(
    db,
    `select organization_id, organization_name, owner_emails
       from app.billing_invoice_event($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::text)`,
    [e.customerId, e.action, e.invoiceId, e.amount, e.currency, e.eventId],
  );
}
