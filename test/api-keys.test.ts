// Organisation API keys through the real API: created once by owners and admins, listed
// without their secret, used as `Authorization: Bearer` on org routes with the key's role
// inside the same RLS boundary, refused at once when revoked or expired, never usable in
// another org, never able to manage keys or members, and attributed to the key (by name) in
// the audit log and on what they create.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { HttpClient, type Res } from './helpers/http.ts';
import { assertError, freshEmail, getMe, inviteLinkIn } from './helpers/api.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';

let ts: TestServer;
let alice: HttpClient; // owner of A
let dave: HttpClient; // member of A
let bob: HttpClient; // owner of B
const ids = { orgA: '', orgB: '', alice: '', dave: '' };
const emails = { alice: freshEmail('alice'), dave: freshEmail('dave'), bob: freshEmail('bob') };
let owner: pg.Client;
const HASH_BUDGET = 30;

interface Created {
  id: string;
  name: string;
  prefix: string;
  role: string;
  created_at: string;
  expires_at: string | null;
  key: string;
}
interface Listed {
  api_keys: {
    id: string;
    name: string;
    prefix: string;
    role: string;
    created_by: { user_id: string; email: string | null } | null;
    last_used_at: string | null;
    revoked_at: string | null;
    expires_at: string | null;
  }[];
}
interface AuditBody {
  entries: {
    action: string;
    actor: {
      user_id: string | null;
      email: string | null;
      api_key: { id: string; name: string; prefix: string } | null;
    };
    details: Record<string, unknown>;
  }[];
}

/** The secret part of a key (`rec_<12>_<secret>`; the secret itself may contain `_`). */
const secretOf = (key: string) => key.slice('rec_'.length + 12 + 1);

/** A client that authenticates with `key` only (plus whatever cookies `base` holds). */
function withKey(key: string, base: HttpClient = ts.client()) {
  const h = { authorization: `Bearer ${key}` };
  return {
    get: <T = Record<string, unknown>>(p: string) => base.request<T>('GET', p, undefined, h),
    post: <T = Record<string, unknown>>(p: string, b: unknown = {}) => base.request<T>('POST', p, b, h),
    patch: <T = Record<string, unknown>>(p: string, b: unknown) => base.request<T>('PATCH', p, b, h),
    delete: <T = Record<string, unknown>>(p: string) => base.request<T>('DELETE', p, undefined, h),
    request: <T = Record<string, unknown>>(m: string, p: string, b?: unknown) => base.request<T>(m, p, b, h),
  };
}

async function createKey(c: HttpClient, orgId: string, body: Record<string, unknown>): Promise<Created> {
  const r = await c.post<Created>(`/api/orgs/${orgId}/api-keys`, body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

before(async () => {
  // A small budget of uncached key hashes per client, spent by the last test.
  ts = await startTestServer({ RATE_LIMIT_KEY_HASHES_PER_CLIENT: String(HASH_BUDGET) });
  owner = new pg.Client({ connectionString: ts.db.ownerUrl });
  await owner.connect();
  alice = await ts.signIn(emails.alice);
  dave = await ts.signIn(emails.dave);
  bob = await ts.signIn(emails.bob);
  ids.orgA = String((await alice.post('/api/orgs', { name: 'Org A' })).body.id);
  ids.orgB = String((await bob.post('/api/orgs', { name: 'Org B' })).body.id);
  ids.alice = (await getMe(alice)).body.user.id;
  ids.dave = (await getMe(dave)).body.user.id;
  const since = ts.inbox.messages.length;
  const inv = await alice.post(`/api/orgs/${ids.orgA}/invitations`, { email: emails.dave, role: 'member' });
  assert.equal(inv.status, 201, inv.text);
  const link = inviteLinkIn(await ts.inbox.waitFor(emails.dave, { since }));
  assert.equal((await dave.post('/api/invitations/accept', { token: link.token })).status, 200);
});
after(async () => {
  await owner.end();
  await ts.close();
});

test('an owner creates a key: shown once, listed without it, stored only as an argon2id verifier', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Booking sync', role: 'member' });
  assert.match(k.key, /^rec_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  assert.ok(k.key.startsWith(`rec_${k.prefix}_`), 'the prefix names the key');
  assert.equal(k.role, 'member');
  assert.equal(k.expires_at, null);
  const list = await alice.get<Listed>(`/api/orgs/${ids.orgA}/api-keys`);
  assert.equal(list.status, 200);
  const row = list.body.api_keys.find((x) => x.id === k.id);
  assert.ok(row);
  assert.deepEqual(
    { name: row.name, prefix: row.prefix, role: row.role, by: row.created_by, used: row.last_used_at },
    {
      name: 'Booking sync',
      prefix: k.prefix,
      role: 'member',
      by: { user_id: ids.alice, email: emails.alice },
      used: null,
    },
  );
  assert.ok(!list.text.includes(secretOf(k.key)), 'the list never carries the secret');
  // In the database: salt, argon2 parameters and a 32-byte verifier; nothing holds the secret.
  const stored = (await owner.query('select * from api_keys where id = $1', [k.id])).rows[0] as Record<string, unknown>;
  assert.equal((stored.salt as Buffer).length, 16);
  assert.equal((stored.verifier as Buffer).length, 32);
  assert.deepEqual([stored.argon2_memory_kib, stored.argon2_iterations, stored.argon2_parallelism], [19456, 2, 1]);
  const secret = secretOf(k.key);
  assert.ok(!JSON.stringify(stored).includes(secret));
  assert.ok(!(stored.verifier as Buffer).toString('hex').includes(Buffer.from(secret).toString('hex')));
});

test('a member key works on org routes without CSRF, acts as a member, and its session names the key', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Interview bot', role: 'member' });
  const api = withKey(k.key);
  const A = `/api/orgs/${ids.orgA}`;
  assert.equal((await api.get(`${A}/sessions`)).status, 200);
  const created = await api.post<{ id: string; title: string }>(`${A}/sessions`, { title: 'Booked interview' });
  assert.equal(created.status, 201, created.text);
  const detail = await alice.get<{ id: string; title: string }>(`${A}/sessions/${created.body.id}`);
  assert.equal(detail.body.title, 'Booked interview', 'the owner sees what the key created');
  const row = (
    await owner.query('select created_by, created_by_api_key_id from recording_sessions where id = $1', [
      created.body.id,
    ])
  ).rows[0] as { created_by: string | null; created_by_api_key_id: string | null };
  assert.deepEqual(row, { created_by: null, created_by_api_key_id: k.id });
  // Sessions can be ended through the API.
  const ended = await api.post<{ status?: string }>(`${A}/sessions/${created.body.id}/end`);
  assert.equal(ended.status, 200, ended.text);
  assert.equal((await alice.get<{ status: string }>(`${A}/sessions/${created.body.id}`)).body.status, 'ended');
  // A member key gets 403 on admin routes, like a member.
  assertError(await api.get(`${A}/audit`), 403, 'admin_required', 'member key reads audit');
  assertError(await api.patch(A, { name: 'Renamed by key' }), 403, 'admin_required', 'member key renames');
  assertError(await api.get(`${A}/api-keys`), 403, 'api_key_forbidden', 'member key lists keys');
  // A member key deletes what it created, as a member deletes their own sessions.
  const other = await alice.post<{ id: string }>(`${A}/sessions`, { title: 'Alice talk' });
  assertError(
    await api.delete(`${A}/sessions/${other.body.id}`),
    403,
    'admin_required',
    "member key deletes another's",
  );
  const erased = await api.delete<{ certificate: { certificate: Record<string, unknown> } }>(
    `${A}/sessions/${created.body.id}`,
  );
  assert.equal(erased.status, 200);
  const statement = erased.body.certificate.certificate;
  assert.equal(statement.requested_by, null, 'the signed certificate names no person');
  assert.deepEqual(statement.requested_by_api_key, { id: k.id, name: 'Interview bot', prefix: k.prefix });
});

test('cookies are ignored on key requests: a member key with an owner cookie is still a member', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Cookie test', role: 'member' });
  const jar = new HttpClient(ts.url);
  for (const [n, v] of alice.cookies) jar.cookies.set(n, v);
  jar.csrf = false;
  const api = withKey(k.key, jar);
  assertError(await api.get(`/api/orgs/${ids.orgA}/audit`), 403, 'admin_required', 'owner cookie + member key');
  // No CSRF header, yet a write succeeds: CSRF does not apply to a bearer request.
  assert.equal((await api.post(`/api/orgs/${ids.orgA}/sessions`, { title: 'No CSRF needed' })).status, 201);
  // A route outside an org sees no user (a key is not a person, and the cookie is ignored).
  assertError(await api.get('/api/me'), 401, 'unauthenticated', '/api/me with a key');
});

test('an admin key reads admin routes but cannot manage keys, members or the organization', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Ops', role: 'admin' });
  const api = withKey(k.key);
  const A = `/api/orgs/${ids.orgA}`;
  assert.equal((await api.get(`${A}/audit`)).status, 200);
  assert.equal((await api.get(`${A}/members`)).status, 200);
  // Admin work a script may do; what it writes names the key (settings.updated_by is no person).
  const settings = await api.patch<{ language: string }>(`${A}/settings/transcription`, { language: 'de' });
  assert.equal(settings.status, 200, settings.text);
  assert.equal(settings.body.language, 'de');
  assert.equal((await api.request('PUT', `${A}/retention`, { retention_days: 90 })).status, 200);
  assertError(await api.post(`${A}/api-keys`, { name: 'Child', role: 'admin' }), 403, 'api_key_forbidden', 'create');
  assertError(await api.get(`${A}/api-keys`), 403, 'api_key_forbidden', 'list');
  assertError(await api.delete(`${A}/api-keys/${k.id}`), 403, 'api_key_forbidden', 'revoke');
  assertError(await api.patch(`${A}/members/${ids.dave}`, { role: 'admin' }), 403, 'api_key_forbidden', 'role');
  assertError(await api.delete(`${A}/members/${ids.dave}`), 403, 'api_key_forbidden', 'remove');
  assertError(
    await api.post(`${A}/invitations`, { email: freshEmail('x'), role: 'member' }),
    403,
    'api_key_forbidden',
    'invite',
  );
  assertError(await api.post(`${A}/deletion`, { confirm_name: 'Org A' }), 403, 'api_key_forbidden', 'delete org');
  assert.equal((await alice.get<{ scheduled: boolean }>(`${A}/deletion`)).body.scheduled, false);
  const members = await alice.get<{ members: { user_id: string; role: string }[] }>(`${A}/members`);
  assert.equal(members.body.members.find((m) => m.user_id === ids.dave)?.role, 'member', 'Dave is unchanged');
});

test("a key of org A gets 404 on org B's routes", async () => {
  const k = await createKey(alice, ids.orgA, { name: 'A only', role: 'admin' });
  const api = withKey(k.key);
  const B = `/api/orgs/${ids.orgB}`;
  for (const [what, call] of [
    ['GET org', () => api.get(B)],
    ['GET sessions', () => api.get(`${B}/sessions`)],
    ['POST session', () => api.post(`${B}/sessions`, { title: 'Intrusion' })],
    ['GET audit', () => api.get(`${B}/audit`)],
    ['GET members', () => api.get(`${B}/members`)],
  ] as [string, () => Promise<Res>][])
    assertError(await call(), 404, 'org_not_found', what);
  const sessionsB = await bob.get<{ sessions: unknown[] }>(`${B}/sessions`);
  assert.deepEqual(sessionsB.body.sessions, [], 'nothing was created in B');
});

test('a revoked key gets 401 at once, even right after a request that cached its hash', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Short lived', role: 'member' });
  const api = withKey(k.key);
  const A = `/api/orgs/${ids.orgA}`;
  assert.equal((await api.get(`${A}/sessions`)).status, 200);
  assert.equal((await alice.delete(`${A}/api-keys/${k.id}`)).status, 204);
  assertError(await api.get(`${A}/sessions`), 401, 'invalid_api_key', 'revoked key');
  assertError(await alice.delete(`${A}/api-keys/${k.id}`), 404, 'api_key_not_found', 'revoked twice');
  const listed = (await alice.get<Listed>(`${A}/api-keys`)).body.api_keys.find((x) => x.id === k.id);
  assert.ok(listed?.revoked_at && listed.last_used_at, 'the list shows when it was used and revoked');
});

test('an expired key gets 401', async () => {
  const expires = new Date(ts.clock.now().getTime() + 3600_000).toISOString();
  const k = await createKey(alice, ids.orgA, { name: 'One hour', role: 'member', expires_at: expires });
  assert.equal(k.expires_at, expires);
  const api = withKey(k.key);
  assert.equal((await api.get(`/api/orgs/${ids.orgA}/sessions`)).status, 200);
  ts.clock.advance(3601);
  try {
    assertError(await api.get(`/api/orgs/${ids.orgA}/sessions`), 401, 'invalid_api_key', 'expired key');
  } finally {
    ts.clock.advance(-3601);
  }
});

test('malformed, unknown and wrong keys get 401 invalid_api_key', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Real', role: 'member' });
  const A = `/api/orgs/${ids.orgA}/sessions`;
  const wrongSecret = `rec_${k.prefix}_${'A'.repeat(43)}`;
  const unknown = `rec_${'z'.repeat(12)}_${secretOf(k.key)}`;
  for (const bad of [wrongSecret, unknown, 'rec_short', k.key + 'x'])
    assertError(await withKey(bad).get(A), 401, 'invalid_api_key', bad.slice(0, 20));
  // Another scheme is not ours (a proxy's basic auth): ignored, so this is just anonymous.
  const basic = await ts.client().request('GET', A, undefined, { authorization: 'Basic YTpi' });
  assertError(basic, 401, 'unauthenticated', 'basic auth');
  const notOurs = await alice.request('GET', A, undefined, { authorization: 'Bearer sk_live_other' });
  assert.equal(notOurs.status, 200, 'a bearer that is not ours leaves the cookie in charge');
});

test('only signed-in owners and admins create keys; input is validated', async () => {
  const A = `/api/orgs/${ids.orgA}/api-keys`;
  assertError(await dave.post(A, { name: 'Mine', role: 'member' }), 403, 'admin_required', 'member creates');
  assertError(await dave.get(A), 403, 'admin_required', 'member lists');
  assertError(await ts.client().post(A, { name: 'Anon', role: 'member' }), 401, 'unauthenticated', 'anonymous');
  assertError(await bob.post(A, { name: 'Other org', role: 'member' }), 404, 'org_not_found', 'owner of B');
  for (const body of [
    { name: 'x', role: 'owner' },
    { name: '', role: 'member' },
    { name: 'x', role: 'member', expires_at: 'tomorrow' },
    { name: 'x', role: 'member', extra: 1 },
    { name: 'bad\u0000name', role: 'member' },
  ])
    assertError(await alice.post(A, body), 400, 'invalid_input', JSON.stringify(body));
  assertError(
    await alice.post(A, { name: 'past', role: 'member', expires_at: '2001-01-01T00:00:00Z' }),
    400,
    'invalid_expiry',
    'past expiry',
  );
  assertError(await alice.delete(`${A}/not-a-uuid`), 400, 'invalid_input', 'bad id');
});

test('creating, first use and revoking are audit events naming the key; logs carry only its prefix', async () => {
  const k = await createKey(alice, ids.orgA, { name: 'Audited', role: 'admin' });
  const api = withKey(k.key);
  const A = `/api/orgs/${ids.orgA}`;
  const logStart = ts.logs.length;
  for (let i = 0; i < 3; i++) assert.equal((await api.get(`${A}/sessions`)).status, 200);
  const s = await api.post<{ id: string }>(`${A}/sessions`, { title: 'By key' });
  assert.equal(s.status, 201);
  assert.equal((await alice.delete(`${A}/api-keys/${k.id}`)).status, 204);
  const audit = await alice.get<AuditBody>(`${A}/audit?limit=500`);
  const mine = audit.body.entries.filter(
    (e) => (e.details.api_key as { id?: string } | undefined)?.id === k.id || e.actor.api_key?.id === k.id,
  );
  const actions = mine.map((e) => e.action).reverse();
  assert.deepEqual(
    actions,
    ['api_key.created', 'api_key.first_used', 'session.created', 'api_key.revoked'].filter((a) => actions.includes(a)),
  );
  assert.ok(actions.includes('api_key.created') && actions.includes('api_key.revoked'));
  assert.equal(actions.filter((a) => a === 'api_key.first_used').length, 1, 'first use is recorded once');
  const created = mine.find((e) => e.action === 'api_key.created');
  assert.equal(created?.actor.email, emails.alice, 'a person created it');
  const firstUse = mine.find((e) => e.action === 'api_key.first_used');
  assert.deepEqual(firstUse?.actor, {
    user_id: null,
    email: null,
    api_key: { id: k.id, name: 'Audited', prefix: k.prefix },
  });
  const lines = ts.logs.slice(logStart).join('\n');
  assert.ok(!lines.includes(secretOf(k.key)), 'the secret never reaches a log line');
  assert.ok(lines.includes(`"credential":"rec_${k.prefix}"`), 'request lines name the key by prefix');
});

test('keys die with their organisation; the audit entries they made keep their name', { timeout: 60_000 }, async () => {
  const org = String((await alice.post('/api/orgs', { name: 'Doomed' })).body.id);
  const k = await createKey(alice, org, { name: 'Dies', role: 'member' });
  const api = withKey(k.key);
  assert.equal((await api.post(`/api/orgs/${org}/sessions`, { title: 'Last words' })).status, 201);
  assert.equal((await alice.post(`/api/orgs/${org}/deletion`, { confirm_name: 'Doomed' })).status, 202);
  ts.clock.advance(8 * 86400);
  try {
    const r = await runLifecycleSweep(ts.running.deps);
    assert.ok(r.orgs_deleted >= 1, 'the sweep deleted the org');
  } finally {
    ts.clock.advance(-8 * 86400);
  }
  assert.equal((await owner.query('select count(*)::int n from api_keys where id = $1', [k.id])).rows[0].n, 0);
  assertError(await api.get(`/api/orgs/${org}/sessions`), 401, 'invalid_api_key', 'after deletion');
  const kept = await owner.query<{ action: string; key: string | null; name: string }>(
    `select action, actor_api_key_id::text as key, details -> 'api_key' ->> 'name' as name from audit_log
      where organization_id is null and details -> 'api_key' ->> 'id' = $1 order by id`,
    [k.id],
  );
  assert.deepEqual(
    kept.rows.map((r) => [r.action, r.key, r.name]),
    [
      ['api_key.created', null, 'Dies'],
      ['api_key.first_used', null, 'Dies'],
      ['session.created', null, 'Dies'],
    ],
  );
});

test(
  'an admin key exports the organisation: the job completes, and the audit names the key',
  { timeout: 60_000 },
  async () => {
    const k = await createKey(alice, ids.orgA, { name: 'Backup job', role: 'admin' });
    const api = withKey(k.key);
    const A = `/api/orgs/${ids.orgA}`;
    const started = await api.post<{ id: string; status: string }>(`${A}/exports`, {
      passphrase: 'a long enough passphrase',
    });
    assert.equal(started.status, 202, started.text);
    let status = started.body.status;
    for (let i = 0; i < 200 && status !== 'done' && status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await api.get<{ status: string }>(`${A}/exports/${started.body.id}`)).body.status;
    }
    assert.equal(status, 'done');
    const file = await ts.client().request('GET', `${A}/exports/${started.body.id}/download`, undefined, {
      authorization: `Bearer ${k.key}`,
    });
    assert.equal(file.status, 200);
    assert.match(file.text, /^age-encryption\.org\/v1/, 'an age file');
    const rows = (
      await owner.query<{ action: string; actor_user_id: string | null; actor_api_key_id: string | null }>(
        `select action, actor_user_id, actor_api_key_id from audit_log
        where details ->> 'export_id' = $1 order by id`,
        [started.body.id],
      )
    ).rows;
    assert.deepEqual(rows, [
      { action: 'export.requested', actor_user_id: null, actor_api_key_id: k.id },
      { action: 'export.completed', actor_user_id: null, actor_api_key_id: null },
      { action: 'export.downloaded', actor_user_id: null, actor_api_key_id: k.id },
    ]);
  },
);

test('guessing secrets is rate limited per client; keys already verified keep working', async () => {
  const good = await createKey(alice, ids.orgA, { name: 'Steady', role: 'member' });
  const fresh = await createKey(alice, ids.orgA, { name: 'Fresh', role: 'member' });
  const A = `/api/orgs/${ids.orgA}/sessions`;
  assert.equal((await withKey(good.key).get(A)).status, 200);
  let res: Res | undefined;
  for (let i = 0; i <= HASH_BUDGET; i++) {
    res = await withKey(`rec_${good.prefix}_${randomBytes(32).toString('base64url')}`).get(A);
    if (res.status === 429) break;
    assertError(res, 401, 'invalid_api_key', `guess ${i}`);
  }
  assert.ok(res);
  assertError(res, 429, 'rate_limited', 'guessing');
  assert.ok(Number(res.headers.get('retry-after')) > 0);
  assert.equal((await withKey(good.key).get(A)).status, 200, 'a verified key is cached: no hash, no limit');
  assertError(await withKey(fresh.key).get(A), 429, 'rate_limited', 'a new key from the same client waits');
});
