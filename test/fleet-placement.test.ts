// Placement over the SFU fleet, without media: two nodes register through the real node
// registry (sfu/fleet/NodeRegistry.ts: their liveness lock and heartbeat on real Postgres)
// with small capacities. Hosts' and guests' joins are placed by headroom and the join token
// names the node; every participant of a session lands on the same node; a full fleet
// answers 503 `fleet_full` with Retry-After; a session that ends frees its room; a draining
// node takes no new session; a node whose process goes away is declared gone at the next
// placement and its sessions are placed again elsewhere. The operators' fleet API refuses
// callers without its token and malformed input with stable codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { NodeRegistry } from '../sfu/fleet/NodeRegistry.ts';
import { TEST_SECRET } from './helpers/constants.ts';

const ADMIN = 'fleet-admin-token-for-tests-0123456789abcdef';
let ts: TestServer;
const registries: NodeRegistry[] = [];

before(async () => {
  ts = await startTestServer({ FLEET_ADMIN_TOKEN: ADMIN });
});
after(async () => {
  for (const r of registries) await r.close();
  await ts?.close();
});

async function node(
  nodeId: string,
  capacityTracks: number,
  live: () => { sessionId: string; tracks: number }[] = () => [],
): Promise<NodeRegistry> {
  const { registry } = await NodeRegistry.start(ts.running.deps.db.sfu, {
    nodeId,
    signalUrl: `ws://127.0.0.1:1/${nodeId}`,
    mediaAddress: '127.0.0.1',
    capacityTracks,
    reserveTracks: 2,
    goneAfterS: 5,
    graceS: 120,
    live,
  });
  registries.push(registry);
  return registry;
}

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { node?: string; sid: string };

interface Joined {
  status: number;
  node: string | undefined;
  url: string | null | undefined;
  body: Record<string, unknown>;
  retryAfter: string | null;
}

async function hostJoin(c: HttpClient, orgId: string, sessionId: string): Promise<Joined> {
  const r = await c.post(`/api/orgs/${orgId}/sessions/${sessionId}/join`, { consent: { version: 'v1' } });
  const b = r.body as { token?: string; sfu_url?: string | null; sfu_node?: string };
  if (r.status === 200) assert.equal(claims(b.token ?? '').node, b.sfu_node, 'the join token names the node');
  return { status: r.status, node: b.sfu_node, url: b.sfu_url, body: r.body, retryAfter: r.headers.get('retry-after') };
}

const admin = (c: HttpClient, method: 'GET' | 'POST', path: string, body?: unknown, token: string | null = ADMIN) =>
  c.request(method, path, body, token ? { authorization: `Bearer ${token}` } : {});

test('sessions spread by headroom, share one node per session, and a full fleet answers 503 with Retry-After', async () => {
  const owner = await ts.signIn('fleet-owner@example.com');
  const orgId = ((await owner.post('/api/orgs', { name: 'Fleet Org' })).body as { id: string }).id;
  const create = async (title: string) =>
    (await owner.post(`/api/orgs/${orgId}/sessions`, { title })).body as { id: string; guest_url: string };

  // No node yet: the pages are told before Join, and a join is refused with a clear 503.
  const early = await create('Before any node');
  const none = await hostJoin(owner, orgId, early.id);
  assert.equal(none.status, 503);
  assert.equal((none.body as { error: { code: string } }).error.code, 'fleet_full');

  // Node a takes 6 tracks, node b 4; a new session counts 2 tracks until it has more.
  await node('node-a', 6);
  await node('node-b', 4);
  const sessions = [];
  for (let i = 0; i < 5; i++) sessions.push(await create(`Live ${i}`));
  const placed: string[] = [];
  for (const s of sessions) {
    const j = await hostJoin(owner, orgId, s.id);
    assert.equal(j.status, 200, JSON.stringify(j.body));
    assert.equal(j.body.live_available, true);
    assert.equal(j.url, `ws://127.0.0.1:1/${j.node}`, 'browsers are sent to the node');
    placed.push(j.node ?? '');
  }
  // Most headroom first (ties by id): a(6) a(4~4) b(4) a(2~2) b(2).
  assert.deepEqual(placed, ['node-a', 'node-a', 'node-b', 'node-a', 'node-b']);

  // Full: a clear 503 with Retry-After, and nothing placed.
  const sixth = await create('One too many');
  const full = await hostJoin(owner, orgId, sixth.id);
  assert.equal(full.status, 503);
  assert.equal((full.body as { error: { code: string } }).error.code, 'fleet_full');
  assert.ok(Number(full.retryAfter) >= 1, `Retry-After: ${full.retryAfter}`);

  // Everyone of a placed session lands on its node, full or not: the host again, and a guest.
  assert.equal((await hostJoin(owner, orgId, sessions[2]!.id)).node, 'node-b');
  const guestToken = /#g=(.+)$/.exec(sessions[2]!.guest_url)?.[1] ?? '';
  const guest = await ts.client().post('/api/join', {
    session_id: sessions[2]!.id,
    token: guestToken,
    display_name: 'Guest',
    consent: { version: 'v1' },
  });
  assert.equal(guest.status, 200, JSON.stringify(guest.body));
  const gb = guest.body as { token: string; sfu_node: string; sfu_url: string };
  assert.equal(gb.sfu_node, 'node-b');
  assert.equal(claims(gb.token).node, 'node-b');

  // Ending a session frees its room on the node; the waiting one gets it.
  assert.equal((await owner.post(`/api/orgs/${orgId}/sessions/${sessions[0]!.id}/end`)).status, 200);
  assert.equal((await hostJoin(owner, orgId, sixth.id)).node, 'node-a');

  // The operators' view: both nodes alive, no headroom left.
  const listed = await admin(owner, 'GET', '/api/fleet/nodes');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const view = listed.body as {
    nodes: { id: string; alive: boolean; state: string; headroom_tracks: number; placed_sessions: number }[];
    headroom_ratio: number;
  };
  assert.deepEqual(
    view.nodes.map((n) => [n.id, n.alive, n.state, n.placed_sessions, n.headroom_tracks]),
    [
      ['node-a', true, 'active', 3, 0],
      ['node-b', true, 'active', 2, 0],
    ],
  );
  assert.equal(view.headroom_ratio, 0);

  // Draining b: it takes nothing new even with room, and its sessions are placed elsewhere.
  assert.equal((await owner.post(`/api/orgs/${orgId}/sessions/${sessions[4]!.id}/end`)).status, 200);
  const drained = await admin(owner, 'POST', '/api/fleet/nodes/node-b/drain', {});
  assert.equal(drained.status, 200, JSON.stringify(drained.body));
  assert.equal((drained.body as { node: { state: string } }).node.state, 'draining');
  const seventh = await create('While b drains');
  assert.equal((await hostJoin(owner, orgId, seventh.id)).status, 503, 'b is draining, a is full');
  assert.equal((await admin(owner, 'POST', '/api/fleet/nodes/node-b/activate')).status, 200);
  assert.equal((await hostJoin(owner, orgId, seventh.id)).node, 'node-b');

  // Node a's process goes away (its lock with it): at the next placement it is declared gone,
  // and its sessions go to a live node with room.
  await owner.post(`/api/orgs/${orgId}/sessions/${sessions[2]!.id}/end`);
  await registries[0]!.close();
  const moved = await hostJoin(owner, orgId, sessions[1]!.id);
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.node, 'node-b', 'placed again on the live node');
  const after = (await admin(owner, 'GET', '/api/fleet/nodes')).body as typeof view;
  assert.deepEqual(
    after.nodes.map((n) => [n.id, n.alive, n.state]),
    [
      ['node-a', false, 'gone'],
      ['node-b', true, 'active'],
    ],
  );
  const events = await ts.running.deps.db.owner.query<{ kind: string }>(
    'select kind from session_events where session_id = $1 order by id',
    [sessions[1]!.id],
  );
  assert.deepEqual(
    events.rows.map((e) => e.kind).filter((k) => k === 'session.placed'),
    ['session.placed', 'session.placed'],
  );
});

test('the fleet API: bearer token required, malformed input is a 400 with a stable code, unknown nodes 404', async () => {
  const c = ts.client();
  const noToken = await admin(c, 'GET', '/api/fleet/nodes', undefined, null);
  assert.equal(noToken.status, 401);
  assert.equal((noToken.body as { error: { code: string } }).error.code, 'unauthorized');
  const wrong = await admin(c, 'POST', '/api/fleet/nodes/node-b/drain', {}, 'x'.repeat(44));
  assert.equal(wrong.status, 401);
  const badId = await admin(c, 'POST', '/api/fleet/nodes/not%20a%20node!/drain', {});
  assert.equal(badId.status, 400);
  assert.equal((badId.body as { error: { code: string } }).error.code, 'invalid_input');
  const badBody = await admin(c, 'POST', '/api/fleet/nodes/node-b/drain', { state: 'gone' });
  assert.equal(badBody.status, 400);
  const unknown = await admin(c, 'POST', '/api/fleet/nodes/no-such-node/drain', {});
  assert.equal(unknown.status, 404);
  assert.equal((unknown.body as { error: { code: string } }).error.code, 'not_found');
});

test('the operator command lists nodes, drains and activates one, and refuses an unknown node', () => {
  const fleet = (...args: string[]) =>
    spawnSync(process.execPath, ['scripts/fleet.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH, DATABASE_URL: ts.db.ownerUrl, SERVER_SECRET: TEST_SECRET, DATA_DIR: ts.dataDir },
      encoding: 'utf8',
    });
  const drained = fleet('drain', 'node-b');
  assert.equal(drained.status, 0, drained.stderr);
  assert.match(drained.stdout, /^node-b\s+draining\s+alive/m);
  const list = fleet('list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^node-a\s+gone\s+dead/m);
  assert.match(list.stdout, /^node-b\s+draining\s+alive/m);
  assert.match(list.stdout, /fleet headroom: no node takes sessions/);
  assert.equal(fleet('activate', 'node-b').status, 0);
  const unknown = fleet('drain', 'no-such-node');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no such SFU node/);
  assert.equal(fleet('frobnicate').status, 2);
});

test('a draining node hands over its sessions: those without a room at once, those with one only when it lets go', async () => {
  const owner = await ts.signIn('fleet-owner@example.com');
  const orgId = ((await owner.get('/api/orgs')).body as { organizations: { id: string }[] }).organizations[0]?.id ?? '';
  const create = async (title: string) =>
    ((await owner.post(`/api/orgs/${orgId}/sessions`, { title })).body as { id: string }).id;
  // Node c has the most room, so both sessions go there; one of them has a live room on it.
  // (Node b is full from the first test; node d takes what c hands over.)
  const withRoom: string[] = [];
  const c = await node('node-c', 80, () => withRoom.map((sessionId) => ({ sessionId, tracks: 2 })));
  await node('node-d', 10);
  const live = await create('Live on c');
  const idle = await create('Placed on c, nobody there');
  assert.equal((await hostJoin(owner, orgId, live)).node, 'node-c');
  assert.equal((await hostJoin(owner, orgId, idle)).node, 'node-c');
  withRoom.push(live);
  await c.beat();
  assert.equal((await admin(owner, 'POST', '/api/fleet/nodes/node-c/drain', {})).status, 200);
  await c.beat();
  // No room there: handed back at the node's next heartbeat, and placed elsewhere.
  assert.equal((await hostJoin(owner, orgId, idle)).node, 'node-d');
  // A live room: nobody is sent elsewhere until the node has stopped it and let go.
  const moving = await hostJoin(owner, orgId, live);
  assert.equal(moving.status, 503, JSON.stringify(moving.body));
  assert.equal((moving.body as { error: { code: string } }).error.code, 'session_moving');
  assert.equal(moving.retryAfter, '1');
  // The node dies instead: its sessions are taken over at once.
  await c.close();
  assert.equal((await hostJoin(owner, orgId, live)).node, 'node-d');
});
