// The usage ledger matches what happened. Tracks of known length go through the SFU's own
// capture store (open, close, resume, close again); a real recording is captured and
// sealed like the SFU does; a transcript is stored; a session is erased. The ledger holds
// exactly those seconds and bytes, the dashboard's usage shows the ledger's sums (hours,
// tracks, transcription minutes, storage held), the export carries the ledger, the API
// role can neither change nor delete ledger rows, and no other org sees them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import pg from 'pg';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, freshEmail, inviteLinkIn } from './helpers/api.ts';
import { asOwner, seedRecordedSession, type SeededSession } from './helpers/recording.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { CaptureStore } from '../sfu/capture/CaptureStore.ts';

const haveMedia = prerequisites('real capture in the ledger', missingMediaTools());

interface Month {
  month: string;
  recorded_seconds: number;
  recorded_hours: number;
  tracks: number;
  transcribed_seconds: number;
  transcription_minutes: number;
  bytes_stored: number;
  bytes_erased: number;
  storage_bytes: number;
}
interface Usage {
  billing_enabled: boolean;
  months: Month[];
  limits: unknown;
}

let ts: TestServer;
let owner: HttpClient;
let outsider: HttpClient;
let orgId = '';
let base = '';
let known = '';
let real: SeededSession | undefined;

before(async () => {
  ts = await startTestServer({ JOBS: 'off' });
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  owner = await ts.signIn(freshEmail('usage-owner'));
  outsider = await ts.signIn(freshEmail('usage-outsider'));
  orgId = String((await owner.post('/api/orgs', { name: 'Metered' })).body.id);
  base = `/api/orgs/${orgId}`;
  await outsider.post('/api/orgs', { name: 'Other' });
});
after(() => ts?.close());

async function ledger(where = 'true', params: unknown[] = []) {
  return asOwner(ts, async (c) => {
    const r = await c.query<{ metric: string; total: string; n: string; tracks: string }>(
      `select metric, sum(quantity)::text as total, count(*)::text as n,
              count(distinct split_part(source_id, '#', 1))::text as tracks
         from usage_events where organization_id = $1 and ${where} group by metric`,
      [orgId, ...params],
    );
    const m = new Map(r.rows.map((x) => [x.metric, x]));
    const num = (k: string) => Number(m.get(k)?.total ?? 0);
    return {
      recorded: num('recording_seconds'),
      stored: num('bytes_stored'),
      erased: num('bytes_erased'),
      transcribed: num('transcribed_seconds'),
      tracks: Number(m.get('recording_seconds')?.tracks ?? 0),
      rows: Number(m.get('recording_seconds')?.n ?? 0),
    };
  });
}

async function thisMonth(): Promise<Month> {
  const res = await owner.get<Usage>(`${base}/usage`);
  assert.equal(res.status, 200, res.text);
  const m = res.body.months[0];
  assert.ok(m);
  assert.equal(m.month, new Date().toISOString().slice(0, 7));
  return m;
}

test('tracks of known length: 30 min and 60 min (closed, resumed, closed) are 1.5 hours, 2 tracks', async () => {
  const created = await owner.post<{ id: string }>(`${base}/sessions`, { title: 'Known lengths' });
  assert.equal(created.status, 201, created.text);
  known = created.body.id;
  const host = await owner.post<{ participant_id: string }>(`${base}/sessions/${known}/join`, { display_name: 'Host' });
  assert.equal(host.status, 200, host.text);
  const pid = host.body.participant_id;
  const { deps } = ts.running;
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const t0 = new Date(Date.now() - 2 * 3600_000);
  const at = (s: number) => new Date(t0.getTime() + s * 1000);
  const take = await store.startTake(orgId, known, pid, t0);
  const info = { takeId: take.takeId, participantId: pid, kind: 'audio' as const, mimeType: 'audio/opus' };
  const a = await store.openTrack(orgId, known, {
    ...info,
    clockRate: 48000,
    payloadType: 111,
    producerId: 'a',
    startedAt: t0,
  });
  const b = await store.openTrack(orgId, known, {
    ...info,
    clockRate: 48000,
    payloadType: 111,
    producerId: 'b',
    startedAt: t0,
  });
  await store.closeTrack(orgId, known, a, at(1800), 0);
  await store.closeTrack(orgId, known, a, at(1800), 0); // a second close changes nothing
  await store.closeTrack(orgId, known, b, at(3000), 0);
  await store.resumeTrack(orgId, known, b, 'b2');
  await store.closeTrack(orgId, known, b, at(3600), 0);

  const l = await ledger('session_id = $2', [known]);
  assert.deepEqual([l.recorded, l.tracks, l.rows], [5400, 2, 3], 'two tracks, the resumed one reported twice');
  const m = await thisMonth();
  assert.equal(m.recorded_seconds, 5400);
  assert.equal(m.recorded_hours, 1.5);
  assert.equal(m.tracks, 2);
});

test(
  "a real capture: the ledger holds each track's seconds and bytes; the transcript its seconds",
  { skip: !haveMedia, timeout: 120_000 },
  async () => {
    real = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada', 'Ben'], transcript: true });
    const tracks = await asOwner(
      ts,
      async (c) =>
        (
          await c.query<{ secs: string; bytes: string }>(
            `select round(extract(epoch from ended_at - started_at))::text as secs, byte_count::text as bytes
           from tracks where session_id = $1 and ended_at is not null`,
            [real?.sessionId],
          )
        ).rows,
    );
    assert.equal(tracks.length, 2);
    const l = await ledger('session_id = $2', [real.sessionId]);
    assert.equal(
      l.recorded,
      tracks.reduce((s, t) => s + Number(t.secs), 0),
    );
    assert.equal(
      l.stored,
      tracks.reduce((s, t) => s + Number(t.bytes), 0),
    );
    assert.ok(l.stored > 1000, `${l.stored} bytes stored`);
    assert.equal(l.transcribed, 3, 'the seeded transcript covers 3 s of audio');
    assert.equal(l.tracks, 2);
  },
);

test("the dashboard shows the ledger's sums; erasing a session frees its bytes", async () => {
  const all = await ledger();
  let m = await thisMonth();
  assert.equal(m.recorded_seconds, all.recorded);
  assert.equal(m.recorded_hours, Math.round((all.recorded / 3600) * 100) / 100);
  assert.equal(m.tracks, all.tracks);
  assert.equal(m.transcribed_seconds, all.transcribed);
  assert.equal(m.transcription_minutes, Math.round((all.transcribed / 60) * 100) / 100);
  assert.equal(m.bytes_stored, all.stored);
  assert.equal(m.storage_bytes, all.stored);
  const usage = (await owner.get<Usage>(`${base}/usage?months=3`)).body;
  assert.equal(usage.months.length, 3);
  assert.equal(usage.billing_enabled, false);
  assert.equal(usage.limits, null, 'billing off: usage without limits');
  assert.deepEqual(
    usage.months.slice(1).map((x) => [x.recorded_seconds, x.storage_bytes]),
    [
      [0, 0],
      [0, 0],
    ],
  );
  if (real) {
    const before = await ledger('session_id = $2', [real.sessionId]);
    const del = await owner.request('DELETE', `${base}/sessions/${real.sessionId}`);
    assert.equal(del.status, 200, del.text);
    const after = await ledger('session_id = $2', [real.sessionId]);
    assert.equal(after.erased, before.stored);
    m = await thisMonth();
    assert.equal(m.bytes_erased, before.stored);
    assert.equal(m.storage_bytes, all.stored - before.stored);
    assert.equal(m.recorded_seconds, all.recorded, 'recorded time stays recorded');
  }
});

test('the ledger is append-only for the API role and private to its org', async () => {
  const app = new pg.Client({ connectionString: ts.db.appUrl });
  await app.connect();
  try {
    for (const sql of ['update usage_events set quantity = 0', 'delete from usage_events'])
      await assert.rejects(app.query(sql), /permission denied/, sql);
    assert.equal((await app.query('select * from usage_events')).rowCount, 0, 'no org proven: nothing visible');
  } finally {
    await app.end();
  }
  assertError(await outsider.get(`${base}/usage`), 404, 'org_not_found', 'another org');
  const email = freshEmail('usage-member');
  const memberC = await ts.signIn(email);
  const since = ts.inbox.messages.length;
  await owner.post(`${base}/invitations`, { email });
  const { token } = inviteLinkIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await memberC.post('/api/invitations/accept', { token })).status, 200);
  assertError(await memberC.get(`${base}/usage`), 403, 'admin_required', 'a member');
  for (const q of ['months=0', 'months=25', 'months=x', 'other=1'])
    assertError(await owner.get(`${base}/usage?${q}`), 400, 'invalid_input', q);
});

test('a deployment from before the ledger: the backfill migration writes the same sums', async () => {
  // What still exists is backfilled; a session erased before the ledger existed has no
  // tracks left to count (the media sweep removed them), so it adds nothing, stored or erased.
  const live = 'session_id not in (select id from recording_sessions where key_erased_at is not null)';
  const withTriggers = await ledger(live);
  const held = await ledger();
  assert.ok(withTriggers.recorded > 0 && withTriggers.tracks > 0);
  const up = fs
    .readFileSync(new URL('../migrations/1732400007100_usage_backfill.sql', import.meta.url), 'utf8')
    .split('-- Down Migration')[0];
  await asOwner(ts, async (c) => {
    // As if the rows had never been written: the org's history without its ledger.
    await c.query('delete from usage_events where organization_id = $1', [orgId]);
    await c.query(up ?? '');
  });
  const backfilled = await ledger(live);
  assert.deepEqual(
    { ...backfilled, rows: 0 },
    { ...withTriggers, rows: 0 },
    'seconds, bytes, transcripts and tracks as the triggers counted them',
  );
  const m = await thisMonth();
  assert.equal(m.storage_bytes, held.stored - held.erased, 'the bytes held are the same');
  await asOwner(ts, (c) => c.query(up ?? ''));
  assert.deepEqual(await ledger(live), backfilled, 'running it again counts nothing twice');
});
