// Cross-tenant denial through the API: a user of org A who calls any org endpoint with
// org B's id gets 404 org_not_found (the same answer as for an id that does not exist),
// never B's data, and B is unchanged afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient, Res } from './helpers/http.ts';
import { assertError, inviteLinkIn, freshEmail, getMe, type Lists } from './helpers/api.ts';

let ts: TestServer;
let alice: HttpClient; // owner of A
let bob: HttpClient; // owner of B
let carol: HttpClient; // member of B
const ids = { orgA: '', orgB: '', bob: '', carol: '', invitationB: '' };
let tokenB = '';
const emails = {
  alice: freshEmail('alice'),
  bob: freshEmail('bob'),
  carol: freshEmail('carol'),
  pending: freshEmail('pending'),
};

before(async () => {
  ts = await startTestServer();
  alice = await ts.signIn(emails.alice);
  bob = await ts.signIn(emails.bob);
  carol = await ts.signIn(emails.carol);
  ids.orgA = String((await alice.post('/api/orgs', { name: 'Org A' })).body.id);
  ids.orgB = String((await bob.post('/api/orgs', { name: 'Org B' })).body.id);
  ids.bob = (await getMe(bob)).body.user.id;
  ids.carol = (await getMe(carol)).body.user.id;
  const B = `/api/orgs/${ids.orgB}`;
  let since = ts.inbox.messages.length;
  assert.equal((await bob.post(`${B}/invitations`, { email: emails.carol, role: 'member' })).status, 201);
  const carolLink = inviteLinkIn(await ts.inbox.waitFor(emails.carol, { since }));
  assert.equal((await carol.post('/api/invitations/accept', { token: carolLink.token })).status, 200);
  since = ts.inbox.messages.length;
  const inv = await bob.post(`${B}/invitations`, { email: emails.pending, role: 'admin' });
  ids.invitationB = String(inv.body.id);
  tokenB = inviteLinkIn(await ts.inbox.waitFor(emails.pending, { since })).token;
});
after(() => ts.close());

/** Everything B's owner can see about B. */
async function snapshotB(): Promise<unknown> {
  const B = `/api/orgs/${ids.orgB}`;
  const [org, members, invitations, audit] = await Promise.all([
    bob.get(B),
    bob.get(`${B}/members`),
    bob.get(`${B}/invitations`),
    bob.get(`${B}/audit`),
  ]);
  for (const r of [org, members, invitations, audit]) assert.equal(r.status, 200, r.text);
  return { org: org.body, members: members.body, invitations: invitations.body, audit: audit.body };
}

/** Every org endpoint, for a given org id. */
function calls(orgId: string): [string, (c: HttpClient) => Promise<Res>][] {
  const O = `/api/orgs/${orgId}`;
  return [
    ['GET org', (c) => c.get(O)],
    ['PATCH org', (c) => c.patch(O, { name: 'Hijacked' })],
    ['GET members', (c) => c.get(`${O}/members`)],
    ['PATCH member', (c) => c.patch(`${O}/members/${ids.carol}`, { role: 'owner' })],
    ['PATCH owner', (c) => c.patch(`${O}/members/${ids.bob}`, { role: 'member' })],
    ['DELETE member', (c) => c.delete(`${O}/members/${ids.carol}`)],
    ['DELETE owner', (c) => c.delete(`${O}/members/${ids.bob}`)],
    ['GET invitations', (c) => c.get(`${O}/invitations`)],
    ['POST invitation', (c) => c.post(`${O}/invitations`, { email: emails.alice, role: 'owner' })],
    ['DELETE invitation', (c) => c.delete(`${O}/invitations/${ids.invitationB}`)],
    ['GET audit', (c) => c.get(`${O}/audit`)],
  ];
}

test('the seed is real: B has a member, a pending invitation and audit entries, and Alice works in A', async () => {
  const snap = (await snapshotB()) as {
    members: { members: unknown[] };
    invitations: { invitations: unknown[] };
    audit: { entries: unknown[] };
  };
  assert.equal(snap.members.members.length, 2);
  assert.equal(snap.invitations.invitations.length, 1);
  assert.ok(snap.audit.entries.length >= 3);
  for (const [what, call] of calls(ids.orgA).filter(([w]) => w.startsWith('GET')))
    assert.equal((await call(alice)).status, 200, `${what} on her own org`);
});

test("a user of A is refused every endpoint of B's org with 404 org_not_found, and B is unchanged", async () => {
  const before = await snapshotB();
  const mailsBefore = ts.inbox.messages.length;
  for (const [what, call] of calls(ids.orgB)) {
    const res = await call(alice);
    assertError(res, 404, 'org_not_found', what);
    for (const secret of ['Org B', emails.bob, emails.carol, emails.pending, ids.invitationB]) {
      assert.ok(!res.text.includes(secret), `${what} leaked ${secret}`);
    }
  }
  assert.deepEqual(await snapshotB(), before, "B's org, members, invitations and audit log are unchanged");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(ts.inbox.messages.length, mailsBefore, 'no invitation mail went out');
});

test("B's id answers exactly like an id that does not exist (no existence oracle)", async () => {
  const ghost = randomUUID();
  const real = calls(ids.orgB);
  const fake = calls(ghost);
  for (let i = 0; i < real.length; i++) {
    const [what, callReal] = real[i]!;
    const a = await callReal(alice);
    const b = await fake[i]![1](alice);
    assert.equal(a.status, b.status, what);
    assert.deepEqual(a.body, b.body, what);
  }
});

test("A's user cannot accept B's invitation sent to another address", async () => {
  const res = await alice.post('/api/invitations/accept', { token: tokenB });
  assertError(res, 409, 'wrong_account', 'accept for another address');
  assert.ok(!res.text.includes('Org B') && !res.text.includes(ids.orgB), 'the refusal does not reveal the org');
  assertError(await alice.get(`/api/orgs/${ids.orgB}`), 404, 'org_not_found', 'still not a member');
  const me = await getMe(alice);
  assert.deepEqual(
    me.body.memberships.map((m) => m.id),
    [ids.orgA],
  );
  const pending = await bob.get<Lists>(`/api/orgs/${ids.orgB}/invitations`);
  assert.deepEqual(
    pending.body.invitations.map((i) => i.id),
    [ids.invitationB],
    'the invitation is still pending for its addressee',
  );
});

test("B's member cannot reach A either, and being in B grants nothing in A", async () => {
  for (const [what, call] of calls(ids.orgA)) assertError(await call(carol), 404, 'org_not_found', `carol: ${what}`);
  const members = await alice.get<Lists>(`/api/orgs/${ids.orgA}/members`);
  assert.deepEqual(
    members.body.members.map((m) => m.email),
    [emails.alice],
  );
});
