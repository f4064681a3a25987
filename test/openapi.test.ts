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

let ts: TestServer;
let doc: Record<string, unknown>;
let checker: OpenApiChecker;
const seen: Seen[] = [];

type Paths = Record<
  string,
  Record<string, { security?: unknown[]; responses: Record<string, unknown> } & Record<string, unknown>>
>;
const paths = () => doc.paths as Paths;

/** A recording copy of a signed-in client (same cookies). */
function recorded(c: HttpClient): RecordingClient {
  const r = new RecordingClient(ts.url, seen);
  for (const [k, v] of c.cookies) r.cookies.set(k, v);
  return r;
}

before(async () => {
  ts = await startTestServer();
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
