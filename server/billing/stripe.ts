/**
 * The Stripe client and the billing runtime built at start-up. With billing off (no
 * STRIPE_SECRET_KEY) no client exists at all, so no code path can reach Stripe.
 */
import Stripe from 'stripe';
import type { BillingConfig } from '../core/config.ts';
import type { Deps } from '../core/context.ts';
import { AppError, notFound } from '../core/errors.ts';
import { log, errorFields } from '../core/logger.ts';
import * as repo from '../repositories/billing.ts';
import { outsideTransaction } from '../core/db/pool.ts';

/** What billing needs beyond Deps; exists only while billing is on. */
export interface Billing {
  readonly config: BillingConfig;
  readonly stripe: Stripe;
}

/** Where Stripe's webhook posts (raw body kept for signature checks). */
export const STRIPE_WEBHOOK_PATH = '/api/webhooks/stripe';

/**
 * A Stripe client for the configured key; STRIPE_API_URL (optional) points it at another
 * host (a proxy, or the tests' loopback server). Retries twice, 20 s timeout, no telemetry.
 */
export function createStripeClient(billing: BillingConfig): Stripe {
  const opts: Stripe.StripeConfig = {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    appInfo: { name: 'recorder' },
  };
  if (billing.apiUrl) {
    const u = new URL(billing.apiUrl);
    opts.protocol = u.protocol === 'http:' ? 'http' : 'https';
    opts.host = u.hostname;
    opts.port = u.port || (u.protocol === 'http:' ? 80 : 443);
  }
  return new Stripe(billing.stripeSecretKey, opts);
}

/**
 * Start-up: writes whether billing is on (and the free seats) where the database's seat
 * check reads it, and builds the Stripe client when billing is on. Every API process of a
 * deployment must share the billing configuration (the last one started wins).
 * @returns the billing runtime, or undefined when billing is off.
 */
export async function startBilling(deps: Deps): Promise<Billing | undefined> {
  const cfg = deps.config.billing;
  await repo.saveSettings(deps.db.owner, cfg !== undefined, cfg?.freeSeats ?? 1);
  if (!cfg) return undefined;
  log.info('billing is on', {
    count: cfg.plans.length,
    mode: cfg.stripeSecretKey.includes('_live_') ? 'live' : 'test',
  });
  return { config: cfg, stripe: createStripeClient(cfg) };
}

/** The billing runtime, or 404 `billing_disabled`. */
export function requireBilling(billing: Billing | undefined): Billing {
  if (!billing) throw notFound('billing_disabled', 'Billing is not enabled on this deployment.');
  return billing;
}

/**
 * Runs one Stripe API call. Stripe's own refusals and network failures become 502
 * `stripe_unavailable`; the error is logged by name only.
 */
export async function callStripe<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    // No pooled connection waits on Stripe: the request's transaction is committed first.
    return await outsideTransaction(fn);
  } catch (err) {
    log.error('stripe call failed', {
      event: what,
      ...errorFields(err),
      status: err instanceof Stripe.errors.StripeError ? err.statusCode : undefined,
    });
    throw new AppError(502, 'stripe_unavailable', 'The payment provider could not be reached; try again in a moment.');
  }
}
