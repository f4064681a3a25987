// The dashboard's API as its pages use it: home across my organisations with each
// session's state and next step; members with seats, invitations with expiry and resend;
// the retention preview; the export's progress and ready email; the account's sign-in
// sessions named by device and time zone, and signing out elsewhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, freshEmail, getMe, inviteLinkIn } from './helpers/api.ts';
import { asOwner } from './helpers/recording.ts';
import { CaptureStore } from '../sfu/capture/CaptureStore.ts';

interface HomeSession {
  id: string;
  org_id: string;
  org_name: string;
  title: string;
  state: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  track_count: number;
  next_action: string;
}

let ts: TestServer;
let alice: HttpClient;
let bob: HttpClient;
let outsider: HttpClient;
const aliceEmail = freshEmail('alice');
const bobEmail = freshEmail('bob');
let orgA = '';
let orgB = '';

async function join(inviter: HttpClient, orgId: string, c: HttpClient, email: string, role = 'member') {
  const since = ts.inbox.messages.length;
  const res = await inviter.post(`/api/orgs/${orgId}/invitations`, { email, role });
  assert.equal(res.status, 201, res.text);
  const { token } = inviteLinkIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await c.post('/api/invitations/accept', { token })).status, 200);
}

before(async () => {
  ts = await startTestServer({ JOBS: 'off' });
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  alice = await ts.signIn(aliceEmail);
  bob = await ts.signIn(bobEmail);
  outsider = await ts.signIn(freshEmail('dash-outsider'));
  orgA = String((await alice.post('/api/orgs', { name: 'Alpha' })).body.id);
  orgB = String((await bob.post('/api/orgs', { name: 'Bravo' })).body.id);
  await join(bob, orgB, alice, aliceEmail);
});
after(() => ts?.close());

async function session(c: HttpClient, orgId: string, title: string): Promise<string> {
  const res = await c.post<{ id: string }>(`/api/orgs/${orgId}/sessions`, { title });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}

test('home: the sessions of all my organisations, newest first, with state and next step', async () => {
  const { deps } = ts.running;
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const live = await session(alice, orgA, 'Live one');
  const recording = await session(alice, orgA, 'Recording now');
  const host = await alice.post<{ participant_id: string }>(`/api/orgs/${orgA}/sessions/${recording}/join`, {
    display_name: 'Alice',
  });
  assert.equal(host.status, 200, host.text);
  await store.startTake(orgA, recording, host.body.participant_id, new Date());
  const ended = await session(bob, orgB, 'Just ended');
  const transcribing = await session(bob, orgB, 'Being transcribed');
  const failed = await session(bob, orgB, 'Transcription failed');
  const ready = await session(bob, orgB, 'Transcript ready');
  const erased = await session(bob, orgB, 'Erased');
  await session(outsider, String((await outsider.post('/api/orgs', { name: 'Elsewhere' })).body.id), 'Not mine');
  for (const id of [ended, transcribing, failed, ready])
    assert.equal((await bob.post(`/api/orgs/${orgB}/sessions/${id}/end`)).status, 200);
  assert.equal((await bob.request('DELETE', `/api/orgs/${orgB}/sessions/${erased}`)).status, 200);
  await asOwner(ts, async (c) => {
    // Whatever the session's end queued, set each run as the worker would have left it.
    await c.query('delete from transcription_runs where session_id = any($1)', [[ended, transcribing, failed, ready]]);
    const run = async (sid: string, status: string) =>
      (
        await c.query<{ id: string }>(
          `insert into transcription_runs (organization_id, session_id, reason, status) values ($1, $2, 'auto', $3) returning id`,
          [orgB, sid, status],
        )
      ).rows[0]?.id;
    await run(transcribing, 'running');
    await run(failed, 'failed');
    const done = await run(ready, 'done');
    await c.query(
      `insert into transcripts (run_id, organization_id, session_id, object_key, model, language, segment_count, speaker_count, audio_seconds, speech_seconds)
       values ($1, $2, $3, $4, 'seeded', 'en', 1, 1, 60, 50)`,
      [done, orgB, ready, `orgs/${orgB}/sessions/${ready}/transcripts/${done}-1.sealed`],
    );
  });
  const res = await alice.get<{ sessions: HomeSession[] }>('/api/home');
  assert.equal(res.status, 200, res.text);
  const got = res.body.sessions.map((s) => [s.title, s.org_name, s.state, s.next_action]);
  assert.deepEqual(got, [
    ['Transcript ready', 'Bravo', 'ready', 'view_transcript'],
    ['Transcription failed', 'Bravo', 'failed', 'retry_transcript'],
    ['Being transcribed', 'Bravo', 'transcribing', 'wait'],
    ['Just ended', 'Bravo', 'ended', 'open'],
    ['Recording now', 'Alpha', 'recording', 'join'],
    ['Live one', 'Alpha', 'live', 'join'],
  ]);
  const rec = res.body.sessions.find((s) => s.id === recording);
  assert.ok(rec?.started_at, 'a recorded session has started');
  assert.equal(res.body.sessions.find((s) => s.id === live)?.started_at, null);
  assert.ok(res.body.sessions.find((s) => s.id === ended)?.ended_at);
  const two = await alice.get<{ sessions: HomeSession[] }>('/api/home?limit=2');
  assert.deepEqual(
    two.body.sessions.map((s) => s.id),
    [ready, failed],
  );
  // Bob is not in Alpha: he sees only Bravo's.
  const bobs = (await bob.get<{ sessions: HomeSession[] }>('/api/home')).body.sessions;
  assert.deepEqual([...new Set(bobs.map((s) => s.org_id))], [orgB]);
  assertError(await ts.client().get('/api/home'), 401, 'unauthenticated', 'signed out');
  for (const q of ['limit=0', 'limit=201', 'limit=x', 'other=1'])
    assertError(await alice.get(`/api/home?${q}`), 400, 'invalid_input', q);
});

interface Invitation {
  id: string;
  email: string;
  role: string;
  expires_at: string;
  expired: boolean;
}

test('members: seats used against paid; invitations show expiry, resend renews the link, revoke ends it', async () => {
  const base = `/api/orgs/${orgA}`;
  const carolEmail = freshEmail('carol');
  const carol = await ts.signIn(carolEmail);
  let since = ts.inbox.messages.length;
  const inv = await alice.post<Invitation>(`${base}/invitations`, { email: carolEmail, role: 'admin' });
  assert.equal(inv.status, 201, inv.text);
  assert.equal(inv.body.expired, false);
  const oldToken = inviteLinkIn(await ts.inbox.waitFor(carolEmail, { since })).token;
  // A week later the invitation has expired: gone from the pending list, shown with include_expired.
  await asOwner(ts, (c) =>
    c.query(`update invitations set expires_at = now() - interval '1 hour' where id = $1`, [inv.body.id]),
  );
  assert.deepEqual((await alice.get<{ invitations: Invitation[] }>(`${base}/invitations`)).body.invitations, []);
  const withExpired = await alice.get<{ invitations: Invitation[] }>(`${base}/invitations?include_expired=true`);
  assert.deepEqual(
    withExpired.body.invitations.map((i) => [i.email, i.expired]),
    [[carolEmail, true]],
  );
  assertError(
    await carol.post('/api/invitations/accept', { token: oldToken }),
    404,
    'invalid_invitation',
    'expired link',
  );
  since = ts.inbox.messages.length;
  const resent = await alice.post<Invitation>(`${base}/invitations/${inv.body.id}/resend`);
  assert.equal(resent.status, 200, resent.text);
  assert.equal(resent.body.expired, false);
  assert.ok(Date.parse(resent.body.expires_at) > Date.now() + 3600_000, resent.body.expires_at);
  const mail = await ts.inbox.waitFor(carolEmail, { since });
  const newToken = inviteLinkIn(mail).token;
  assert.notEqual(newToken, oldToken);
  assert.deepEqual(
    (await alice.get<{ invitations: Invitation[] }>(`${base}/invitations`)).body.invitations.map((i) => i.id),
    [inv.body.id],
  );
  assertError(await alice.post(`${base}/invitations/not-a-uuid/resend`), 400, 'invalid_input', 'bad id');
  assertError(await bob.post(`${base}/invitations/${inv.body.id}/resend`), 404, 'org_not_found', 'another org');
  assert.equal((await carol.post('/api/invitations/accept', { token: newToken })).status, 200);
  assertError(await alice.post(`${base}/invitations/${inv.body.id}/resend`), 404, 'invitation_not_found', 'accepted');
  // A revoked invitation cannot be resent; a member may not resend.
  const dave = freshEmail('dave');
  const second = await alice.post<Invitation>(`${base}/invitations`, { email: dave });
  assert.equal((await alice.request('DELETE', `${base}/invitations/${second.body.id}`)).status, 204);
  assertError(await alice.post(`${base}/invitations/${second.body.id}/resend`), 404, 'invitation_not_found', 'revoked');
  const members = await alice.get<{ members: { email: string; display_name: string | null }[]; seats: unknown }>(
    `${base}/members`,
  );
  assert.equal(members.status, 200);
  assert.deepEqual(members.body.seats, { used: 2, paid: null }, 'billing off: no paid seats');
  const audit = await alice.get<{ events: { action: string }[] }>(`${base}/audit/events?action=invitation.resent`);
  assert.equal(audit.body.events.length, 1);
  const plainEmail = freshEmail('plain-member');
  const plain = await ts.signIn(plainEmail);
  await join(alice, orgA, plain, plainEmail);
  const third = await alice.post<Invitation>(`${base}/invitations`, { email: freshEmail('erin') });
  assertError(await plain.post(`${base}/invitations/${third.body.id}/resend`), 403, 'admin_required', 'a member');
  assert.deepEqual((await plain.get<{ seats: unknown }>(`${base}/members`)).body.seats, { used: 3, paid: null });
});

interface AuthSession {
  id: string;
  current: boolean;
  device: string;
  browser: string | null;
  os: string | null;
  time_zone: string | null;
  place: string | null;
  last_seen_at: string;
}

/** Signs in as a browser would: its user agent, and the time zone the sign-in page reports. */
async function signInFrom(email: string, ua: string, timeZone?: string): Promise<HttpClient> {
  const c = ts.client();
  const since = ts.inbox.messages.length;
  assert.equal((await c.post('/api/auth/code', { email }, { 'user-agent': ua })).status, 202);
  const mail = await ts.inbox.waitFor(email, { since, subject: /sign-in code/ });
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1] ?? '';
  const v = await c.post(
    '/api/auth/verify',
    { email, code, ...(timeZone ? { time_zone: timeZone } : {}) },
    { 'user-agent': ua },
  );
  assert.equal(v.status, 200, v.text);
  return c;
}

const MAC_CHROME =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const LINUX_FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

test('account: sign-in sessions named by device and time zone; sign out elsewhere', async () => {
  const email = freshEmail('traveller');
  const laptop = await signInFrom(email, MAC_CHROME, 'Europe/Berlin');
  const phone = await signInFrom(email, LINUX_FIREFOX);
  const list = await laptop.get<{ sessions: AuthSession[] }>('/api/auth/sessions');
  assert.equal(list.status, 200);
  const mine = list.body.sessions.find((s) => s.current);
  assert.equal(mine?.device, 'Chrome on macOS');
  assert.equal(mine?.time_zone, 'Europe/Berlin');
  assert.equal(mine?.place, 'Berlin');
  const other = list.body.sessions.find((s) => !s.current);
  assert.deepEqual([other?.device, other?.time_zone], ['Firefox on Linux', null]);
  assert.ok(other?.last_seen_at);
  // A time zone that is not one is refused, and no session is made.
  const c = ts.client();
  const since = ts.inbox.messages.length;
  await c.post('/api/auth/code', { email });
  const mail = await ts.inbox.waitFor(email, { since, subject: /sign-in code/ });
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1] ?? '';
  assertError(
    await c.post('/api/auth/verify', { email, code, time_zone: 'Mars/Olympus' }),
    400,
    'invalid_input',
    'zone',
  );
  assertError(await c.post('/api/auth/verify', { email, code, time_zone: 42 }), 400, 'invalid_input', 'zone type');
  // Sign out elsewhere: the phone is signed out, the laptop stays.
  const out = await laptop.post<{ revoked: number }>('/api/auth/sessions/revoke-others');
  assert.equal(out.status, 200, out.text);
  assert.equal(out.body.revoked, 1);
  assertError(await phone.get('/api/me'), 401, 'unauthenticated', 'the other session ended');
  assert.equal((await laptop.get('/api/me')).status, 200);
  assert.deepEqual(
    (await laptop.get<{ sessions: AuthSession[] }>('/api/auth/sessions')).body.sessions.map((s) => s.current),
    [true],
  );
  assert.equal((await laptop.post<{ revoked: number }>('/api/auth/sessions/revoke-others')).body.revoked, 0);
  assertError(await ts.client().post('/api/auth/sessions/revoke-others'), 401, 'unauthenticated', 'signed out');
  // Display name (shown to other members): existing PATCH /api/me.
  assert.equal((await laptop.patch('/api/me', { display_name: 'Tess Traveller' })).status, 200);
  assert.equal((await getMe(laptop)).body.user.display_name, 'Tess Traveller');
});

interface Preview {
  retention_days: number | null;
  next_sweep_at: string;
  sessions: { id: string; title: string; retention_ends_at: string; erase_at: string }[];
}

test('retention preview: what the next sweep would erase for a retention being considered; nothing is erased', async () => {
  const base = `/api/orgs/${orgB}`;
  const old = await session(bob, orgB, 'Forty days old');
  const recent = await session(bob, orgB, 'Ten days old');
  await asOwner(ts, async (c) => {
    await c.query(
      `update recording_sessions set created_at = now() - interval '41 days', ended_at = now() - interval '40 days' where id = $1`,
      [old],
    );
    await c.query(
      `update recording_sessions set created_at = now() - interval '11 days', ended_at = now() - interval '10 days' where id = $1`,
      [recent],
    );
  });
  const titles = (p: Preview) => p.sessions.filter((s) => [old, recent].includes(s.id)).map((s) => s.title);
  const current = await alice.get<Preview>(`${base}/retention/preview`);
  assert.equal(current.status, 200, current.text);
  assert.equal(current.body.retention_days, null);
  assert.deepEqual(current.body.sessions, [], 'kept until deleted: nothing to erase');
  const month = await alice.get<Preview>(`${base}/retention/preview?days=30`);
  assert.deepEqual(titles(month.body), ['Forty days old']);
  assert.equal(month.body.sessions[0]?.erase_at, month.body.next_sweep_at);
  const week = await alice.get<Preview>(`${base}/retention/preview?days=7`);
  assert.deepEqual(titles(week.body), ['Forty days old', 'Ten days old']);
  assert.deepEqual((await alice.get<Preview>(`${base}/retention/preview?days=none`)).body.sessions, []);
  assert.equal((await bob.request('PUT', `${base}/retention`, { retention_days: 30 })).status, 200);
  assert.deepEqual(titles((await alice.get<Preview>(`${base}/retention/preview`)).body), ['Forty days old']);
  // Previewing erased nothing.
  assert.equal((await bob.get(`${base}/sessions/${old}`)).status, 200);
  assert.equal(
    await asOwner(
      ts,
      async (c) =>
        (await c.query('select 1 from recording_sessions where id = $1 and wrapped_key is not null', [old])).rowCount,
    ),
    1,
  );
  assertError(await outsider.get(`${base}/retention/preview`), 404, 'org_not_found', 'another org');
  for (const q of ['days=0', 'days=36501', 'days=x', 'days=1.5', 'other=1'])
    assertError(await alice.get(`${base}/retention/preview?${q}`), 400, 'invalid_input', q);
});

interface Job {
  status: string;
  sessions_total: number;
  sessions_done: number;
  bytes_done: number;
  bytes_written: number;
  size_bytes: number | null;
  expires_at: string | null;
  download_url: string | null;
  error_code: string | null;
}
// Any X25519 recipient will do: the file is not opened here (test/export.test.ts opens it).
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

async function exportOf(c: HttpClient, orgId: string): Promise<Job> {
  const started = await c.post<{ id: string }>(`/api/orgs/${orgId}/exports`, { recipient: RECIPIENT });
  assert.equal(started.status, 202, started.text);
  for (let i = 0; i < 600; i++) {
    const job = (await c.get<Job>(`/api/orgs/${orgId}/exports/${started.body.id}`)).body;
    if (job.status === 'done' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('export did not finish');
}

test(
  'export: progress in sessions and bytes; the requester is emailed when it is ready, or failed',
  { timeout: 120_000 },
  async () => {
    // Bravo holds a transcript row whose object was never stored (the home test's seed): its export fails.
    let since = ts.inbox.messages.length;
    const broken = await exportOf(bob, orgB);
    assert.deepEqual([broken.status, broken.error_code], ['failed', 'object_not_found']);
    const failMail = await ts.inbox.waitFor(bobEmail, { since, subject: /export of Bravo failed/ });
    assert.match(failMail.text ?? '', new RegExp(`/orgs/${orgB}/export`));
    const orgC = String((await bob.post('/api/orgs', { name: 'Charlie' })).body.id);
    await session(bob, orgC, 'One to export');
    since = ts.inbox.messages.length;
    const job = await exportOf(bob, orgC);
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.deepEqual([job.sessions_done, job.sessions_total], [1, 1]);
    assert.equal(job.bytes_done, job.bytes_written);
    assert.ok(job.bytes_done > 0 && job.bytes_done === job.size_bytes, JSON.stringify(job));
    assert.ok(job.expires_at && Date.parse(job.expires_at) > Date.now());
    const mail = await ts.inbox.waitFor(bobEmail, { since, subject: /export of Charlie is ready/ });
    assert.match(mail.text ?? '', new RegExp(`/orgs/${orgC}/export`));
    assert.match(mail.text ?? '', /until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.equal(
      ts.inbox.messages.slice(since).filter((m) => /export/i.test(String(m.subject))).length,
      1,
      'one email, to the requester only',
    );
  },
);

test('SQL: the new definer functions act only for a proven user or a token holder', async () => {
  const app = new pg.Client({ connectionString: ts.db.appUrl });
  await app.connect();
  try {
    // The API role with nothing proven: no user, so no home sessions.
    assert.equal((await app.query('select * from app.my_home_sessions(200)')).rowCount, 0);
    // A time zone needs the session's raw token; a guess changes nothing.
    const r = await app.query<{ ok: boolean }>(`select app.auth_session_set_time_zone('not-a-token', 'UTC') as ok`);
    assert.equal(r.rows[0]?.ok, false);
    await assert.rejects(
      app.query(`select app.auth_session_set_time_zone('x', 'Europe/Berlin''; --')`),
      /invalid_input/,
    );
    // The ledger's trigger functions are not callable at all.
    await assert.rejects(app.query('select app.ledger_track_report()'), /permission denied|trigger/);
  } finally {
    await app.end();
  }
});
