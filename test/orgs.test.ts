// Organizations as their people use them: create, invite by email, accept, change roles,
// remove, leave, and the audit log that records it all. The tests run in order and share
// one organization whose story they tell.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, inviteLinkIn, freshEmail, getMe, type Lists } from './helpers/api.ts';

let ts: TestServer;
const DAY = 24 * 3600;
const people = { owner: '', admin: '', member: '', outsider: '' };
const c = {} as Record<keyof typeof people, HttpClient>;
const ids = {} as Record<keyof typeof people, string>;
let orgId = '';
let base = '';

before(async () => {
  ts = await startTestServer();
  for (const k of Object.keys(people) as (keyof typeof people)[]) {
    people[k] = freshEmail(k);
    c[k] = await ts.signIn(people[k]);
    ids[k] = (await getMe(c[k])).body.user.id;
  }
});
after(() => ts.close());

/** Invites `email` as `role` (by `by`) and returns the token from the emailed link. */
async function invite(by: HttpClient, email: string, role: string): Promise<{ id: string; token: string }> {
  const since = ts.inbox.messages.length;
  const res = await by.post(`${base}/invitations`, { email, role });
  assert.equal(res.status, 201, res.text);
  const mail = await ts.inbox.waitFor(email.toLowerCase(), { since });
  return { id: String(res.body.id), token: inviteLinkIn(mail).token };
}

async function roleOf(userId: string): Promise<string | undefined> {
  const { members } = (await c.owner.get(`${base}/members`)).body as { members: { user_id: string; role: string }[] };
  return members.find((m) => m.user_id === userId)?.role;
}

test('create an organization: 201 with id and name; the creator is its owner', async () => {
  const res = await c.owner.post('/api/orgs', { name: '  Acme Podcasts ' });
  assert.equal(res.status, 201, res.text);
  assert.match(String(res.body.id), /^[0-9a-f-]{36}$/);
  assert.equal(res.body.name, 'Acme Podcasts');
  assert.equal(res.body.role, 'owner');
  orgId = String(res.body.id);
  base = `/api/orgs/${orgId}`;
  const got = await c.owner.get(base);
  assert.equal(got.status, 200);
  assert.equal(got.body.name, 'Acme Podcasts');
  assert.equal(got.body.member_count, 1);
  const me = await getMe(c.owner);
  assert.deepEqual(
    me.body.memberships.map((m) => [m.id, m.role]),
    [[orgId, 'owner']],
  );
});

test('invite by email: the link arrives by mail; another account is refused; the invitee joins', async () => {
  const { token } = await invite(c.owner, people.admin.toUpperCase(), 'admin');
  const pending = await c.owner.get<Lists>(`${base}/invitations`);
  assert.deepEqual(
    pending.body.invitations.map((i) => [i.email, i.role]),
    [[people.admin, 'admin']],
  );
  assertError(
    await c.outsider.post('/api/invitations/accept', { token }),
    409,
    'wrong_account',
    'accept as the wrong account',
  );
  assertError(await c.outsider.get(base), 404, 'org_not_found', 'the wrong account did not join');
  const ok = await c.admin.post('/api/invitations/accept', { token });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body, { organization_id: orgId, role: 'admin' });
  assertError(await c.admin.post('/api/invitations/accept', { token }), 404, 'invalid_invitation', 'a used invitation');
  assert.deepEqual((await c.owner.get(`${base}/invitations`)).body.invitations, []);
  assertError(
    await c.owner.post(`${base}/invitations`, { email: people.admin, role: 'member' }),
    409,
    'already_member',
    'invite a member again',
  );
});

test('members list shows everyone with their role', async () => {
  const { token } = await invite(c.admin, people.member, 'member');
  assert.equal((await c.member.post('/api/invitations/accept', { token })).status, 200);
  const res = await c.member.get(`${base}/members`);
  assert.equal(res.status, 200);
  const rows = (res.body.members as { email: string; role: string }[]).map((m) => [m.email, m.role]).sort();
  assert.deepEqual(
    rows,
    [
      [people.admin, 'admin'],
      [people.member, 'member'],
      [people.owner, 'owner'],
    ].sort(),
  );
});

test('a plain member cannot manage members, invitations or see the audit log (403)', async () => {
  assertError(
    await c.member.post(`${base}/invitations`, { email: freshEmail('x'), role: 'member' }),
    403,
    'admin_required',
    'member invites',
  );
  assertError(await c.member.get(`${base}/invitations`), 403, 'admin_required', 'member lists invitations');
  assertError(
    await c.member.patch(`${base}/members/${ids.admin}`, { role: 'member' }),
    403,
    'admin_required',
    'member changes a role',
  );
  assertError(await c.member.delete(`${base}/members/${ids.admin}`), 403, 'admin_required', 'member removes someone');
  assertError(await c.member.patch(base, { name: 'Taken over' }), 403, 'admin_required', 'member renames the org');
  assertError(await c.member.get(`${base}/audit`), 403, 'admin_required', 'member reads the audit log');
  assert.equal(await roleOf(ids.admin), 'admin');
  assert.equal((await c.owner.get(base)).body.name, 'Acme Podcasts');
});

test('an admin manages members but cannot grant or take away ownership', async () => {
  assertError(
    await c.admin.patch(`${base}/members/${ids.member}`, { role: 'owner' }),
    403,
    'owner_required',
    'admin makes an owner',
  );
  assertError(
    await c.admin.patch(`${base}/members/${ids.owner}`, { role: 'member' }),
    403,
    'owner_required',
    'admin demotes the owner',
  );
  assertError(await c.admin.delete(`${base}/members/${ids.owner}`), 403, 'owner_required', 'admin removes the owner');
  assertError(
    await c.admin.post(`${base}/invitations`, { email: freshEmail('boss'), role: 'owner' }),
    403,
    'owner_required',
    'admin invites an owner',
  );
  assert.equal(await roleOf(ids.member), 'member');
  assert.equal(await roleOf(ids.owner), 'owner');
  const res = await c.admin.patch(`${base}/members/${ids.member}`, { role: 'admin' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.role, 'admin');
  assert.equal(await roleOf(ids.member), 'admin');
});

test('the owner changes roles; the org is renamed', async () => {
  const res = await c.owner.patch(`${base}/members/${ids.member}`, { role: 'member' });
  assert.equal(res.status, 200);
  assert.equal(await roleOf(ids.member), 'member');
  assertError(
    await c.owner.patch(`${base}/members/${ids.outsider}`, { role: 'admin' }),
    404,
    'member_not_found',
    'a non-member',
  );
  assert.equal((await c.owner.patch(base, { name: 'Acme Audio' })).body.name, 'Acme Audio');
});

test('the last owner cannot leave or be demoted (409 last_owner); with two owners one may step down', async () => {
  assertError(await c.owner.delete(`${base}/members/${ids.owner}`), 409, 'last_owner', 'last owner leaves');
  assertError(
    await c.owner.patch(`${base}/members/${ids.owner}`, { role: 'admin' }),
    409,
    'last_owner',
    'last owner demotes themself',
  );
  assert.equal(await roleOf(ids.owner), 'owner');
  const other = await c.outsider.post('/api/orgs', { name: 'Two owners' });
  const otherBase = `/api/orgs/${String(other.body.id)}`;
  const since = ts.inbox.messages.length;
  assert.equal((await c.outsider.post(`${otherBase}/invitations`, { email: people.owner, role: 'owner' })).status, 201);
  const { token } = inviteLinkIn(await ts.inbox.waitFor(people.owner, { since }));
  assert.equal((await c.owner.post('/api/invitations/accept', { token })).body.role, 'owner');
  assert.equal(
    (await c.outsider.patch(`${otherBase}/members/${ids.outsider}`, { role: 'admin' })).status,
    200,
    'a second owner exists',
  );
  assertError(await c.owner.delete(`${otherBase}/members/${ids.owner}`), 409, 'last_owner', 'now the only owner again');
});

test('remove a member: they lose access at once', async () => {
  assert.equal((await c.member.get(base)).status, 200);
  assert.equal((await c.owner.delete(`${base}/members/${ids.member}`)).status, 204);
  assertError(await c.member.get(base), 404, 'org_not_found', 'removed member');
  assert.equal(await roleOf(ids.member), undefined);
  assertError(await c.owner.delete(`${base}/members/${ids.member}`), 404, 'member_not_found', 'remove twice');
});

test('leave: an admin leaves by removing themself', async () => {
  assert.equal((await c.admin.delete(`${base}/members/${ids.admin}`)).status, 204);
  assertError(await c.admin.get(`${base}/members`), 404, 'org_not_found', 'after leaving');
  assert.deepEqual((await getMe(c.admin)).body.memberships, []);
});

test('revoke an invitation: it disappears and its link no longer works', async () => {
  const guest = freshEmail('revoked');
  const { id, token } = await invite(c.owner, guest, 'member');
  assert.equal((await c.owner.delete(`${base}/invitations/${id}`)).status, 204);
  assert.deepEqual((await c.owner.get(`${base}/invitations`)).body.invitations, []);
  assertError(await c.owner.delete(`${base}/invitations/${id}`), 404, 'invitation_not_found', 'revoke twice');
  const g = await ts.signIn(guest);
  assertError(await g.post('/api/invitations/accept', { token }), 404, 'invalid_invitation', 'revoked link');
  assertError(await g.get(base), 404, 'org_not_found', 'did not join');
});

test('an expired invitation is refused (clock)', async () => {
  const guest = freshEmail('late');
  // Sent eight days ago: the clock is wound back while it is created.
  ts.clock.advance(-8 * DAY);
  const { token } = await invite(c.owner, guest, 'member');
  ts.clock.advance(8 * DAY);
  assert.deepEqual((await c.owner.get(`${base}/invitations`)).body.invitations, [], 'not listed as pending');
  const g = await ts.signIn(guest);
  const res = await g.post<Lists>('/api/invitations/accept', { token });
  assertError(res, 404, 'invalid_invitation', 'expired link');
  assert.match(String(res.body.error.message), /expired/);
  assertError(await g.get(base), 404, 'org_not_found', 'did not join');
});

test('the audit log shows each action with its actor and target', async () => {
  const res = await c.owner.get(`${base}/audit`);
  assert.equal(res.status, 200);
  type Entry = {
    action: string;
    actor: { email: string | null };
    target: { user_id: string | null; email: string | null } | null;
    details: Record<string, unknown>;
  };
  const entries = res.body.entries as Entry[];
  const find = (action: string, actor: string, target?: string, details: Record<string, unknown> = {}) => {
    const hit = entries.find(
      (e) =>
        e.action === action &&
        e.actor.email === actor &&
        (target === undefined || e.target?.email === target) &&
        Object.entries(details).every(([k, v]) => e.details[k] === v),
    );
    assert.ok(
      hit,
      `no ${action} by ${actor}${target ? ` on ${target}` : ''} in ${JSON.stringify(entries.map((e) => [e.action, e.actor.email, e.target?.email]))}`,
    );
    return hit;
  };
  find('org.created', people.owner);
  find('invitation.created', people.owner, people.admin, { role: 'admin' });
  find('invitation.accepted', people.admin, undefined, { role: 'admin' });
  find('invitation.created', people.admin, people.member, { role: 'member' });
  find('member.role_changed', people.admin, people.member, { from: 'member', to: 'admin' });
  find('member.role_changed', people.owner, people.member, { from: 'admin', to: 'member' });
  find('org.updated', people.owner, undefined, { from: 'Acme Podcasts', to: 'Acme Audio' });
  assert.equal(find('member.removed', people.owner, people.member).target?.user_id, ids.member);
  find('member.left', people.admin, people.admin);
  find('invitation.revoked', people.owner);
  for (const who of [people.owner, people.admin, people.member]) find('auth.org_entered', who);
  assert.ok(
    !entries.some((e) => e.actor.email === people.outsider),
    'refused attempts by outsiders leave no trace in this org',
  );
  const page = await c.owner.get<Lists>(`${base}/audit?limit=2`);
  assert.equal(page.body.entries.length, 2);
  const next = await c.owner.get<Lists>(`${base}/audit?limit=2&before=${String(page.body.next_before)}`);
  assert.equal(next.body.entries.length, 2);
  assert.ok(Number(next.body.entries[0]?.id) < Number(page.body.entries[1]?.id), 'the next page is older');
});
