// Sign-in by emailed code, sessions, CSRF and sign-out, driven over HTTP against the real
// server with a real SMTP inbox. Rate limits and the https/outbox configuration have files
// of their own (auth-limits, auth-config).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, codeIn, otherCode, freshEmail, getMe, type Lists } from './helpers/api.ts';

let ts: TestServer;
let owner: pg.Client;
const DAY = 24 * 3600;

before(async () => {
  ts = await startTestServer();
  owner = new pg.Client({ connectionString: ts.db.ownerUrl });
  await owner.connect();
});
after(async () => {
  await owner.end();
  await ts.close();
});

/** Asks for a code on a fresh client and returns the client, the code and the mail. */
async function requestCode(email: string, c: HttpClient = ts.client()) {
  const since = ts.inbox.messages.length;
  const res = await c.post('/api/auth/code', { email });
  assert.equal(res.status, 202, res.text);
  const mail = await ts.inbox.waitFor(email, { since });
  return { c, res, mail, code: codeIn(mail) };
}

test('full sign-in through the real SMTP server: code by mail, session cookie, /api/me', async () => {
  const email = freshEmail('alice');
  const { c, mail, code } = await requestCode(email);
  assert.match(mail.subject ?? '', /sign-in code/i);
  assert.match(code, /^\d{6}$/);
  const unauth = await c.get('/api/me');
  assertError(unauth, 401, 'unauthenticated', 'me before sign-in');
  const v = await c.post('/api/auth/verify', { email: email.toUpperCase(), code });
  assert.equal(v.status, 200, v.text);
  assert.equal((v.body.user as { email: string }).email, email);
  assert.ok(c.cookies.get('sid'), 'a session cookie is set');
  const me = await getMe(c);
  assert.equal(me.status, 200);
  assert.equal(me.body.user.email, email);
  assert.deepEqual(me.body.memberships, []);
});

test('a wrong code is 401 invalid_code and the right one still works afterwards', async () => {
  const email = freshEmail('wrong');
  const { c, code } = await requestCode(email);
  assertError(await c.post('/api/auth/verify', { email, code: otherCode(code) }), 401, 'invalid_code', 'wrong code');
  assert.equal(c.cookies.has('sid'), false);
  assert.equal((await c.post('/api/auth/verify', { email, code })).status, 200);
});

test('after 5 wrong tries the code is dead, even for the right code', async () => {
  const email = freshEmail('brute');
  const { c, code } = await requestCode(email);
  for (let i = 0; i < 5; i++)
    assertError(
      await c.post('/api/auth/verify', { email, code: otherCode(code) }),
      401,
      'invalid_code',
      `try ${i + 1}`,
    );
  assertError(await c.post('/api/auth/verify', { email, code }), 401, 'invalid_code', 'right code after 5 wrong tries');
  assert.equal((await c.get('/api/me')).status, 401);
});

test('a code expires after 10 minutes (clock)', async () => {
  const email = freshEmail('late');
  const first = await requestCode(email);
  ts.clock.advance(601);
  assertError(await first.c.post('/api/auth/verify', { email, code: first.code }), 401, 'invalid_code', 'expired code');
  const second = await requestCode(email);
  ts.clock.advance(590);
  assert.equal(
    (await second.c.post('/api/auth/verify', { email, code: second.code })).status,
    200,
    'a code is still good just before 10 minutes',
  );
});

test('a code works once', async () => {
  const email = freshEmail('once');
  const { c, code } = await requestCode(email);
  assert.equal((await c.post('/api/auth/verify', { email, code })).status, 200);
  assertError(await ts.client().post('/api/auth/verify', { email, code }), 401, 'invalid_code', 'second use');
});

test('a newer code supersedes the older one', async () => {
  const email = freshEmail('newer');
  const older = await requestCode(email);
  const newer = await requestCode(email);
  assertError(await older.c.post('/api/auth/verify', { email, code: older.code }), 401, 'invalid_code', 'older code');
  assert.equal((await newer.c.post('/api/auth/verify', { email, code: newer.code })).status, 200);
});

test('known and unknown addresses get the same answer and the same work (a code by mail)', async () => {
  const known = freshEmail('known');
  await ts.signIn(known);
  const unknown = freshEmail('unknown');
  const a = await requestCode(known);
  const b = await requestCode(unknown);
  assert.equal(a.res.status, b.res.status);
  assert.deepEqual(a.res.body, b.res.body);
  assert.equal(a.mail.subject?.replace(/\d{6}/, ''), b.mail.subject?.replace(/\d{6}/, ''));
  const rows = await owner.query<{ email: string; n: number }>(
    `select email, count(*)::int as n
       from login_codes where email = any($1::text[]) and used_at is null and dead_at is null group by email`,
    [[known, unknown]],
  );
  assert.deepEqual(
    rows.rows.map((r) => r.n),
    [1, 1],
    'each address holds exactly one live code',
  );
  // A wrong code is refused identically for both.
  const wa = await a.c.post('/api/auth/verify', { email: known, code: otherCode(a.code) });
  const wb = await b.c.post('/api/auth/verify', { email: unknown, code: otherCode(b.code) });
  assert.equal(wa.status, wb.status);
  assert.deepEqual(wa.body, wb.body);
});

test('the session cookie is HttpOnly, SameSite=Lax, not Secure on http; the CSRF cookie is readable', async () => {
  const email = freshEmail('cookie');
  const { c, code } = await requestCode(email);
  const v = await c.post('/api/auth/verify', { email, code });
  const cookies = v.headers.getSetCookie();
  const sid = cookies.find((s) => s.startsWith('sid='));
  const csrf = cookies.find((s) => s.startsWith('csrf_token='));
  assert.ok(sid && csrf, cookies.join(' | '));
  assert.match(sid, /;\s*httponly/i);
  assert.match(sid, /;\s*samesite=lax/i);
  assert.match(sid, /;\s*path=\//i);
  assert.doesNotMatch(sid, /;\s*secure/i);
  assert.doesNotMatch(csrf, /;\s*httponly/i, 'the page must be able to read the CSRF cookie');
  assert.match(csrf, /;\s*samesite=lax/i);
  const token = sid.slice(4, sid.indexOf(';'));
  assert.match(token, /^[A-Za-z0-9_-]{40,}$/, 'an opaque random token');
  const stored = await owner.query(`select 1 from auth_sessions where token_hash = $1::bytea`, [
    createHash('sha256').update(token).digest(),
  ]);
  assert.equal(stored.rowCount, 1, 'the session is stored by the hash of its token');
  const clear = await owner.query(
    `select 1 from auth_sessions where encode(token_hash, 'escape') like '%' || $1::text || '%'`,
    [token],
  );
  assert.equal(clear.rowCount, 0, 'the token itself is not stored');
});

test('CSRF: a cookie-authenticated write without or with a wrong x-csrf-token is 403 csrf_failed', async () => {
  const c = await ts.signIn(freshEmail('csrf'));
  c.csrf = false;
  assertError(await c.post('/api/orgs', { name: 'No header' }), 403, 'csrf_failed', 'no header');
  assertError(
    await c.post('/api/orgs', { name: 'Wrong header' }, { 'x-csrf-token': 'x'.repeat(32) }),
    403,
    'csrf_failed',
    'wrong header',
  );
  assertError(
    await c.post('/api/auth/logout', undefined, { 'x-csrf-token': '' }),
    403,
    'csrf_failed',
    'logout without header',
  );
  c.csrf = true;
  assert.equal(
    (await c.get<Lists>('/api/orgs')).body.organizations.length,
    0,
    'nothing was created by the refused requests',
  );
  assert.equal((await c.post('/api/orgs', { name: 'With header' })).status, 201);
  assert.equal((await c.get('/api/me')).status, 200, 'still signed in after the refused logout');
});

test('sessions: list them, revoke another one (that client is then 401); someone else cannot', async () => {
  const email = freshEmail('multi');
  const laptop = await ts.signIn(email);
  const phone = await ts.signIn(email);
  const list = await laptop.get('/api/auth/sessions');
  assert.equal(list.status, 200);
  const sessions = list.body.sessions as { id: string; current: boolean }[];
  assert.equal(sessions.length, 2);
  assert.equal(sessions.filter((s) => s.current).length, 1);
  const other = sessions.find((s) => !s.current);
  assert.ok(other);
  const stranger = await ts.signIn(freshEmail('stranger'));
  assertError(
    await stranger.delete(`/api/auth/sessions/${other.id}`),
    404,
    'session_not_found',
    'revoke a stranger session',
  );
  assert.equal((await phone.get('/api/me')).status, 200, 'the phone is untouched by the stranger');
  assert.equal((await laptop.delete(`/api/auth/sessions/${other.id}`)).status, 204);
  assertError(await phone.get('/api/me'), 401, 'unauthenticated', 'revoked phone');
  assert.equal((await laptop.get('/api/me')).status, 200, 'the laptop stays signed in');
  assert.equal(((await laptop.get('/api/auth/sessions')).body.sessions as unknown[]).length, 1);
  assertError(await laptop.delete(`/api/auth/sessions/${other.id}`), 404, 'session_not_found', 'revoke twice');
});

test('logout ends the session on the server: the old cookie no longer works', async () => {
  const c = await ts.signIn(freshEmail('bye'));
  const sid = c.cookies.get('sid');
  assert.ok(sid);
  const res = await c.post('/api/auth/logout');
  assert.equal(res.status, 204);
  assert.equal(c.cookies.has('sid'), false, 'the cookie is cleared');
  const replay = ts.client();
  replay.cookies.set('sid', sid);
  assertError(await replay.get('/api/me'), 401, 'unauthenticated', 'replayed cookie after logout');
});

test('idle expiry: 7 days without use ends a session; use keeps it alive', async () => {
  const c = await ts.signIn(freshEmail('idle'));
  ts.clock.advance(6 * DAY);
  assert.equal((await c.get('/api/me')).status, 200);
  ts.clock.advance(6 * DAY);
  assert.equal((await c.get('/api/me')).status, 200, 'each use restarts the idle clock');
  ts.clock.advance(7 * DAY + 60);
  assertError(await c.get('/api/me'), 401, 'unauthenticated', 'idle session');
});

test('absolute expiry: a session in daily use still ends after 30 days', async () => {
  const c = await ts.signIn(freshEmail('absolute'));
  for (let day = 5; day <= 25; day += 5) {
    ts.clock.advance(5 * DAY);
    assert.equal((await c.get('/api/me')).status, 200, `day ${day}`);
  }
  ts.clock.advance(4 * DAY);
  assert.equal((await c.get('/api/me')).status, 200, 'day 29');
  ts.clock.advance(DAY + 60);
  assertError(await c.get('/api/me'), 401, 'unauthenticated', 'day 30');
});

test('the code never reaches the logs and is not stored in clear', async () => {
  const email = freshEmail('secretive');
  ts.logs.length = 0;
  const { c, code } = await requestCode(email);
  await c.post('/api/auth/verify', { email, code: otherCode(code) });
  assert.equal((await c.post('/api/auth/verify', { email, code })).status, 200);
  assert.ok(ts.logs.length >= 3, 'requests were logged');
  for (const line of ts.logs) {
    assert.ok(!line.includes(code), `code in log line: ${line}`);
    assert.ok(!line.includes(email), `email in log line: ${line}`);
  }
  const { rows } = await owner.query(
    `select id::text, email, encode(code_hash, 'hex') as hex, code_hash from login_codes where email = $1::text`,
    [email],
  );
  assert.equal(rows.length, 1);
  const row = rows[0];
  assert.ok(!JSON.stringify({ ...row, code_hash: undefined }).includes(code), 'no column holds the code');
  assert.equal(row.code_hash.length, 32, 'a 256-bit hash');
  for (const guess of [code, `${email}:${code}`, `${row.id}:${email}:${code}`]) {
    assert.notEqual(
      row.hex,
      createHash('sha256').update(guess).digest('hex'),
      'an unkeyed hash could be brute-forced from a million candidates',
    );
  }
});
