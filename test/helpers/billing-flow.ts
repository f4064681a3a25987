/**
 * Steps the billing tests share: a product with billing on against the Stripe fake, orgs
 * with owners and members joined through the real invitation email, signed webhook
 * deliveries and checkout.
 */
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './server.ts';
import { startStripeFake, signed, stripeEvent, subscriptionObject, type StripeFake } from './stripe-fake.ts';
import type { HttpClient, Res } from './http.ts';

export const STRIPE_KEY = 'sk_test_recorder0123456789';
export const WEBHOOK_SECRET = 'whsec_recorder0123456789abcdef';
export const PLANS = [
  { id: 'team', name: 'Team', price: 'price_team', recording_hours: 100 },
  { id: 'studio', name: 'Studio', price: 'price_studio', recording_hours: null },
];

export interface BillingBody {
  status: string;
  plan: { id: string; name: string } | null;
  seats: { paid: number | null; used: number };
  renews_at: string | null;
  ends_at: string | null;
  has_billing_account: boolean;
  can_manage: boolean;
  usage: { period_start: string; period_end: string; recording_hours: { used: number; limit: number | null } };
  plans: { id: string; name: string }[];
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Asserts a `{error: {code, message}}` answer. */
export function assertError(res: Res, status: number, code: string, what = ''): void {
  const label = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, label);
  const err = (res.body as unknown as ErrorBody).error;
  assert.equal(err?.code, code, label);
  assert.equal(typeof err?.message, 'string', label);
}

/**
 * The product with billing on (Stripe at the fake) or, with `billing: false`, off but with the fake still listening.
 */
export async function startBilled(
  opts: { billing?: boolean; env?: Record<string, string> } = {},
): Promise<{ ts: TestServer; stripe: StripeFake }> {
  const stripe = await startStripeFake(STRIPE_KEY);
  const env: Record<string, string> = { STRIPE_API_URL: stripe.url, ...(opts.env ?? {}) };
  if (opts.billing !== false)
    Object.assign(env, {
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      BILLING_PLANS: JSON.stringify(PLANS),
      BILLING_FREE_SEATS: '1',
    });
  const ts = await startTestServer(env);
  return { ts, stripe };
}

let n = 0;
/** A unique address for one test. */
export const freshEmail = (tag: string) =>
  `${tag}-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 8)}@example.com`;

export interface Person {
  c: HttpClient;
  email: string;
}

/** Signs a new owner in and creates an org. */
export async function newOrg(ts: TestServer, tag: string): Promise<{ owner: Person; orgId: string }> {
  const email = freshEmail(tag);
  const c = await ts.signIn(email);
  const res = await c.post<{ id: string }>('/api/orgs', { name: `Org ${tag}` });
  assert.equal(res.status, 201);
  return { owner: { c, email }, orgId: res.body.id };
}

/** Invites `tag`'s new address, signs them in and accepts through the emailed link; returns the accept answer. */
export async function join(
  ts: TestServer,
  owner: Person,
  orgId: string,
  tag: string,
  role = 'member',
): Promise<{ person: Person; res: Res }> {
  const email = freshEmail(tag);
  const since = ts.inbox.messages.length;
  const inv = await owner.c.post(`/api/orgs/${orgId}/invitations`, { email, role });
  assert.equal(inv.status, 201, inv.text);
  const mail = await ts.inbox.waitFor(email, { since, subject: /invited/ });
  const token = /#token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
  assert.ok(token, 'no invitation token in the email');
  const c = await ts.signIn(email);
  const res = await c.post('/api/invitations/accept', { token });
  return { person: { c, email }, res };
}

/** Posts a signed delivery of `event` (optionally signed differently from what is sent). */
export async function deliver(
  ts: TestServer,
  event: Record<string, unknown>,
  opts: { secret?: string; timestamp?: number; body?: string; header?: string | null } = {},
): Promise<Res> {
  const s = signed(event, opts.secret ?? WEBHOOK_SECRET, opts.timestamp);
  const headers: Record<string, string> = opts.header === null ? {} : { 'stripe-signature': opts.header ?? s.header };
  return ts.client().post('/api/webhooks/stripe', opts.body ?? s.payload, headers);
}

/** Runs checkout as the owner and returns the Stripe customer the product created for the org. */
export async function checkout(
  ts: TestServer,
  stripe: StripeFake,
  owner: Person,
  orgId: string,
  plan = 'team',
  seats = 3,
): Promise<{ customerId: string; url: string }> {
  const res = await owner.c.post<{ url: string }>(`/api/orgs/${orgId}/billing/checkout`, { plan, seats });
  assert.equal(res.status, 200, res.text);
  const req = stripe.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1);
  assert.ok(req, 'no checkout session was created at Stripe');
  return { customerId: String(req.body.customer), url: res.body.url };
}

const DAY = 86400;
/** Delivers customer.subscription.<kind> for the org's customer and asserts it was accepted. */
export async function subscriptionEvent(
  ts: TestServer,
  kind: 'created' | 'updated' | 'deleted',
  s: {
    id: string;
    customer: string;
    seats: number;
    status?: string;
    price?: string;
    created: number;
    cancelAtPeriodEnd?: boolean;
    eventId?: string;
  },
): Promise<Res<{ outcome: string }>> {
  const start = s.created - DAY;
  const obj = subscriptionObject({
    id: s.id,
    customer: s.customer,
    price: s.price ?? 'price_team',
    seats: s.seats,
    status: s.status ?? (kind === 'deleted' ? 'canceled' : 'active'),
    periodStart: start,
    periodEnd: start + 30 * DAY,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd ?? false,
  });
  const res = await deliver(
    ts,
    stripeEvent(`customer.subscription.${kind}`, obj, { created: s.created, ...(s.eventId ? { id: s.eventId } : {}) }),
  );
  assert.equal(res.status, 200, res.text);
  return res as Res<{ outcome: string }>;
}

/** GET billing as `who`. */
export async function billingOf(who: Person, orgId: string): Promise<BillingBody> {
  const res = await who.c.get<BillingBody>(`/api/orgs/${orgId}/billing`);
  assert.equal(res.status, 200, res.text);
  return res.body;
}
