// With billing on, usage shows the plan's limits beside the months, and the billing limit
// counts the same ledger rows: a two-hour track closed by the SFU's capture store is two
// hours on the usage page and two hours against the plan.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './helpers/server.ts';
import type { StripeFake } from './helpers/stripe-fake.ts';
import { billingOf, newOrg, startBilled } from './helpers/billing-flow.ts';
import { CaptureStore } from '../sfu/capture/CaptureStore.ts';

let ts: TestServer;
let stripe: StripeFake;

before(async () => {
  ({ ts, stripe } = await startBilled());
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
});
after(async () => {
  await ts?.close();
  await stripe?.close();
});

interface Usage {
  billing_enabled: boolean;
  months: { month: string; recorded_hours: number; tracks: number }[];
  limits: {
    plan: unknown;
    period_start: string;
    period_end: string;
    recording_hours: { used: number; limit: number | null };
    seats: { used: number; paid: number | null };
  } | null;
}

test('billing on: usage beside the plan limits, both from the ledger', async () => {
  const { owner, orgId } = await newOrg(ts, 'usage-billed');
  const base = `/api/orgs/${orgId}`;
  const created = await owner.c.post<{ id: string }>(`${base}/sessions`, { title: 'Two hours' });
  assert.equal(created.status, 201, created.text);
  const sid = created.body.id;
  const host = await owner.c.post<{ participant_id: string }>(`${base}/sessions/${sid}/join`, { display_name: 'Host' });
  assert.equal(host.status, 200, host.text);
  const { deps } = ts.running;
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const t0 = new Date(Date.now() - 3 * 3600_000);
  const take = await store.startTake(orgId, sid, host.body.participant_id, t0);
  const track = await store.openTrack(orgId, sid, {
    takeId: take.takeId,
    participantId: host.body.participant_id,
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    payloadType: 111,
    producerId: 'p',
    startedAt: t0,
  });
  await store.closeTrack(orgId, sid, track, new Date(t0.getTime() + 7200_000), 0);

  const usage = await owner.c.get<Usage>(`${base}/usage`);
  assert.equal(usage.status, 200, usage.text);
  assert.equal(usage.body.billing_enabled, true);
  assert.equal(usage.body.months[0]?.recorded_hours, 2);
  assert.equal(usage.body.months[0]?.tracks, 1);
  const billing = await billingOf(owner, orgId);
  assert.ok(usage.body.limits);
  assert.deepEqual(usage.body.limits.recording_hours, billing.usage.recording_hours);
  assert.equal(billing.usage.recording_hours.used, 2, 'the billing limit counts the same ledger rows');
  assert.deepEqual(usage.body.limits.seats, billing.seats);
  assert.deepEqual(usage.body.limits.seats, { used: 1, paid: 1 });
  assert.equal(usage.body.limits.period_start, billing.usage.period_start);
});
