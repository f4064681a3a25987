// Stripe webhooks, signed with Stripe's own helper: every handled kind, replayed,
// reordered and tampered with, must leave the subscription state exactly right; receipts
// and payment-failure notices reach the org's owners once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import type { TestServer } from './helpers/server.ts';
import { recipients } from './helpers/smtp.ts';
import { stripeEvent, subscriptionObject, signed, type StripeFake } from './helpers/stripe-fake.ts';
import {
  WEBHOOK_SECRET,
  assertError,
  billingOf,
  checkout,
  deliver,
  join,
  newOrg,
  startBilled,
  subscriptionEvent,
  type Person,
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

async function subscribedOrg(tag: string): Promise<{ owner: Person; orgId: string; customerId: string }> {
  const { owner, orgId } = await newOrg(ts, tag);
  const { customerId } = await checkout(ts, stripe, owner, orgId, 'team', 3);
  return { owner, orgId, customerId };
}

/**
 * The org's billing audit entries, oldest first
 * (sorted by numeric id here: the list endpoint's own order is not relied on).
 */
async function auditActions(
  owner: Person,
  orgId: string,
): Promise<{ action: string; details: Record<string, unknown> }[]> {
  const res = await owner.c.get<{ entries: { id: string; action: string; details: Record<string, unknown> }[] }>(
    `/api/orgs/${orgId}/audit`,
  );
  return res.body.entries
    .filter((e) => e.action.startsWith('billing.') && e.action !== 'billing.checkout_started')
    .sort((a, b) => Number(a.id) - Number(b.id));
}

test('tampered, unsigned, wrongly signed, stale and malformed deliveries are refused and change nothing', async () => {
  const { owner, orgId, customerId } = await subscribedOrg('tamper');
  const obj = subscriptionObject({
    id: 'sub_tamper',
    customer: customerId,
    price: 'price_team',
    seats: 3,
    status: 'active',
    periodStart: now(),
    periodEnd: now() + 86400,
  });
  const event = stripeEvent('customer.subscription.created', obj);
  const good = signed(event, WEBHOOK_SECRET);
  const tampered = good.payload.replace('"quantity": 3', '"quantity": 300');
  assert.notEqual(tampered, good.payload);
  assertError(await deliver(ts, event, { body: tampered }), 400, 'invalid_signature', 'body changed after signing');
  assertError(await deliver(ts, event, { header: null }), 400, 'invalid_signature', 'no signature header');
  assertError(
    await deliver(ts, event, { secret: 'whsec_someoneelse0123456789' }),
    400,
    'invalid_signature',
    'signed with another secret',
  );
  assertError(
    await deliver(ts, event, { timestamp: now() - 3600 }),
    400,
    'invalid_signature',
    'an hour-old signature (replay of a captured delivery)',
  );
  assertError(await deliver(ts, event, { header: 'garbage' }), 400, 'invalid_signature', 'unparseable header');
  const notJson = 'this is not json';
  const header = signed(event, WEBHOOK_SECRET).header.replace(/v1=[0-9a-f]+/, '');
  assertError(
    await deliver(ts, event, { body: notJson, header }),
    400,
    'invalid_signature',
    'header without a v1 signature',
  );
  const signedGarbage = Stripe.webhooks.generateTestHeaderString({ payload: notJson, secret: WEBHOOK_SECRET });
  assertError(
    await deliver(ts, event, { body: notJson, header: signedGarbage }),
    400,
    'invalid_payload',
    'signed but not JSON',
  );
  const bad = stripeEvent('customer.subscription.created', { ...obj, items: { data: [] } });
  assertError(await deliver(ts, bad), 400, 'invalid_event', 'a handled type with an unreadable object');

  const state = await billingOf(owner, orgId);
  assert.equal(state.status, 'none', 'no refused delivery created a subscription');
  assert.deepEqual(state.seats, { paid: 1, used: 1 });
  // The unreadable event's id was not recorded: once readable, Stripe's retry applies it.
  const retried = await deliver(ts, { ...bad, data: { object: obj } });
  assert.equal(retried.status, 200, retried.text);
  assert.equal((await billingOf(owner, orgId)).seats.paid, 3);
});

test('replayed and reordered subscription events leave exactly the newest state', async () => {
  const { owner, orgId, customerId } = await subscribedOrg('order');
  const t = now() - 100;
  const sub = { id: 'sub_order', customer: customerId };
  const session = {
    id: 'cs_test_order',
    object: 'checkout.session',
    mode: 'subscription',
    client_reference_id: orgId,
    customer: customerId,
    subscription: sub.id,
    metadata: { organization_id: orgId },
  };
  const completed = stripeEvent('checkout.session.completed', session, { created: t });
  assert.equal((await deliver(ts, completed)).status, 200);

  const updatedAtSameSecond = { ...sub, seats: 4, created: t, eventId: 'evt_updated_same_second' };
  assert.equal((await subscriptionEvent(ts, 'updated', updatedAtSameSecond)).body.outcome, 'processed');
  // subscription.created of the same second arrives after the update: it is older.
  assert.equal(
    (await subscriptionEvent(ts, 'created', { ...sub, seats: 3, created: t, eventId: 'evt_created' })).body.outcome,
    'stale',
  );
  assert.equal((await billingOf(owner, orgId)).seats.paid, 4);

  assert.equal(
    (await subscriptionEvent(ts, 'updated', { ...sub, seats: 6, created: t + 20, eventId: 'evt_six' })).body.outcome,
    'processed',
  );
  assert.equal(
    (await subscriptionEvent(ts, 'updated', { ...sub, seats: 5, created: t + 10, eventId: 'evt_five_late' })).body
      .outcome,
    'stale',
  );
  assert.equal(
    (await subscriptionEvent(ts, 'updated', { ...sub, seats: 6, created: t + 20, eventId: 'evt_six' })).body.outcome,
    'duplicate',
  );
  const replayOlder = await subscriptionEvent(ts, 'updated', updatedAtSameSecond);
  assert.equal(replayOlder.body.outcome, 'duplicate');
  let state = await billingOf(owner, orgId);
  assert.equal(state.status, 'active');
  assert.equal(state.plan?.id, 'team');
  assert.equal(state.seats.paid, 6);
  assert.ok(state.renews_at && new Date(state.renews_at) > new Date(), 'renewal date is the period end');
  assert.equal(state.ends_at, null);

  // Cancel at period end via the portal: the renewal date becomes an end date.
  await subscriptionEvent(ts, 'updated', { ...sub, seats: 6, created: t + 30, cancelAtPeriodEnd: true });
  state = await billingOf(owner, orgId);
  assert.equal(state.renews_at, null);
  assert.ok(state.ends_at);

  await subscriptionEvent(ts, 'deleted', { ...sub, seats: 6, created: t + 50 });
  assert.equal(
    (await subscriptionEvent(ts, 'updated', { ...sub, seats: 9, created: t + 40 })).body.outcome,
    'stale',
    'older than the deletion',
  );
  assert.equal(
    (await subscriptionEvent(ts, 'updated', { ...sub, seats: 9, created: t + 60 })).body.outcome,
    'stale',
    'a canceled subscription never comes back',
  );
  state = await billingOf(owner, orgId);
  assert.equal(state.status, 'canceled');
  assert.equal(state.plan, null);
  assert.equal(state.seats.paid, 1);

  const audit = await auditActions(owner, orgId);
  assert.deepEqual(
    audit.map((e) => [
      e.action,
      (e.details.to as { seats?: number; status?: string } | undefined)?.seats,
      (e.details.to as { status?: string } | undefined)?.status,
    ]),
    [
      ['billing.checkout_completed', undefined, undefined],
      ['billing.subscription_changed', 4, 'active'],
      ['billing.subscription_changed', 6, 'active'],
      ['billing.subscription_changed', 6, 'active'],
      ['billing.subscription_changed', 6, 'canceled'],
    ],
    'one audit entry per applied change; stale and duplicate events leave none',
  );
  assert.deepEqual(audit[2]?.details.from, { plan: 'team', seats: 4, status: 'active', cancel_at_period_end: false });
});

test('a new subscription after a cancellation takes over; unknown event types are acknowledged', async () => {
  const { owner, orgId, customerId } = await subscribedOrg('resubscribe');
  const t = now() - 50;
  await subscriptionEvent(ts, 'created', { id: 'sub_first', customer: customerId, seats: 2, created: t });
  await subscriptionEvent(ts, 'deleted', { id: 'sub_first', customer: customerId, seats: 2, created: t + 5 });
  await subscriptionEvent(ts, 'created', {
    id: 'sub_second',
    customer: customerId,
    seats: 5,
    price: 'price_studio',
    created: t + 10,
  });
  const state = await billingOf(owner, orgId);
  assert.equal(state.plan?.id, 'studio');
  assert.equal(state.seats.paid, 5);
  assert.equal(state.usage.recording_hours.limit, null, 'studio has no recording limit');

  const unknown = await deliver(
    ts,
    stripeEvent('customer.tax_id.created', { id: 'txi_1', object: 'tax_id', customer: customerId }),
  );
  assert.equal(unknown.status, 200, unknown.text);
  assert.equal((unknown.body as { outcome: string }).outcome, 'ignored');
  const stranger = await subscriptionEvent(ts, 'created', {
    id: 'sub_stranger',
    customer: 'cus_not_ours',
    seats: 50,
    created: now(),
  });
  assert.equal(stranger.body.outcome, 'ignored', 'a customer of no org changes nothing');
  assert.equal((await billingOf(owner, orgId)).seats.paid, 5);
});

test('invoice.paid and invoice.payment_failed email every owner once, and nobody else', async () => {
  const { owner, orgId, customerId } = await subscribedOrg('invoices');
  await subscriptionEvent(ts, 'created', { id: 'sub_invoices', customer: customerId, seats: 3, created: now() });
  const coOwner = await join(ts, owner, orgId, 'co-owner', 'owner');
  const member = await join(ts, owner, orgId, 'member');
  assert.equal(coOwner.res.status, 200);
  assert.equal(member.res.status, 200);

  const invoice = {
    id: 'in_paid',
    object: 'invoice',
    customer: customerId,
    amount_paid: 3000,
    amount_due: 3000,
    currency: 'usd',
    number: 'RCD-0001',
    hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1/test_paid',
    status: 'paid',
  };
  const paid = stripeEvent('invoice.paid', invoice);
  const since = ts.inbox.messages.length;
  assert.equal((await deliver(ts, paid)).status, 200);
  for (const o of [owner, coOwner.person]) {
    const mail = await ts.inbox.waitFor(o.email, { since, subject: /Receipt/ });
    assert.match(mail.subject ?? '', /\$30\.00 paid/);
    assert.match(mail.text ?? '', /RCD-0001/);
    assert.match(mail.text ?? '', /https:\/\/invoice\.stripe\.com\/i\/acct_1\/test_paid/);
    assert.match(mail.text ?? '', new RegExp(`/orgs/${orgId}`));
  }
  assert.equal(((await deliver(ts, paid)).body as { outcome: string }).outcome, 'duplicate');

  const failed = stripeEvent('invoice.payment_failed', {
    ...invoice,
    id: 'in_failed',
    amount_paid: 0,
    amount_due: 4500,
    number: 'RCD-0002',
    status: 'open',
  });
  assert.equal((await deliver(ts, failed)).status, 200);
  for (const o of [owner, coOwner.person]) {
    const mail = await ts.inbox.waitFor(o.email, { since, subject: /Payment failed/ });
    assert.match(mail.text ?? '', /\$45\.00/);
    assert.match(mail.text ?? '', /update the card/i);
  }
  await new Promise((r) => setTimeout(r, 300));
  const billingMail = ts.inbox.messages.slice(since).filter((m) => /Receipt|Payment failed/.test(m.subject ?? ''));
  assert.equal(billingMail.length, 4, 'one receipt and one notice per owner; the replay sent nothing');
  assert.ok(
    billingMail.every((m) => !recipients(m).includes(member.person.email)),
    'plain members get no billing mail',
  );

  const audit = await auditActions(owner, orgId);
  assert.deepEqual(
    audit.filter((e) => e.action !== 'billing.subscription_changed').map((e) => [e.action, e.details.amount]),
    [
      ['billing.invoice_paid', 3000],
      ['billing.payment_failed', 4500],
    ],
  );
});
