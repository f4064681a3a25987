/**
 * The Stripe webhook: verifies the signature over the raw bytes, processes each event id
 * once (a replay changes nothing), never lets an older event overwrite newer subscription
 * state, and acknowledges event types it does not handle. Mail goes out after commit.
 */
import Stripe from 'stripe';
import { z } from 'zod';
import type { Deps } from '../core/context.ts';
import { withUser } from '../core/db/pool.ts';
import { badRequest } from '../core/errors.ts';
import { log } from '../core/logger.ts';
import type { MailMessage } from '../core/mail/mailer.ts';
import * as repo from '../repositories/billing.ts';
import { paymentFailedEmail, receiptEmail } from './emails.ts';
import { planByPrice } from './plans.ts';
import { requireBilling, type Billing } from './stripe.ts';

/** How old a signed delivery may be, in seconds (Stripe's default tolerance). */
const TOLERANCE_S = 300;

/** Event order within one second: a subscription is created before it is updated, and deleted last. */
const SUBSCRIPTION_EVENTS = new Map<string, number>([
  ['customer.subscription.created', 0],
  ['customer.subscription.updated', 1],
  ['customer.subscription.paused', 1],
  ['customer.subscription.resumed', 1],
  ['customer.subscription.deleted', 2],
]);
const INVOICE_EVENTS = new Map<string, 'billing.invoice_paid' | 'billing.payment_failed'>([
  ['invoice.paid', 'billing.invoice_paid'],
  ['invoice.payment_failed', 'billing.payment_failed'],
]);

const id = z.string().min(3).max(255);
const expandable = z.union([id, z.object({ id })]).transform((v) => (typeof v === 'string' ? v : v.id));
const orgHint = (metadata: Record<string, string> | null | undefined): string | null => {
  const r = z.uuid().safeParse(metadata?.organization_id);
  return r.success ? r.data : null;
};

const envelope = z.object({
  id,
  object: z.literal('event'),
  type: z.string().min(1).max(100),
  created: z.number().int().positive(),
  data: z.object({ object: z.unknown() }),
});

const metadata = z.record(z.string(), z.string()).nullish();
const checkoutSession = z.object({
  id,
  object: z.literal('checkout.session'),
  mode: z.string(),
  client_reference_id: z.string().nullish(),
  customer: expandable.nullish(),
  subscription: expandable.nullish(),
  metadata,
});
const period = { current_period_start: z.number().int().nullish(), current_period_end: z.number().int().nullish() };
const subscription = z.object({
  id,
  object: z.literal('subscription'),
  customer: expandable,
  status: z.enum([
    'incomplete',
    'incomplete_expired',
    'trialing',
    'active',
    'past_due',
    'canceled',
    'unpaid',
    'paused',
  ]),
  cancel_at_period_end: z.boolean().default(false),
  metadata,
  // Older API versions carry the period on the subscription, newer ones on each item.
  ...period,
  items: z.object({
    data: z.array(z.object({ quantity: z.number().int().min(0).nullish(), price: z.object({ id }), ...period })).min(1),
  }),
});
const invoice = z.object({
  id,
  object: z.literal('invoice'),
  customer: expandable,
  amount_paid: z.number().int().min(0),
  amount_due: z.number().int().min(0),
  currency: z.string().regex(/^[a-z]{3}$/),
  number: z.string().max(100).nullish(),
  hosted_invoice_url: z.url({ protocol: /^https?$/ }).nullish(),
});

/** What the endpoint answers (200). */
export interface WebhookResult {
  received: true;
  /** processed; duplicate (id seen before); stale (older than the stored state); ignored (not ours / not handled). */
  outcome: 'processed' | 'duplicate' | 'stale' | 'ignored';
}

function parseObject<S extends z.ZodType>(schema: S, value: unknown, type: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest('invalid_event', `The ${type} event does not have the expected shape.`);
  return r.data;
}

const date = (s: number | null | undefined): Date | null => (typeof s === 'number' ? new Date(s * 1000) : null);

/**
 * Verifies and processes one webhook delivery.
 * @throws AppError 404 `billing_disabled`, 400 `invalid_signature` (missing, wrong, stale or
 * tampered), 400 `invalid_payload` (not JSON), 400 `invalid_event` (a handled type with a
 * shape we cannot read; nothing is recorded, so Stripe's retry can succeed after a fix).
 */
export async function handleStripeWebhook(
  deps: Deps,
  billingRt: Billing | undefined,
  rawBody: Buffer,
  signature: string | undefined,
): Promise<WebhookResult> {
  const billing = requireBilling(billingRt);
  let verified: unknown;
  try {
    verified = Stripe.webhooks.constructEvent(
      rawBody,
      signature ?? '',
      billing.config.webhookSecret,
      TOLERANCE_S,
      undefined,
      deps.clock.now().getTime(),
    );
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError)
      throw badRequest('invalid_signature', 'The Stripe signature is missing, wrong or too old.');
    throw badRequest('invalid_payload', 'The webhook body is not a Stripe event.');
  }
  const ev = envelope.safeParse(verified);
  if (!ev.success) throw badRequest('invalid_payload', 'The webhook body is not a Stripe event.');
  const event = ev.data;
  const rank = SUBSCRIPTION_EVENTS.get(event.type);
  const invoiceAction = INVOICE_EVENTS.get(event.type);
  const isCheckout = event.type === 'checkout.session.completed';
  if (rank === undefined && !invoiceAction && !isCheckout) {
    log.info('stripe event ignored', { event: event.type });
    return { received: true, outcome: 'ignored' };
  }
  // Parse before the transaction: a shape we cannot read is refused without recording the id.
  const checkout = isCheckout ? parseObject(checkoutSession, event.data.object, event.type) : undefined;
  const sub = rank !== undefined ? parseObject(subscription, event.data.object, event.type) : undefined;
  const inv = invoiceAction ? parseObject(invoice, event.data.object, event.type) : undefined;
  const created = new Date(event.created * 1000);

  const outbox: MailMessage[] = [];
  const outcome = await withUser(deps.db.sweep, null, async (tx) => {
    if (!(await repo.claimEvent(tx, event.id, event.type, created))) return 'duplicate' as const;
    if (checkout) {
      if (checkout.mode !== 'subscription' || !checkout.customer) return 'ignored' as const;
      const hint = orgHint({ organization_id: checkout.client_reference_id ?? '' }) ?? orgHint(checkout.metadata);
      const org = await repo.checkoutCompleted(tx, {
        orgHint: hint,
        customerId: checkout.customer,
        sessionId: checkout.id,
        subscriptionId: checkout.subscription ?? null,
        eventId: event.id,
      });
      return org ? ('processed' as const) : ('ignored' as const);
    }
    if (sub && rank !== undefined) {
      const item = sub.items.data.find((i) => planByPrice(billing.config, i.price.id)) ?? sub.items.data[0];
      const plan = planByPrice(billing.config, item?.price.id);
      const result = await repo.applySubscription(tx, {
        subscriptionId: sub.id,
        customerId: sub.customer,
        orgHint: orgHint(sub.metadata),
        plan: plan?.id ?? null,
        priceId: item?.price.id ?? null,
        seats: item?.quantity ?? 1,
        status: sub.status,
        periodStart: date(sub.current_period_start ?? item?.current_period_start),
        periodEnd: date(sub.current_period_end ?? item?.current_period_end),
        cancelAtPeriodEnd: sub.cancel_at_period_end,
        eventId: event.id,
        eventType: event.type,
        eventCreated: created,
        eventRank: rank,
      });
      if (result === 'unknown_org') log.warn('stripe subscription for an unknown customer', { event: event.type });
      return result === 'applied'
        ? ('processed' as const)
        : result === 'stale'
          ? ('stale' as const)
          : ('ignored' as const);
    }
    if (inv && invoiceAction) {
      const amount = invoiceAction === 'billing.invoice_paid' ? inv.amount_paid : inv.amount_due;
      const org = await repo.invoiceEvent(tx, {
        customerId: inv.customer,
        action: invoiceAction,
        invoiceId: inv.id,
        amount,
        currency: inv.currency,
        eventId: event.id,
      });
      if (!org) return 'ignored' as const;
      const facts = {
        orgId: org.organization_id,
        orgName: org.organization_name,
        amount,
        currency: inv.currency,
        number: inv.number ?? null,
        hostedInvoiceUrl: inv.hosted_invoice_url ?? null,
      };
      const make = invoiceAction === 'billing.invoice_paid' ? receiptEmail : paymentFailedEmail;
      for (const to of org.owner_emails) outbox.push(make(deps.config, to, facts));
      return 'processed' as const;
    }
    return 'ignored' as const;
  });
  // After commit: no SMTP round trip while a transaction holds a connection.
  for (const m of outbox)
    deps.mailer.sendInBackground(
      m,
      invoiceAction === 'billing.invoice_paid' ? 'billing_receipt' : 'billing_payment_failed',
    );
  log.info('stripe event', { event: event.type, reason: outcome });
  return { received: true, outcome };
}
