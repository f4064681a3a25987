/**
 * The plans catalogue (from BILLING_PLANS) and the rules that turn a subscription into
 * what an org is entitled to: a plan, seats, a usage period and limits.
 */
import type { BillingConfig, BillingPlan } from '../core/config.ts';

/**
 * Subscription statuses that keep an org on its paid plan (past_due: Stripe still retries).
 * Mirrors app.billing_entitled().
 */
export const ENTITLED_STATUSES: ReadonlySet<string> = new Set(['active', 'trialing', 'past_due']);

/** The usage metric for recorded audio, in seconds. */
export const RECORDING_SECONDS = 'recording_seconds';

/** The plan with this catalogue id, or undefined. */
export function planById(billing: BillingConfig, id: string): BillingPlan | undefined {
  return billing.plans.find((p) => p.id === id);
}

/** The plan sold at this Stripe price, or undefined (a price this deployment does not sell). */
export function planByPrice(billing: BillingConfig, priceId: string | null | undefined): BillingPlan | undefined {
  return priceId ? billing.plans.find((p) => p.stripePriceId === priceId) : undefined;
}

/** The catalogue as shown to owners. */
export function publicPlans(
  billing: BillingConfig,
): { id: string; name: string; recording_hours_per_month: number | null }[] {
  return billing.plans.map((p) => ({ id: p.id, name: p.name, recording_hours_per_month: p.recordingHoursPerMonth }));
}

/**
 * The usage period: the subscription's current billing period when it has one, else the
 * calendar month (UTC) around `now`.
 */
export function usagePeriod(now: Date, periodStart: Date | null, periodEnd: Date | null): { start: Date; end: Date } {
  if (periodStart && periodEnd && periodStart <= now && now < periodEnd) return { start: periodStart, end: periodEnd };
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end };
}

/** Monthly recording hours allowed: the plan's limit (null: unlimited), or the free allowance without a plan. */
export function recordingLimitHours(billing: BillingConfig, plan: BillingPlan | undefined): number | null {
  return plan ? plan.recordingHoursPerMonth : billing.freeRecordingHours;
}
