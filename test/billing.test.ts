// Billing as an owner sees it: Stripe Checkout and the Customer Portal through the real
// Stripe client (pointed at a loopback server speaking Stripe's protocol), the overview
// with seats and usage, seats enforced when members join, and billing switched off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sessionTokenFor } from './helpers/db.ts';
import type { TestServer } from './helpers/server.ts';
import type { StripeFake } from './helpers/stripe-fake.ts';
import { recordUsage, RECORDING_SECONDS } from '../server/billing/usage.ts';
import { parseConfig, ConfigError } from '../server/core/config.ts';
import {
  STRIPE_KEY,
  assertError,
  billingOf,
  checkout,
  join,
  newOrg,
  startBilled,
  subscriptionEvent,
} from './helpers/billing-flow.ts';

let ts: TestServer;
let stripe: StripeFake;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  ({ ts, stripe } = await startBilled());
});
after(async () => {
  await ts.close();
  await stripe.close();
});

test('an owner subscribes through Stripe Checkout: customer created once, form-encoded, Bearer auth, seats as quantity', async () => {
  const { owner, orgId } = await newOrg(ts, 'checkout');
  const before = await billingOf(owner, orgId);
  assert.equal(before.status, 'none');
  assert.equal(before.plan, null);
  assert.deepEqual(before.seats, { paid: 1, used: 1 });
  assert.equal(before.has_billing_account, false);
  assert.deepEqual(
    before.plans.map((p) => p.id),
    ['team', 'studio'],
  );

  const first = stripe.requests.length;
  const { url, customerId } = await checkout(ts, stripe, owner, orgId, 'team', 3);
  assert.match(url, /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
  const calls = stripe.requests.slice(first);
  assert.deepEqual(
    calls.map((r) => `${r.method} ${r.path}`),
    ['POST /v1/customers', 'POST /v1/checkout/sessions'],
  );
  for (const r of calls) {
    assert.equal(r.authorization, `Bearer ${STRIPE_KEY}`);
    assert.match(r.contentType ?? '', /^application\/x-www-form-urlencoded/);
  }
  assert.equal(calls[0]?.body.email, owner.email);
  assert.deepEqual(calls[0]?.body.metadata, { organization_id: orgId });
  const session = calls[1]?.body ?? {};
  assert.equal(session.mode, 'subscription');
  assert.equal(session.client_reference_id, orgId);
  assert.deepEqual(session.line_items, [{ price: 'price_team', quantity: '3' }]);
  assert.match(String(session.success_url), new RegExp(`/orgs/${orgId}`));
  assert.match(customerId, /^cus_/);

  // A second attempt (the owner went back) reuses the customer.
  const again = await checkout(ts, stripe, owner, orgId, 'studio', 2);
  assert.equal(again.customerId, customerId);
  assert.equal(stripe.requests.filter((r) => r.path === '/v1/customers').length, 1);
  assert.equal((await billingOf(owner, orgId)).has_billing_account, true);

  const audit = await owner.c.get<{ entries: { id: string; action: string; details: Record<string, unknown> }[] }>(
    `/api/orgs/${orgId}/audit`,
  );
  const started = audit.body.entries
    .filter((e) => e.action === 'billing.checkout_started')
    .sort((a, b) => Number(b.id) - Number(a.id));
  assert.deepEqual(
    started.map((e) => [e.details.plan, e.details.seats]),
    [
      ['studio', 2],
      ['team', 3],
    ],
  );
});

test('checkout input is validated, owners only, and refused once subscribed', async () => {
  const { owner, orgId } = await newOrg(ts, 'validate');
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 0 }),
    400,
    'invalid_input',
    'zero seats',
  );
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: '3' }),
    400,
    'invalid_input',
    'seats as a string',
  );
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'gold', seats: 2 }),
    400,
    'unknown_plan',
    'unknown plan',
  );
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, '{"plan":'),
    400,
    'invalid_json',
    'broken JSON',
  );
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/portal`),
    409,
    'no_billing_account',
    'portal before any checkout',
  );

  const { customerId } = await checkout(ts, stripe, owner, orgId, 'team', 2);
  await subscriptionEvent(ts, 'created', { id: 'sub_validate', customer: customerId, seats: 2, created: now() });
  const admin = await join(ts, owner, orgId, 'admin', 'admin');
  assert.equal(admin.res.status, 200, admin.res.text);
  assertError(
    await admin.person.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 5 }),
    403,
    'owner_required',
    'admin checkout',
  );
  assertError(await admin.person.c.post(`/api/orgs/${orgId}/billing/portal`), 403, 'owner_required', 'admin portal');
  assert.equal((await billingOf(admin.person, orgId)).can_manage, false, 'admins see billing but cannot manage it');
  assertError(
    await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'studio', seats: 5 }),
    409,
    'already_subscribed',
    'second subscription',
  );
});

test('the Customer Portal opens for the org customer; Stripe failures are a clear 502', async () => {
  const { owner, orgId } = await newOrg(ts, 'portal');
  const { customerId } = await checkout(ts, stripe, owner, orgId);
  const res = await owner.c.post<{ url: string }>(`/api/orgs/${orgId}/billing/portal`);
  assert.equal(res.status, 200, res.text);
  assert.match(res.body.url, /^https:\/\/billing\.stripe\.com\/p\/session\//);
  const req = stripe.requests.at(-1);
  assert.equal(req?.path, '/v1/billing_portal/sessions');
  assert.equal(req?.body.customer, customerId);
  assert.match(String(req?.body.return_url), new RegExp(`/orgs/${orgId}`));

  stripe.failNext(400, 'invalid_request_error', 'No configuration provided for the customer portal.');
  assertError(await owner.c.post(`/api/orgs/${orgId}/billing/portal`), 502, 'stripe_unavailable', 'Stripe refused');
});

test('seats are enforced when members join: free seat, paid seats, growth, cancellation', async () => {
  const { owner, orgId } = await newOrg(ts, 'seats');
  const refused = await join(ts, owner, orgId, 'too-early');
  assertError(refused.res, 409, 'seats_exhausted', 'no subscription: only the free seat');
  assert.match((refused.res.body as { error: { message: string } }).error.message, /owner.*Billing/);

  const { customerId } = await checkout(ts, stripe, owner, orgId, 'team', 2);
  const t = now();
  await subscriptionEvent(ts, 'created', { id: 'sub_seats', customer: customerId, seats: 2, created: t });
  assert.equal((await join(ts, owner, orgId, 'second')).res.status, 200);
  assertError((await join(ts, owner, orgId, 'third')).res, 409, 'seats_exhausted', 'both paid seats taken');

  await subscriptionEvent(ts, 'updated', { id: 'sub_seats', customer: customerId, seats: 3, created: t + 10 });
  assert.equal((await join(ts, owner, orgId, 'third-again')).res.status, 200);
  assert.deepEqual((await billingOf(owner, orgId)).seats, { paid: 3, used: 3 });

  await subscriptionEvent(ts, 'updated', {
    id: 'sub_seats',
    customer: customerId,
    seats: 3,
    status: 'past_due',
    created: t + 20,
  });
  assert.equal((await billingOf(owner, orgId)).seats.paid, 3, 'past_due keeps the paid seats while Stripe retries');

  await subscriptionEvent(ts, 'deleted', { id: 'sub_seats', customer: customerId, seats: 3, created: t + 30 });
  const after = await billingOf(owner, orgId);
  assert.equal(after.status, 'canceled');
  assert.deepEqual(after.seats, { paid: 1, used: 3 }, 'members stay; the free seat is the limit again');
  assertError((await join(ts, owner, orgId, 'after-cancel')).res, 409, 'seats_exhausted', 'after cancellation');
});

test('two people accepting at once cannot both take the last seat (the second waits for the first)', async () => {
  const owner = new pg.Client({ connectionString: ts.db.ownerUrl });
  const [a, b] = [new pg.Client({ connectionString: ts.db.appUrl }), new pg.Client({ connectionString: ts.db.appUrl })];
  await Promise.all([owner.connect(), a.connect(), b.connect()]);
  try {
    const users = await owner.query<{ id: string; email: string }>(
      `insert into users (email)
       values ('race-owner@example.com'), ('race-a@example.com'), ('race-b@example.com') returning id, email`,
    );
    const [o, ua, ub] = users.rows;
    const org = await owner.query<{ id: string }>(`insert into organizations (name) values ('Race') returning id`);
    const orgId = org.rows[0]?.id;
    await owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner')`, [
      orgId,
      o?.id,
    ]);
    await owner.query(
      `insert into subscriptions (stripe_subscription_id, organization_id, stripe_customer_id, seats, status,
                                  last_event_id, last_event_created, last_event_rank)
       values ('sub_race', $1, 'cus_race', 2, 'active', 'evt_race', now(), 0)`,
      [orgId],
    );
    const tokens = [randomBytes(32), randomBytes(32)];
    for (const [i, u] of [ua, ub].entries()) {
      await owner.query(
        `insert into invitations (organization_id, email, role, token_hash, expires_at)
         values ($1, $2, 'member', $3, now() + interval '1 day')`,
        [orgId, u?.email, tokens[i]],
      );
    }
    const accept = async (c: pg.Client, userId: string | undefined, token: Buffer | undefined) => {
      const session = await sessionTokenFor(owner, userId ?? '');
      await c.query('begin');
      await c.query('select * from app.begin_request($1, null, 604800)', [session]);
      return c.query('select * from app.accept_invitation($1)', [token]);
    };
    await accept(a, ua?.id, tokens[0]);
    let secondDone = false;
    const second = accept(b, ub?.id, tokens[1]).finally(() => (secondDone = true));
    second.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(secondDone, false, 'the second join waits while the first holds the last seat');
    await a.query('commit');
    await assert.rejects(second, (err: Error) => /^seats_exhausted: /.test(err.message));
    await b.query('rollback');
    const n = await owner.query(`select count(*)::int as n from memberships where organization_id = $1`, [orgId]);
    assert.equal(n.rows[0].n, 2);
  } finally {
    await Promise.all([owner.end(), a.end(), b.end()]);
  }
});

test('usage events total the current period against the plan limit', async () => {
  const { owner, orgId } = await newOrg(ts, 'usage');
  const me = await owner.c.get<{ user: { id: string } }>('/api/me');
  const userId = me.body.user.id;
  const deps = ts.running.deps;
  assert.equal(
    await recordUsage(deps, { orgId, userId, metric: RECORDING_SECONDS, quantity: 5400, sourceId: 'session-1' }),
    true,
  );
  assert.equal(
    await recordUsage(deps, { orgId, userId, metric: RECORDING_SECONDS, quantity: 5400, sourceId: 'session-1' }),
    false,
    'the same source counts once',
  );
  await recordUsage(deps, { orgId, userId, metric: RECORDING_SECONDS, quantity: 1800, sourceId: 'session-2' });
  await recordUsage(deps, {
    orgId,
    userId,
    metric: RECORDING_SECONDS,
    quantity: 36000,
    sourceId: 'old',
    occurredAt: new Date(Date.now() - 70 * 86400 * 1000),
  });
  const free = await billingOf(owner, orgId);
  assert.deepEqual(free.usage.recording_hours, { used: 2, limit: 1 }, 'free allowance, old usage not counted');

  const { customerId } = await checkout(ts, stripe, owner, orgId, 'team', 1);
  await subscriptionEvent(ts, 'created', { id: 'sub_usage', customer: customerId, seats: 1, created: now() });
  const paid = await billingOf(owner, orgId);
  assert.equal(paid.plan?.id, 'team');
  assert.deepEqual(paid.usage.recording_hours, { used: 2, limit: 100 });
  assert.ok(new Date(paid.usage.period_start) <= new Date() && new Date() < new Date(paid.usage.period_end));
});

test('billing is not visible across tenants, through the API or in SQL as the API role', async () => {
  const a = await newOrg(ts, 'tenant-a');
  const b = await newOrg(ts, 'tenant-b');
  const { customerId } = await checkout(ts, stripe, b.owner, b.orgId, 'team', 1);
  await subscriptionEvent(ts, 'created', { id: 'sub_tenant_b', customer: customerId, seats: 1, created: now() });
  await recordUsage(ts.running.deps, {
    orgId: b.orgId,
    userId: (await b.owner.c.get<{ user: { id: string } }>('/api/me')).body.user.id,
    metric: RECORDING_SECONDS,
    quantity: 60,
  });
  assertError(await a.owner.c.get(`/api/orgs/${b.orgId}/billing`), 404, 'org_not_found', 'A reads B billing');
  assertError(await a.owner.c.post(`/api/orgs/${b.orgId}/billing/portal`), 404, 'org_not_found', 'A opens B portal');
  const member = await join(ts, b.owner, b.orgId, 'b-member');
  assertError(member.res, 409, 'seats_exhausted');

  const app = new pg.Client({ connectionString: ts.db.appUrl });
  await app.connect();
  try {
    // A's owner, proven by their own session token.
    const aSession = a.owner.c.cookies.get('sid');
    await app.query('begin');
    await app.query('select * from app.begin_request($1, $2, 604800)', [aSession, a.orgId]);
    for (const t of ['subscriptions', 'billing_customers', 'usage_events']) {
      const { rows } = await app.query(`select count(*)::int as n from ${t} where organization_id = $1`, [b.orgId]);
      assert.equal(rows[0].n, 0, `${t} leaked org B rows`);
    }
    const current = await app.query('select stripe_subscription_id from app.billing_current_subscription($1)', [
      b.orgId,
    ]);
    assert.equal(current.rows[0]?.stripe_subscription_id ?? null, null, 'the invoker function sees nothing of B');
    await assert.rejects(
      app.query(`insert into usage_events (organization_id, metric, quantity) values ($1, 'recording_seconds', 1)`, [
        b.orgId,
      ]),
      { code: '42501' },
    );
    await app.query('rollback');
    await app.query('begin');
    await app.query('select * from app.begin_request($1, $2, 604800)', [aSession, a.orgId]);
    await assert.rejects(
      app.query(`insert into billing_customers (organization_id, stripe_customer_id) values ($1, 'cus_hijack')`, [
        b.orgId,
      ]),
      { code: '42501' },
    );
    await app.query('rollback');
    await assert.rejects(
      app.query('select app.billing_seat_limit($1)', [b.orgId]),
      { code: '42501' },
      'internal definer functions are not callable by the API role',
    );
  } finally {
    await app.end();
  }
});

test('billing configuration: off by default, and a key without its webhook secret or plans is refused at start-up', () => {
  assert.equal(parseConfig({}).billing, undefined);
  assert.throws(
    () => parseConfig({ STRIPE_SECRET_KEY: STRIPE_KEY }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), ['BILLING_PLANS', 'STRIPE_WEBHOOK_SECRET']);
      return true;
    },
  );
  const base = { STRIPE_SECRET_KEY: STRIPE_KEY, STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef' };
  assert.throws(() => parseConfig({ ...base, BILLING_PLANS: '[{"id":"team"' }), /BILLING_PLANS: must be a JSON array/);
  assert.throws(
    () => parseConfig({ ...base, BILLING_PLANS: '[{"id":"a","price":"price_1"},{"id":"a","price":"price_2"}]' }),
    /unique/,
  );
  assert.throws(() => parseConfig({ ...base, BILLING_PLANS: '[{"id":"a","price":"prod_1"}]' }), /Stripe price id/);
  const cfg = parseConfig({
    ...base,
    BILLING_PLANS: '[{"id":"team","price":"price_1","recording_hours":10}]',
    BILLING_FREE_SEATS: '2',
  });
  assert.deepEqual(cfg.billing?.plans, [
    { id: 'team', name: 'team', stripePriceId: 'price_1', recordingHoursPerMonth: 10 },
  ]);
  assert.equal(cfg.billing?.freeSeats, 2);
});

test('with billing off (no Stripe key): no limits, endpoints say billing_disabled, Stripe never called', async () => {
  const off = await startBilled({ billing: false });
  try {
    const { owner, orgId } = await newOrg(off.ts, 'off');
    for (const tag of ['off-1', 'off-2', 'off-3'])
      assert.equal((await join(off.ts, owner, orgId, tag)).res.status, 200, `${tag} joins without any seat limit`);
    assertError(await owner.c.get(`/api/orgs/${orgId}/billing`), 404, 'billing_disabled', 'overview');
    assertError(
      await owner.c.post(`/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 2 }),
      404,
      'billing_disabled',
      'checkout',
    );
    assertError(await owner.c.post(`/api/orgs/${orgId}/billing/portal`), 404, 'billing_disabled', 'portal');
    assertError(
      await off.ts.client().post('/api/webhooks/stripe', '{}', { 'stripe-signature': 't=1,v1=00' }),
      404,
      'billing_disabled',
      'webhook',
    );
    const members = await owner.c.get<{ members: unknown[] }>(`/api/orgs/${orgId}/members`);
    assert.equal(members.body.members.length, 4);
    assert.equal(off.stripe.requests.length, 0, 'the Stripe server received no request at all');
  } finally {
    await off.ts.close();
    await off.stripe.close();
  }
});
