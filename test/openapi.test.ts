// The OpenAPI document: every mounted API route is in it with its auth, request, responses
// and error codes; every answer the API gives in a tour of real calls (by cookie and by API
// key, successes and refusals) validates against it; and its reference page is readable,
// self-contained (no script, nothing from another origin) and accessible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type Router from '@koa/router';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { freshEmail, getMe, inviteLinkIn } from './helpers/api.ts';
import { OpenApiChecker, RecordingClient, type Seen } from './helpers/openapi.ts';
import { launchChromium } from './helpers/browser.ts';
import { assertAccessible } from './helpers/axe.ts';
import { createApp } from '../server/app.ts';
import { openApiPath } from '../server/routes/openapi/document.ts';
import type { HttpClient } from './helpers/http.ts';
import { seedRecordedSession } from './helpers/recording.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { sealPrivateSessions } from '../server/services/privateMode.ts';
import {
  fromB64,
  generateOrgKeyPair,
  grantOrgKey,
  toB64,
  unwrapOrgPrivateKey,
  wrapOrgPrivateKey,
  type WrappedOrgKey,
} from '../lib/private/crypto.ts';

let ts: TestServer;
let doc: Record<string, unknown>;
let checker: OpenApiChecker;
const seen: Seen[] = [];

type Paths = Record<
  string,
  Record<string, { security?: unknown[]; responses: Record<string, unknown> } & Record<string, unknown>>
>;
const paths = () => doc.paths as Paths;
// The private-mode part of the tour records a real session (ffmpeg and the sample speech).
const mediaReady = prerequisites('the private-mode part of the OpenAPI tour', [...missingMediaTools()]);
const FLEET_TOKEN = 'fleet-admin-token-for-the-openapi-tour-0123456789';
const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A recording copy of a signed-in client (same cookies). */
function recorded(c: HttpClient): RecordingClient {
  const r = new RecordingClient(ts.url, seen);
  for (const [k, v] of c.cookies) r.cookies.set(k, v);
  return r;
}

before(async () => {
  ts = await startTestServer({ FLEET_ADMIN_TOKEN: FLEET_TOKEN, PRIVATE_SEAL_INTERVAL_S: '0' });
  const res = await ts.client().get('/api/openapi.json');
  assert.equal(res.status, 200);
  doc = res.body;
  checker = new OpenApiChecker(doc);
});
after(() => ts.close());

test('the document is OpenAPI 3.1 and every schema in it compiles as JSON Schema 2020-12', () => {
  assert.equal(doc.openapi, '3.1.0');
  const n = checker.compileAll();
  assert.ok(n > 80, `only ${n} schemas`);
  const schemes = (doc.components as { securitySchemes: Record<string, { type: string; scheme?: string }> })
    .securitySchemes;
  assert.equal(schemes.api_key?.scheme, 'bearer');
  assert.equal(schemes.session_cookie?.type, 'apiKey');
});

test('every mounted API route is in the document, and nothing else is', () => {
  const app = createApp(ts.running.deps);
  const mounted = new Set<string>();
  for (const mw of app.middleware) {
    const router = (mw as { router?: Router }).router;
    for (const layer of router?.stack ?? []) {
      const path = String(layer.path);
      if (!path.startsWith('/api/') && path !== '/healthz' && path !== '/metrics') continue; // pages are HTML
      for (const m of layer.methods) if (m !== 'HEAD') mounted.add(`${m.toLowerCase()} ${openApiPath(path)}`);
    }
  }
  assert.ok(mounted.size > 50, `found only ${mounted.size} routes`);
  const documented = new Set(Object.entries(paths()).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`)));
  assert.deepEqual(
    [...mounted].filter((r) => !documented.has(r)),
    [],
    'mounted but not documented',
  );
  assert.deepEqual(
    [...documented].filter((r) => !mounted.has(r)),
    [],
    'documented but not mounted',
  );
});

test('every org-scoped route states its auth, roles, request and error codes', () => {
  let n = 0;
  for (const [p, item] of Object.entries(paths())) {
    if (!p.startsWith('/api/orgs/{orgId}')) continue;
    for (const [m, op] of Object.entries(item)) {
      n++;
      const what = `${m} ${p}`;
      assert.equal(op['x-auth'], 'org', what);
      const schemes = (op.security ?? []).map((s) => Object.keys(s as object)[0]);
      assert.ok(schemes.includes('session_cookie'), `${what}: no cookie auth`);
      assert.equal(schemes.includes('api_key'), op['x-api-keys'] === true, `${what}: api_key scheme vs x-api-keys`);
      for (const status of ['401', '404', '500']) assert.ok(op.responses[status], `${what}: no ${status}`);
      const codes = JSON.stringify(op.responses['404']);
      assert.ok(codes.includes('org_not_found'), `${what}: 404 without org_not_found`);
      assert.ok(
        JSON.stringify(op.responses['401']).includes('invalid_api_key'),
        `${what}: 401 without invalid_api_key`,
      );
      if (op['x-api-keys'] === false)
        assert.ok(JSON.stringify(op.responses['403']).includes('api_key_forbidden'), what);
      const params = (op.parameters as { name: string; in: string }[] | undefined) ?? [];
      for (const name of [...p.matchAll(/\{(\w+)\}/g)].map((x) => x[1]))
        assert.ok(
          params.some((x) => x.in === 'path' && x.name === name),
          `${what}: path parameter ${name}`,
        );
      if (m === 'post' || m === 'put' || m === 'patch')
        assert.ok(
          op.requestBody || !JSON.stringify(op.responses['400'] ?? {}).includes('invalid_json'),
          `${what}: a body without a schema`,
        );
    }
  }
  assert.ok(n >= 35, `only ${n} org operations`);
  const keys = paths()['/api/orgs/{orgId}/api-keys'];
  assert.ok(keys?.post?.requestBody, 'POST api-keys documents its body');
});

test('answers of a tour of real calls (cookie and API key, successes and refusals) match the document', async () => {
  const aliceEmail = freshEmail('alice');
  const daveEmail = freshEmail('dave');
  const alice = recorded(await ts.signIn(aliceEmail));
  const dave = recorded(await ts.signIn(daveEmail));
  const anon = recorded(ts.client());
  const orgId = String((await alice.post('/api/orgs', { name: 'Tour' })).body.id);
  const other = String((await dave.post('/api/orgs', { name: 'Elsewhere' })).body.id);
  const O = `/api/orgs/${orgId}`;
  await alice.get('/api/me');
  await alice.get('/api/orgs');
  await alice.get(O);
  await alice.patch(O, { name: 'Tour 2' });
  await alice.patch(O, { name: '' });
  await alice.get(`${O}/members`);
  const since = ts.inbox.messages.length;
  await alice.post(`${O}/invitations`, { email: daveEmail, role: 'member' });
  const link = inviteLinkIn(await ts.inbox.waitFor(daveEmail, { since }));
  await dave.post('/api/invitations/accept', { token: link.token });
  const doomed = await alice.post(`${O}/invitations`, { email: freshEmail('x'), role: 'admin' });
  await alice.get(`${O}/invitations`);
  await alice.delete(`${O}/invitations/${String(doomed.body.id)}`);
  await alice.delete(`${O}/invitations/${String(doomed.body.id)}`);
  await dave.get(`${O}/audit`);
  const daveId = (await getMe(dave)).body.user.id;
  await dave.patch(`${O}/members/${daveId}`, { role: 'admin' });
  await alice.get(`${O}/settings/transcription`);
  await alice.patch(`${O}/settings/transcription`, { language: 'en' });
  await alice.get(`${O}/retention`);
  await alice.request('PUT', `${O}/retention`, { retention_days: 30 });
  await alice.get(`${O}/deletion`);
  await alice.get(`${O}/certificates`);
  await alice.get(`${O}/exports`);
  await alice.get(`${O}/billing`);
  await alice.get(`/api/orgs/${other}`);
  // API keys, created and used.
  const member = await alice.post<{ id: string; key: string }>(`${O}/api-keys`, { name: 'Tour bot', role: 'member' });
  const admin = await alice.post<{ id: string; key: string }>(`${O}/api-keys`, { name: 'Tour ops', role: 'admin' });
  await alice.post(`${O}/api-keys`, { name: 'Bad', role: 'owner' });
  await dave.get(`${O}/api-keys`);
  await alice.get(`${O}/api-keys`);
  const asKey = (key: string) => ({ authorization: `Bearer ${key}` });
  const mk = asKey(member.body.key);
  const ak = asKey(admin.body.key);
  const s = await anon.request<{ id: string }>('POST', `${O}/sessions`, { title: 'By key' }, mk);
  const sid = s.body.id;
  await anon.request('GET', `${O}/sessions`, undefined, mk);
  await anon.request('GET', `${O}/sessions/${sid}`, undefined, mk);
  // The dashboard's home lists it (a key is not a person: no home for it).
  const home = await alice.get<{ sessions: { id: string; state: string; next_action: string }[] }>('/api/home?limit=5');
  const listed = home.body.sessions.find((x) => x.id === sid);
  assert.deepEqual([listed?.state, listed?.next_action], ['live', 'join'], home.text);
  await alice.get('/api/home?limit=0');
  await anon.request('GET', '/api/home', undefined, ak);
  const preview = await anon.request('GET', `${O}/retention/preview`, undefined, mk);
  assert.equal(preview.status, 200, `a member key previews retention: ${preview.text}`);
  await anon.request('POST', `${O}/sessions/${sid}/guest-link`, {}, mk);
  await anon.request('GET', `${O}/sessions/${sid}/transcript`, undefined, mk);
  await anon.request('GET', `${O}/sessions/${sid}/transcript/export?format=txt`, undefined, mk);
  await anon.request('GET', `${O}/audit`, undefined, mk);
  await anon.request('PATCH', O, { name: 'By key' }, mk);
  await anon.request('GET', `/api/orgs/${other}/sessions`, undefined, mk);
  await anon.request('POST', `${O}/sessions/${sid}/end`, {}, mk);
  await anon.request('POST', `${O}/sessions/${sid}/end`, {}, mk);
  await anon.request('GET', `${O}/audit`, undefined, ak);
  await anon.request('GET', `${O}/members`, undefined, ak);
  await anon.request('POST', `${O}/api-keys`, { name: 'Child', role: 'admin' }, ak);
  await anon.request('PATCH', `${O}/members/${daveId}`, { role: 'member' }, ak);
  await anon.request('POST', `${O}/deletion`, { confirm_name: 'Tour 2' }, ak);
  await anon.request('DELETE', `${O}/sessions/${sid}`, undefined, ak);
  await alice.get(`${O}/sessions/${sid}/certificate`);
  await alice.get(`${O}/sessions/00000000-0000-4000-8000-000000000000`);
  await alice.get(`${O}/sessions/not-a-uuid`);
  await anon.request('GET', `${O}/sessions`, undefined, { authorization: 'Bearer rec_nonsense' });
  await alice.delete(`${O}/api-keys/${member.body.id}`);
  await anon.request('GET', `${O}/sessions`, undefined, mk);
  await alice.delete(`${O}/api-keys/${member.body.id}`);
  // The dashboard's routes (docs/dashboard-api.md), by cookie and by key where a key may call them.
  const usage = await alice.get<{ months: unknown[]; limits: unknown }>(`${O}/usage`);
  assert.deepEqual([usage.body.months.length, usage.body.limits], [6, null], usage.text);
  await alice.get(`${O}/usage?months=25`);
  await dave.get(`${O}/usage`);
  const byAdminKey = async (path: string) => {
    const res = await anon.request('GET', path, undefined, ak);
    assert.equal(res.status, 200, `${path} by an admin key: ${res.text.slice(0, 200)}`);
    return res;
  };
  await byAdminKey(`${O}/usage?months=2`);
  const events = await byAdminKey(`${O}/audit/events?order=desc&limit=500`);
  const actors = (events.body.events as { actor: { api_key?: { prefix: string } } | null }[]).map((e) => e.actor);
  assert.ok(
    actors.some((a) => a?.api_key?.prefix === admin.body.key.split('_')[1]),
    'what the admin key did names the key',
  );
  await alice.get(`${O}/audit/events?action=invitation.created&from=2020-01-01&limit=1`);
  await alice.get(`${O}/audit/events?from=2026-12-01&to=2026-11-01`);
  await alice.get(`${O}/audit/events?colour=red`);
  await dave.get(`${O}/audit/events`);
  await alice.get(`${O}/audit/facets`);
  await byAdminKey(`${O}/audit/facets`);
  const csv = await alice.get(`${O}/audit/download?format=csv&actor=${encodeURIComponent(aliceEmail)}`);
  assert.match(csv.text, /^id,at,action,actor_id/, csv.text.slice(0, 200));
  const jsonl = await byAdminKey(`${O}/audit/download?format=jsonl`);
  assert.match(jsonl.headers.get('content-type') ?? '', /application\/x-ndjson/);
  // Each line is an event as GET …/audit/events documents it.
  const lines = jsonl.text.split('\n').filter(Boolean);
  assert.ok(lines.length > 5, jsonl.text.slice(0, 200));
  checker.check({
    method: 'GET',
    path: `${O}/audit/events`,
    res: {
      ...jsonl,
      headers: new Headers({ 'content-type': 'application/json' }),
      body: { events: lines.map((l) => JSON.parse(l) as unknown), next_cursor: null },
    },
  });
  await alice.get(`${O}/audit/download?format=xml`);
  await dave.get(`${O}/audit/download?format=csv`);
  const pending = await alice.post<{ id: string }>(`${O}/invitations`, { email: freshEmail('y'), role: 'member' });
  await alice.post(`${O}/invitations/${pending.body.id}/resend`);
  await alice.post(`${O}/invitations/${String(doomed.body.id)}/resend`);
  const keyResend = await anon.request('POST', `${O}/invitations/${pending.body.id}/resend`, {}, ak);
  assert.equal(keyResend.status, 403, keyResend.text); // api_key_forbidden, like inviting and revoking
  await alice.get(`${O}/invitations?include_expired=true`);
  await alice.get(`${O}/invitations?include_expired=maybe`);
  await alice.get(`${O}/retention/preview?days=30`);
  await alice.get(`${O}/retention/preview?days=none`);
  await alice.get(`${O}/retention/preview?days=0`);
  await dave.get(`${O}/retention/preview`);
  await byAdminKey(`${O}/retention/preview?days=1`);
  // Account: a second sign-in (with its browser's time zone), listed, then signed out from here.
  const laptop = recorded(ts.client());
  const since2 = ts.inbox.messages.length;
  await laptop.post('/api/auth/code', { email: aliceEmail });
  const mail = await ts.inbox.waitFor(aliceEmail, { since: since2, subject: /sign-in code/ });
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1] ?? '';
  await laptop.post('/api/auth/verify', { email: aliceEmail, code, time_zone: 'Europe/Berlin' }, { 'user-agent': UA });
  const mine = await alice.get<{ sessions: { current: boolean; device: string; place: string | null }[] }>(
    '/api/auth/sessions',
  );
  assert.deepEqual(
    mine.body.sessions.filter((x) => !x.current).map((x) => [x.device, x.place]),
    [['Chrome on macOS', 'Berlin']],
    mine.text,
  );
  const out = await alice.post<{ revoked: number }>('/api/auth/sessions/revoke-others');
  assert.equal(out.body.revoked, 1, out.text);
  await anon.post('/api/auth/sessions/revoke-others');
  // The operators' fleet API (its own bearer token), with one registered SFU node.
  await ts.fleetNode();
  const op = { authorization: `Bearer ${FLEET_TOKEN}` };
  const nodes = await anon.request<{ nodes: { id: string }[] }>('GET', '/api/fleet/nodes', undefined, op);
  assert.deepEqual(
    nodes.body.nodes.map((n) => n.id),
    ['test-node'],
    nodes.text,
  );
  await anon.request('POST', '/api/fleet/nodes/test-node/drain', {}, op);
  await anon.request('POST', '/api/fleet/nodes/test-node/activate', undefined, op);
  await anon.request('POST', '/api/fleet/nodes/no-such-node/drain', {}, op);
  await anon.request('POST', '/api/fleet/nodes/test-node/drain', { state: 'gone' }, op);
  await anon.request('GET', '/api/fleet/nodes', undefined, { authorization: 'Bearer wrong' });
  await alice.get('/api/fleet/nodes');
  // Private mode (README "Private mode"): turned on with a key pair made as the owner's
  // browser makes it (lib/private/crypto.ts), a second key holder by request and grant, and a
  // recorded session sealed by the sweep: its sealed data served, every server-side reader 409.
  if (mediaReady) {
    const P = `${O}/private-mode`;
    const passphrase = 'tour passphrase, long enough';
    await anon.request('GET', P, undefined, ak);
    const pair = await generateOrgKeyPair();
    const wrapped = await wrapOrgPrivateKey(pair.privateKey, passphrase, orgId);
    const enable = { public_key: toB64(pair.publicKey), wrapped_private_key: wrapped };
    await anon.request('POST', P, enable, ak);
    await dave.post(P, enable);
    await alice.post(P, { ...enable, public_key: 'not base64!' });
    const on = await alice.post(P, enable);
    assert.equal(on.status, 201, on.text);
    await alice.post(P, enable); // 409 private_mode_enabled
    await alice.request('PUT', `${P}/holders/me`, { wrapped_private_key: wrapped });
    await anon.request('PUT', `${P}/holders/me`, { wrapped_private_key: wrapped }, ak);
    // Dave (an admin again) asks for a copy; Alice's browser grants it; Dave's finishes it.
    await alice.patch(`${O}/members/${daveId}`, { role: 'admin' });
    const personal = await generateOrgKeyPair();
    const ask = {
      public_key: toB64(personal.publicKey),
      wrapped_request_key: await wrapOrgPrivateKey(personal.privateKey, passphrase, orgId),
    };
    assert.equal((await dave.post(`${P}/requests`, ask)).status, 201);
    await alice.post(`${P}/requests`, ask); // 409 already_key_holder
    const orgKey = await unwrapOrgPrivateKey(wrapped, passphrase, orgId);
    const grant = await grantOrgKey(orgKey, fromB64(ask.public_key), orgId, daveId);
    await dave.request('PUT', `${P}/requests/${daveId}/grant`, { public_key: ask.public_key, grant });
    const granted = await alice.request('PUT', `${P}/requests/${daveId}/grant`, { public_key: ask.public_key, grant });
    assert.equal(granted.status, 200, granted.text);
    const daveCopy = await wrapOrgPrivateKey(orgKey, passphrase, orgId);
    await dave.request('PUT', `${P}/holders/me`, { wrapped_private_key: daveCopy });
    const both = await dave.get<{ holders: unknown[]; my_wrapped_key: WrappedOrgKey | null }>(P);
    assert.deepEqual([both.body.holders.length, both.body.my_wrapped_key?.v], [2, 1], both.text);
    await dave.delete(`${P}/holders/${(await getMe(alice)).body.user.id}`); // 403 owner_required
    await dave.delete(`${P}/holders/${daveId}`);
    await dave.delete(`${P}/holders/${daveId}`); // 404 key_holder_not_found
    await alice.delete(`${P}/holders/${(await getMe(alice)).body.user.id}`); // 409 last_key_holder
    // A recorded, transcribed session of the org, sealed by the sweep's step.
    const rec = await seedRecordedSession(ts, orgId, { owner: alice, speakers: ['Ada', 'Ben'], transcript: true });
    const S = `${O}/sessions/${rec.sessionId}`;
    await alice.get(`${S}/private`); // 409 not_private: not sealed yet
    assert.ok((await sealPrivateSessions(ts.running.deps)) >= 1, 'the session was sealed');
    const detail = await alice.get<{ private_sealed_at: string | null }>(S);
    assert.ok(detail.body.private_sealed_at, detail.text);
    const view = await anon.request<{ private: boolean }>('GET', `${S}/transcript`, undefined, ak);
    assert.equal(view.body.private, true, view.text);
    const sealed = await anon.request<{ tracks: { id: string }[]; transcript: { run_id: string } | null }>(
      'GET',
      `${S}/private`,
      undefined,
      ak,
    );
    const track = sealed.body.tracks[0]?.id ?? '';
    const runId = sealed.body.transcript?.run_id ?? '';
    assert.ok(track && runId, sealed.text);
    await alice.get(`${S}/private/tracks/${track}/chunks?from=0&count=4`);
    await alice.get(`${S}/private/tracks/${track}/chunks?from=0&count=65`);
    await alice.get(`${S}/private/transcripts/${runId}`);
    await alice.get(`${S}/private/transcripts/00000000-0000-4000-8000-000000000000`);
    // Every server-side reader of the sealed session refuses it, as documented.
    for (const res of [
      await alice.get(`${S}/tracks/${track}/download`),
      await alice.get(`${S}/archive`),
      await alice.get(`${S}/transcript/export?format=txt`),
      await alice.post(`${S}/transcript/rerun`),
    ])
      assert.equal((res.body as { error?: { code: string } }).error?.code, 'private_session', res.text);
  }
  // Refusals without a session or without the CSRF header.
  await anon.get('/api/me');
  await anon.get(O);
  alice.csrf = false;
  await alice.post(`${O}/sessions`, { title: 'No CSRF' });
  alice.csrf = true;
  await alice.post(`${O}/sessions`, '{not json');
  await anon.get('/healthz');
  await anon.get('/api/openapi.json');

  assert.ok(seen.length > 60, `only ${seen.length} answers`);
  const mismatches: string[] = [];
  for (const s of seen) {
    try {
      checker.check(s);
    } catch (err) {
      mismatches.push((err as Error).message.split('\n')[0] ?? '');
    }
  }
  assert.deepEqual(mismatches, [], 'answers that do not match the document');
  const covered = [...checker.covered.keys()];
  for (const op of [
    'POST /api/orgs/{orgId}/api-keys',
    'GET /api/orgs/{orgId}/api-keys',
    'DELETE /api/orgs/{orgId}/api-keys/{id}',
    'POST /api/orgs/{orgId}/sessions/{id}/end',
    'GET /api/orgs/{orgId}/audit',
  ])
    assert.ok(covered.includes(op), `${op} was not exercised`);
  // The dashboard's routes: their successes and refusals were all checked against the document.
  for (const [op, want] of Object.entries({
    'GET /api/home': [200, 400, 401],
    'POST /api/auth/sessions/revoke-others': [200, 401],
    'GET /api/auth/sessions': [200],
    'POST /api/auth/verify': [200],
    'GET /api/orgs/{orgId}/members': [200],
    'GET /api/orgs/{orgId}/invitations': [200, 400],
    'GET /api/orgs/{orgId}/usage': [200, 400, 403],
    'GET /api/orgs/{orgId}/audit/events': [200, 400, 403],
    'GET /api/orgs/{orgId}/audit/facets': [200],
    'GET /api/orgs/{orgId}/audit/download': [200, 400, 403],
    'POST /api/orgs/{orgId}/invitations/{id}/resend': [200, 403, 404],
    'GET /api/orgs/{orgId}/retention/preview': [200, 400],
    'GET /api/fleet/nodes': [200, 401],
    'POST /api/fleet/nodes/{nodeId}/drain': [200, 400, 404],
    'POST /api/fleet/nodes/{nodeId}/activate': [200],
    ...(mediaReady
      ? {
          'GET /api/orgs/{orgId}/private-mode': [200],
          'POST /api/orgs/{orgId}/private-mode': [201, 400, 403, 409],
          'PUT /api/orgs/{orgId}/private-mode/holders/me': [200, 403],
          'POST /api/orgs/{orgId}/private-mode/requests': [201, 409],
          'PUT /api/orgs/{orgId}/private-mode/requests/{userId}/grant': [200, 403],
          'DELETE /api/orgs/{orgId}/private-mode/holders/{userId}': [200, 403, 404, 409],
          'GET /api/orgs/{orgId}/sessions/{id}/private': [200, 409],
          'GET /api/orgs/{orgId}/sessions/{id}/private/tracks/{trackId}/chunks': [200, 400],
          'GET /api/orgs/{orgId}/sessions/{id}/private/transcripts/{runId}': [200, 404],
          'GET /api/orgs/{orgId}/sessions/{id}/tracks/{trackId}/download': [409],
          'GET /api/orgs/{orgId}/sessions/{id}/archive': [409],
          'GET /api/orgs/{orgId}/sessions/{id}/transcript/export': [409],
          'POST /api/orgs/{orgId}/sessions/{id}/transcript/rerun': [409],
        }
      : {}),
  }))
    assert.deepEqual(
      want.filter((st) => !checker.covered.get(op)?.has(st)),
      [],
      `${op}: statuses not exercised (seen ${[...(checker.covered.get(op) ?? [])].join(', ')})`,
    );
  const statuses = new Set(seen.map((s) => s.res.status));
  for (const status of [200, 201, 204, 400, 401, 403, 404])
    assert.ok(statuses.has(status), `no ${status} answer checked`);
});

test('a wrong answer fails the check (the validation can fail)', () => {
  const fake = (status: number, body: unknown): Seen => ({
    method: 'GET',
    path: '/api/orgs/00000000-0000-4000-8000-000000000000/api-keys',
    res: { status, body, text: JSON.stringify(body), headers: new Headers({ 'content-type': 'application/json' }) },
  });
  assert.throws(() => checker.check(fake(200, { api_keys: [{ id: 'x' }] })), /does not match/);
  assert.throws(() => checker.check(fake(200, { api_keys: [], key: 'leak' })), /does not match/);
  assert.throws(() => checker.check(fake(418, {})), /not documented/);
  assert.throws(() => checker.check(fake(403, { error: { code: 'made_up', message: 'x' } })), /does not match/);
});

test('the reference page lists every operation, runs no script, and is accessible', async () => {
  const res = await ts.client().get('/docs/api');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.doesNotMatch(res.text, /<script/i);
  assert.doesNotMatch(res.text, /https?:\/\/(?!localhost|127\.0\.0\.1)/, 'nothing from another origin');
  for (const [p, item] of Object.entries(paths()))
    for (const m of Object.keys(item)) assert.ok(res.text.includes(`${m.toUpperCase()} ${p}`), `${m} ${p} missing`);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    await page.goto(`${ts.url}/docs/api`);
    await page.getByRole('link', { name: 'POST /api/orgs/{orgId}/api-keys' }).click();
    await page.getByRole('heading', { name: 'POST /api/orgs/{orgId}/api-keys' }).waitFor();
    await assertAccessible(page, 'API reference');
    assert.deepEqual(errors, [], 'no console errors (e.g. CSP refusals)');
  } finally {
    await browser.close();
  }
});
