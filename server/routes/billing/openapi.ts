/** The OpenAPI entries of billing (routes/openapi/registry.ts). */
import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/registry.ts';
import { STRIPE_WEBHOOK_PATH } from '../../billing/stripe.ts';
import { checkoutBody, portalBody } from './schema.ts';

const billing = z.object({
  status: z.string(),
  plan: z.object({ id: z.string(), name: z.string() }).nullable(),
  seats: z.object({ paid: z.number().int().nullable(), used: z.number().int() }),
  renews_at: isoTime.nullable(),
  ends_at: isoTime.nullable(),
  has_billing_account: z.boolean(),
  can_manage: z.boolean(),
  usage: z.object({
    period_start: isoTime,
    period_end: isoTime,
    recording_hours: z.object({ used: z.number(), limit: z.number().nullable() }),
  }),
  plans: z.array(z.object({ id: z.string(), name: z.string(), recording_hours_per_month: z.number().nullable() })),
});
const redirect = z.object({ url: z.string() });

export const billingDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/orgs/:orgId/billing',
    tag: 'billing',
    summary: 'Subscription, seats and usage (404 billing_disabled when billing is off)',
    auth: 'org',
    roles: ['owner', 'admin'],
    responses: { 200: { description: 'Billing', schema: billing } },
    errors: { 404: ['billing_disabled'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/billing/checkout',
    tag: 'billing',
    summary: 'A Stripe Checkout page for a plan and seat count',
    auth: 'org',
    roles: ['owner'],
    body: checkoutBody,
    responses: { 200: { description: 'Where to send the browser', schema: redirect } },
    errors: { 400: ['unknown_plan'], 404: ['billing_disabled'], 502: ['stripe_unavailable'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/billing/portal',
    tag: 'billing',
    summary: 'A Stripe Customer Portal page',
    auth: 'org',
    roles: ['owner'],
    body: portalBody,
    responses: { 200: { description: 'Where to send the browser', schema: redirect } },
    errors: { 404: ['billing_disabled'], 409: ['no_billing_account'], 502: ['stripe_unavailable'] },
  },
  {
    method: 'post',
    path: STRIPE_WEBHOOK_PATH,
    tag: 'billing',
    summary: 'Stripe webhooks (signed; applied once per event id)',
    auth: 'none',
    responses: { 200: { description: 'Received', schema: z.object({}).loose() } },
    errors: { 400: ['invalid_signature', 'invalid_payload'], 404: ['billing_disabled'] },
  },
];
