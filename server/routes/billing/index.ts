/**
 * Billing endpoints: the org's overview, Stripe Checkout and Customer Portal sessions
 * (owners), and the Stripe webhook (signature-verified raw body, no session).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { bodyOf } from '../../middleware/core.ts';
import { parse } from '../../middleware/validate.ts';
import { orgMember, inOrgWithRole } from '../../middleware/auth.ts';
import * as svc from '../../billing/service.ts';
import { handleStripeWebhook } from '../../billing/webhooks.ts';
import { STRIPE_WEBHOOK_PATH, type Billing } from '../../billing/stripe.ts';
import { checkoutBody, portalBody } from './schema.ts';

/**
 * Mounts the billing routes. `billing` is undefined when billing is off: every endpoint
 * then answers 404 `billing_disabled` and nothing reaches Stripe.
 * createApp keeps the webhook path's request body raw (its signature covers the bytes).
 */
export function billingRoutes(deps: Deps, billing: Billing | undefined): Router<AppState> {
  const r = new Router<AppState>();
  const member = orgMember(deps);

  r.get('/api/orgs/:orgId/billing', member, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = await svc.getBilling(deps, billing, ...inOrgWithRole(ctx));
  });

  r.post('/api/orgs/:orgId/billing/checkout', member, async (ctx) => {
    const { plan, seats } = parse(checkoutBody, bodyOf(ctx));
    ctx.body = await svc.startCheckout(deps, billing, ...inOrgWithRole(ctx), plan, seats);
  });

  r.post('/api/orgs/:orgId/billing/portal', member, async (ctx) => {
    parse(portalBody, bodyOf(ctx));
    ctx.body = await svc.openPortal(deps, billing, ...inOrgWithRole(ctx));
  });

  r.post(STRIPE_WEBHOOK_PATH, async (ctx) => {
    const raw = (ctx.request as Koa.Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
    ctx.body = await handleStripeWebhook(deps, billing, raw, ctx.get('stripe-signature') || undefined);
  });

  return r;
}
