/**
 * Billing use cases behind /api/orgs/:orgId/billing: the overview (plan, seats, renewal,
 * usage), Stripe Checkout for a plan and seat count, and the Customer Portal. Stripe is
 * called only between tenant transactions, never while one holds a connection.
 */
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import { withTenant } from '../core/db/pool.ts';
import { AppError, badRequest, conflict, notFound } from '../core/errors.ts';
import * as repo from '../repositories/billing.ts';
import * as orgs from '../repositories/orgs.ts';
import * as audit from '../repositories/audit.ts';
import type { Role } from '../repositories/orgs.ts';
import {
  ENTITLED_STATUSES,
  RECORDING_SECONDS,
  planById,
  planByPrice,
  publicPlans,
  recordingLimitHours,
  usagePeriod,
} from './plans.ts';
import { callStripe, requireBilling, type Billing } from './stripe.ts';
import { requireAdmin, requireOwner, tenantScope } from '../policies.ts';

export interface BillingView {
  status: repo.SubscriptionStatus | 'none';
  plan: { id: string; name: string } | null;
  seats: { paid: number | null; used: number };
  renews_at: string | null;
  ends_at: string | null;
  has_billing_account: boolean;
  can_manage: boolean;
  usage: { period_start: string; period_end: string; recording_hours: { used: number; limit: number | null } };
  plans: ReturnType<typeof publicPlans>;
}

const scope = tenantScope;

const requireBillingOwner = (role: Role) => requireOwner(role, 'Only an owner can manage billing.');

/**
 * The org's billing overview (owners and admins).
 * @throws AppError 404 `billing_disabled`, 403 `admin_required`.
 */
export async function getBilling(
  deps: Deps,
  billingRt: Billing | undefined,
  user: SignedInUser,
  orgId: string,
  role: Role,
): Promise<BillingView> {
  const billing = requireBilling(billingRt);
  requireAdmin(role, 'Only owners and admins can see billing.');
  const now = deps.clock.now();
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const sub = await repo.currentSubscription(tx, orgId);
    const entitled = sub !== undefined && ENTITLED_STATUSES.has(sub.status);
    const plan = entitled
      ? (planByPrice(billing.config, sub.stripe_price_id) ??
        (sub.plan ? planById(billing.config, sub.plan) : undefined))
      : undefined;
    const period = usagePeriod(
      now,
      entitled ? sub.current_period_start : null,
      entitled ? sub.current_period_end : null,
    );
    const usedSeconds = await repo.usageTotal(tx, orgId, RECORDING_SECONDS, period.start, period.end);
    const periodEnd = entitled && sub.current_period_end ? sub.current_period_end.toISOString() : null;
    return {
      status: sub?.status ?? 'none',
      plan: plan ? { id: plan.id, name: plan.name } : null,
      seats: { paid: await repo.currentSeatLimit(tx), used: (await orgs.countMembers(tx, orgId)).count },
      renews_at: entitled && !sub.cancel_at_period_end ? periodEnd : null,
      ends_at: entitled && sub.cancel_at_period_end ? periodEnd : null,
      has_billing_account: (await repo.findCustomerId(tx, orgId)) !== undefined,
      can_manage: role === 'owner',
      usage: {
        period_start: period.start.toISOString(),
        period_end: period.end.toISOString(),
        recording_hours: {
          used: Math.round((usedSeconds / 3600) * 100) / 100,
          limit: recordingLimitHours(billing.config, plan),
        },
      },
      plans: publicPlans(billing.config),
    };
  });
}

/**
 * Starts Stripe Checkout for `seats` seats of `planId` (owners only). Creates the org's
 * Stripe customer first when it has none. Card data is entered on Stripe's page only.
 * @throws AppError 404 `billing_disabled`, 403 `owner_required`, 400 `unknown_plan`,
 * 409 `already_subscribed` (change plan or seats in the portal), 502 `stripe_unavailable`.
 */
export async function startCheckout(
  deps: Deps,
  billingRt: Billing | undefined,
  user: SignedInUser,
  orgId: string,
  role: Role,
  planId: string,
  seats: number,
): Promise<{ url: string }> {
  const billing = requireBilling(billingRt);
  requireBillingOwner(role);
  const plan = planById(billing.config, planId);
  if (!plan)
    throw badRequest(
      'unknown_plan',
      `No plan "${planId}"; choose one of: ${billing.config.plans.map((p) => p.id).join(', ')}.`,
    );
  const state = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const org = await orgs.findOrg(tx, orgId);
    if (!org) throw notFound('org_not_found', 'No such organization, or you are not a member.');
    const sub = await repo.currentSubscription(tx, orgId);
    return {
      orgName: org.name,
      customerId: await repo.findCustomerId(tx, orgId),
      subscribed: sub !== undefined && ENTITLED_STATUSES.has(sub.status),
    };
  });
  if (state.subscribed)
    throw conflict(
      'already_subscribed',
      'This organization already has a subscription; change its plan or seats with "Manage billing".',
    );
  let customerId = state.customerId;
  if (!customerId) {
    const customer = await callStripe('customers.create', () =>
      billing.stripe.customers.create(
        { name: state.orgName, email: user.email, metadata: { organization_id: orgId } },
        { idempotencyKey: `recorder-customer-${orgId}` },
      ),
    );
    // A concurrent checkout may have linked one first; the stored link wins.
    customerId = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
      await repo.insertCustomer(tx, orgId, customer.id);
      return (await repo.findCustomerId(tx, orgId)) ?? customer.id;
    });
  }
  const page = `${deps.config.publicUrl}/orgs/${orgId}`;
  const session = await callStripe('checkout.sessions.create', () =>
    billing.stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customerId,
      client_reference_id: orgId,
      line_items: [{ price: plan.stripePriceId, quantity: seats }],
      success_url: `${page}?checkout=success#billing`,
      cancel_url: `${page}?checkout=canceled#billing`,
      metadata: { organization_id: orgId, plan: plan.id },
      subscription_data: { metadata: { organization_id: orgId, plan: plan.id } },
    }),
  );
  if (!session.url)
    throw new AppError(502, 'stripe_unavailable', 'The payment provider did not return a checkout page.');
  await withTenant(deps.db.app, scope(orgId, user), (tx) =>
    audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'billing.checkout_started',
      details: { plan: plan.id, seats, checkout_session: session.id },
    }),
  );
  return { url: session.url };
}

/**
 * Opens Stripe's Customer Portal (card, invoices, plan and seat changes, cancellation) for
 * the org's customer (owners only).
 * @throws AppError 404 `billing_disabled`, 403 `owner_required`, 409 `no_billing_account`, 502 `stripe_unavailable`.
 */
export async function openPortal(
  deps: Deps,
  billingRt: Billing | undefined,
  user: SignedInUser,
  orgId: string,
  role: Role,
): Promise<{ url: string }> {
  const billing = requireBilling(billingRt);
  requireBillingOwner(role);
  const customerId = await withTenant(deps.db.app, scope(orgId, user), (tx) => repo.findCustomerId(tx, orgId));
  if (!customerId)
    throw conflict('no_billing_account', 'This organization has no billing account yet; choose a plan first.');
  const session = await callStripe('billingPortal.sessions.create', () =>
    billing.stripe.billingPortal.sessions.create({
      customer: customerId,
      return_url: `${deps.config.publicUrl}/orgs/${orgId}#billing`,
    }),
  );
  return { url: session.url };
}
