// Deleting one's account as a person would: the last owner of an org is told to hand
// ownership over first; a deletion signs the person out everywhere at once; signing in
// again within 30 days offers a restore (403 account_pending_deletion with a restore token)
// instead of a session, and restoring brings everything back; after 30 days the account is
// purged (memberships gone, its address removed from the audit log). Time moves through the
// injectable clock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { assertError, codeIn, freshEmail, getMe } from './helpers/api.ts';
import type { HttpClient } from './helpers/http.ts';
import { asOwner } from './helpers/recording.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';

const DAY = 24 * 3600;
let ts: TestServer;

before(async () => {
  ts = await startTestServer({ JOBS: 'off' });
});
after(async () => {
  await ts?.close();
});

/** Requests a code and verifies it: returns the raw verify response. */
async function verify(c: HttpClient, email: string) {
  const since = ts.inbox.messages.length;
  assert.equal((await c.post('/api/auth/code', { email })).status, 202);
  return c.post('/api/auth/verify', { email, code: codeIn(await ts.inbox.waitFor(email, { since })) });
}

async function join(owner: HttpClient, orgId: string, email: string, role: string): Promise<HttpClient> {
  await owner.post(`/api/orgs/${orgId}/invitations`, { email, role });
  const mail = await ts.inbox.waitFor(email);
  const token = new URLSearchParams(
    new URL(/(https?:\/\/\S+\/invite\S*)/.exec(mail.text ?? '')?.[1] ?? '').hash.slice(1),
  ).get('token');
  const c = await ts.signIn(email);
  assert.equal((await c.post('/api/invitations/accept', { token })).status, 200);
  return c;
}

test('the last owner cannot delete the account until ownership is handed over', async () => {
  const email = freshEmail('solo');
  const c = await ts.signIn(email);
  const org = (await c.post('/api/orgs', { name: 'Solo Studio' })).body as { id: string };
  assertError(
    await c.request('DELETE', '/api/me', { confirm_email: 'someone-else@example.com' }),
    400,
    'confirmation_mismatch',
  );
  const refused = await c.request('DELETE', '/api/me', { confirm_email: email });
  assertError(refused, 409, 'last_owner');
  assert.deepEqual(
    (refused.body as { error: { organizations: { id: string }[] } }).error.organizations.map((o) => o.id),
    [org.id],
  );
  // A second owner joins: now the account can go.
  await join(c, org.id, freshEmail('co-owner'), 'owner');
  const ok = await c.request('DELETE', '/api/me', { confirm_email: email });
  assert.equal(ok.status, 200, ok.text);
});

test('an org scheduled for deletion does not hold its last owner back', async () => {
  const email = freshEmail('leaving');
  const c = await ts.signIn(email);
  const org = (await c.post('/api/orgs', { name: 'Closing Down' })).body as { id: string };
  assert.equal((await c.post(`/api/orgs/${org.id}/deletion`, { confirm_name: 'Closing Down' })).status, 202);
  assert.equal((await c.request('DELETE', '/api/me', { confirm_email: email })).status, 200);
});

test('deletion signs out everywhere; signing in offers a restore for 30 days; then the account is purged', async () => {
  const email = freshEmail('member');
  const owner = await ts.signIn(freshEmail('boss'));
  const org = (await owner.post('/api/orgs', { name: 'Keepers' })).body as { id: string };
  const laptop = await join(owner, org.id, email, 'admin');
  const phone = await ts.signIn(email);
  const me = await getMe(laptop);
  const userId = me.body.user.id;
  const since = ts.inbox.messages.length;
  const del = await laptop.request('DELETE', '/api/me', { confirm_email: email });
  assert.equal(del.status, 200, del.text);
  assert.ok(Math.abs(Date.parse(String(del.body.purge_at)) - (ts.clock.now().getTime() + 30 * DAY * 1000)) < 60_000);
  assert.match((await ts.inbox.waitFor(email, { since, subject: /will be deleted/ })).text ?? '', /Restore my account/);
  assertError(await getMe(laptop), 401, 'unauthenticated', 'this browser');
  assertError(await getMe(phone), 401, 'unauthenticated', 'every other session too');
  // Signing in: the code is right, but there is no session, only a restore offer.
  const c = ts.client();
  const v = await verify(c, email);
  assertError(v, 403, 'account_pending_deletion');
  const offer = (v.body as { error: { restore_token: string; purge_at: string } }).error;
  assert.match(offer.restore_token, /^[A-Za-z0-9_-]{40,}$/);
  assert.ok(!c.cookies.has('sid'), 'no session cookie');
  assert.ok(!c.cookies.has('device'), 'no device cookie before the restore');
  assertError(await getMe(c), 401, 'unauthenticated');
  assertError(await c.post('/api/auth/restore', { restore_token: 'x'.repeat(43) }), 401, 'invalid_restore_token');
  // Day 29: restoring brings the account and its memberships back.
  ts.clock.advance(29 * DAY);
  const v2 = await verify(c, email);
  assertError(v2, 403, 'account_pending_deletion');
  const restored = await c.post('/api/auth/restore', {
    restore_token: (v2.body as { error: { restore_token: string } }).error.restore_token,
  });
  assert.equal(restored.status, 200, restored.text);
  // A restore is a sign-in: the browser gets its device cookie (its own sign-in budget), as after /verify.
  assert.match(c.cookies.get('device') ?? '', /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/, 'device cookie after restore');
  const back = await getMe(c);
  assert.equal(back.body.user.id, userId);
  assert.deepEqual(
    back.body.memberships.map((m) => m.id),
    [org.id],
  );
  assertError(
    await c.post('/api/auth/restore', {
      restore_token: (v2.body as { error: { restore_token: string } }).error.restore_token,
    }),
    401,
    'invalid_restore_token',
    'single use',
  );
  await runLifecycleSweep(ts.running.deps);
  assert.equal((await getMe(c)).status, 200, 'a restored account is not purged');
  // Deleted again, and this time left alone: after 30 days it is gone.
  assert.equal((await c.request('DELETE', '/api/me', { confirm_email: email })).status, 200);
  ts.clock.advance(29 * DAY);
  await runLifecycleSweep(ts.running.deps);
  assert.equal(
    await asOwner(
      ts,
      async (db) => (await db.query('select count(*)::int as n from users where id = $1', [userId])).rows[0].n,
    ),
    1,
    'kept within 30 days',
  );
  ts.clock.advance(2 * DAY);
  const r = await runLifecycleSweep(ts.running.deps);
  assert.ok(r.accounts_purged >= 1);
  const left = await asOwner(ts, async (db) => ({
    users: (await db.query('select count(*)::int as n from users where id = $1', [userId])).rows[0].n,
    memberships: (await db.query('select count(*)::int as n from memberships where user_id = $1', [userId])).rows[0].n,
    audit: (
      await db.query('select count(*)::int as n from audit_log where actor_email = $1 or target_email = $1', [email])
    ).rows[0].n,
    kept: (await db.query('select count(*)::int as n from audit_log where organization_id = $1', [org.id])).rows[0].n,
  }));
  assert.deepEqual(
    { users: left.users, memberships: left.memberships, audit: left.audit },
    { users: 0, memberships: 0, audit: 0 },
  );
  assert.ok(left.kept > 0, 'the org keeps its audit entries');
  // The address can sign up afresh: a new, empty account.
  const fresh = await ts.signIn(email);
  const again = await getMe(fresh);
  assert.notEqual(again.body.user.id, userId);
  assert.deepEqual(again.body.memberships, []);
});
