// The studio's HTTP side, as a guest and a host would use it: the guest link shows who
// records and what is stored before joining; consent is stored with the participant, shown
// on the session page and audited; a reload rejoins as the same participant (a forged
// rejoin secret does not); the host gets their own participant back; and the session page
// ends a live session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { verifyJoinToken } from '../lib/tokens.ts';

let ts: TestServer;
let owner: HttpClient;
let orgId: string;

before(async () => {
  ts = await startTestServer();
  owner = await ts.signIn('studio-host@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Acme Podcasts' })).body as { id: string }).id;
});
after(async () => {
  await ts?.close();
});

async function newSession(): Promise<{ id: string; token: string }> {
  const r = (await owner.post(`/api/orgs/${orgId}/sessions`, { title: 'Episode 1' })).body as {
    id: string;
    guest_url: string;
  };
  return { id: r.id, token: new URL(r.guest_url).hash.replace('#g=', '') };
}

interface Detail {
  status: string;
  interrupted_at: string | null;
  live_available: boolean;
  participants: { id: string; role: string; consent: { version: string; at: string } | null }[];
}

test('the guest link shows the organisation, the consent text and whether live sessions work', async () => {
  const s = await newSession();
  const info = await ts.client().post('/api/join/info', { session_id: s.id, token: s.token });
  assert.equal(info.status, 200);
  const b = info.body as {
    organization_name: string;
    title: string;
    live_available: boolean;
    live_unavailable_reason: string;
    consent: { version: string; text: string };
  };
  assert.equal(b.organization_name, 'Acme Podcasts');
  assert.equal(b.title, 'Episode 1');
  assert.match(b.consent.text, /Acme Podcasts records this session/);
  assert.match(b.consent.text, /encrypted/);
  // This test server runs no SFU: the page can say so before anyone clicks Join.
  assert.equal(b.live_available, false);
  assert.match(b.live_unavailable_reason, /no media server/);
  const bad = await ts.client().post('/api/join/info', { session_id: s.id, token: 'x'.repeat(32) });
  assert.equal(bad.status, 404);
});

test('consent is stored, shown on the session page, in the token and the audit log', async () => {
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  const s = await newSession();
  const guest = ts.client();
  const j = await guest.post('/api/join', {
    session_id: s.id,
    token: s.token,
    display_name: 'Guest',
    consent: { version: 'v1' },
  });
  assert.equal(j.status, 200, JSON.stringify(j.body));
  const jb = j.body as { participant_id: string; token: string; organization_name: string; rejoin: string };
  assert.equal(jb.organization_name, 'Acme Podcasts');
  const claims = verifyJoinToken(ts.running.deps.secrets.key('join-token'), jb.token);
  assert.equal(claims.consent, 'v1');
  // Without consent the join works but the token carries none (the SFU records nothing).
  const silent = (await ts.client().post('/api/join', { session_id: s.id, token: s.token, display_name: 'Watcher' }))
    .body as { token: string };
  assert.equal(verifyJoinToken(ts.running.deps.secrets.key('join-token'), silent.token).consent, undefined);
  const outdated = await ts.client().post('/api/join', {
    session_id: s.id,
    token: s.token,
    display_name: 'Old tab',
    consent: { version: 'v0' },
  });
  assert.equal(outdated.status, 409);

  const detail = (await owner.get<Detail>(`/api/orgs/${orgId}/sessions/${s.id}`)).body;
  const p = detail.participants.find((x) => x.id === jb.participant_id);
  assert.equal(p?.consent?.version, 'v1');
  assert.ok(p?.consent?.at);
  assert.equal(detail.participants.length, 2);
  const auditLog = (await owner.get(`/api/orgs/${orgId}/audit`)).body as {
    entries: { action: string; details: Record<string, unknown> }[];
  };
  const consented = auditLog.entries.filter((e) => e.action === 'participant.consented');
  assert.equal(consented.length, 1);
  assert.equal(consented[0]?.details.participant_id, jb.participant_id);
  assert.equal(consented[0]?.details.text_version, 'v1');
});

test('a reload rejoins as the same participant; a forged rejoin secret is refused', async () => {
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  const s = await newSession();
  const first = (
    await ts.client().post('/api/join', {
      session_id: s.id,
      token: s.token,
      display_name: 'Guest',
      consent: { version: 'v1' },
    })
  ).body as { participant_id: string; rejoin: string };
  const again = await ts.client().post('/api/join', {
    session_id: s.id,
    token: s.token,
    display_name: 'Guest',
    rejoin: first.rejoin,
  });
  assert.equal(again.status, 200);
  const ab = again.body as { participant_id: string; token: string; consent: { version: string } | null };
  assert.equal(ab.participant_id, first.participant_id);
  assert.equal(ab.consent?.version, 'v1', 'consent carries over');
  assert.equal(verifyJoinToken(ts.running.deps.secrets.key('join-token'), ab.token).consent, 'v1');
  const forged = await ts.client().post('/api/join', {
    session_id: s.id,
    token: s.token,
    display_name: 'Mallory',
    rejoin: `${first.participant_id}.${'A'.repeat(43)}`,
  });
  assert.equal(forged.status, 403);
  const other = await newSession();
  const moved = await ts.client().post('/api/join', {
    session_id: other.id,
    token: other.token,
    display_name: 'Guest',
    rejoin: first.rejoin,
  });
  assert.equal(moved.status, 403, 'a secret for one session does not work in another');
  const host1 = (await owner.post(`/api/orgs/${orgId}/sessions/${s.id}/join`, { consent: { version: 'v1' } })).body as {
    participant_id: string;
  };
  const host2 = (await owner.post(`/api/orgs/${orgId}/sessions/${s.id}/join`, {})).body as { participant_id: string };
  assert.equal(host2.participant_id, host1.participant_id);
  const detail = (await owner.get<Detail>(`/api/orgs/${orgId}/sessions/${s.id}`)).body;
  assert.equal(detail.participants.length, 2, 'one guest and one host, no duplicates');
});

test('the session page ends a session; joining afterwards is refused', async () => {
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  const s = await newSession();
  const r = await owner.post(`/api/orgs/${orgId}/sessions/${s.id}/end`, {});
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ended', was_open: true });
  const detail = (await owner.get<Detail>(`/api/orgs/${orgId}/sessions/${s.id}`)).body;
  assert.equal(detail.status, 'ended');
  assert.equal(detail.interrupted_at, null);
  const join = await ts.client().post('/api/join', { session_id: s.id, token: s.token, display_name: 'Late' });
  assert.equal(join.status, 409);
  const again = await owner.post(`/api/orgs/${orgId}/sessions/${s.id}/end`, {});
  assert.deepEqual(again.body, { status: 'ended', was_open: false });
  const stranger = await ts.signIn('stranger@example.com');
  const denied = await stranger.post(`/api/orgs/${orgId}/sessions/${s.id}/end`, {});
  assert.equal(denied.status, 404, 'a non-member is not told the session exists');
});
