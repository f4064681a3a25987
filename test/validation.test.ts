// Malformed input on every endpoint is a 4xx with a stable JSON error code, never a 5xx;
// every response carries x-request-id; an unknown /api path is a JSON 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient, Res } from './helpers/http.ts';
import { assertError, freshEmail, inviteLinkIn, getMe, type Lists } from './helpers/api.ts';

let ts: TestServer;
let c: HttpClient;
let orgId = '';
let memberId = '';
const STABLE = new Set([
  'invalid_json',
  'unsupported_media_type',
  'invalid_input',
  'payload_too_large',
  'org_not_found',
  'not_found',
  'method_not_allowed',
  'unauthenticated',
]);

before(async () => {
  ts = await startTestServer();
  c = await ts.signIn(freshEmail('owner'));
  orgId = String((await c.post('/api/orgs', { name: 'Validation Org' })).body.id);
  const m = await ts.signIn(freshEmail('member'));
  memberId = (await getMe(m)).body.user.id;
  // A second member, as the target of the member endpoints.
  const since = ts.inbox.messages.length;
  const email = (await getMe(m)).body.user.email;
  await c.post(`/api/orgs/${orgId}/invitations`, { email, role: 'member' });
  const { token } = inviteLinkIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await m.post('/api/invitations/accept', { token })).status, 200);
});
after(() => ts.close());

/** A 4xx with a JSON error whose code is one of the stable ones, and a request id. */
function assertRefused(res: Res, what: string): void {
  const label = `${what} -> ${res.status} ${res.text.slice(0, 160)}`;
  assert.ok(res.status >= 400 && res.status < 500, label);
  const code = (res.body.error as { code?: string } | undefined)?.code;
  assert.ok(code && STABLE.has(code), label);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, label);
  assert.ok(res.headers.get('x-request-id'), `${label}: no x-request-id`);
}

interface Endpoint {
  method: string;
  path: () => string;
  valid: Record<string, unknown>;
}
const endpoints: Endpoint[] = [
  { method: 'POST', path: () => '/api/auth/code', valid: { email: 'someone@example.com' } },
  { method: 'POST', path: () => '/api/auth/verify', valid: { email: 'someone@example.com', code: '123456' } },
  { method: 'PATCH', path: () => '/api/me', valid: { display_name: 'Sam' } },
  { method: 'POST', path: () => '/api/orgs', valid: { name: 'New org' } },
  { method: 'PATCH', path: () => `/api/orgs/${orgId}`, valid: { name: 'Renamed' } },
  { method: 'PATCH', path: () => `/api/orgs/${orgId}/members/${memberId}`, valid: { role: 'admin' } },
  {
    method: 'POST',
    path: () => `/api/orgs/${orgId}/invitations`,
    valid: { email: 'guest@example.com', role: 'member' },
  },
  { method: 'POST', path: () => '/api/invitations/accept', valid: { token: 'a'.repeat(43) } },
];

const junkValues: [string, unknown][] = [
  ['null', null],
  ['number', 12],
  ['boolean', true],
  ['object', { $ne: '' }],
  ['array', ['x']],
  ['huge string', 'x'.repeat(20_000)],
  ['NUL', 'a\u0000b'],
  ['lone surrogate', 'a\ud800b'],
  ['escape sequence', '\u001b[31mred'],
  ['empty', ''],
];

/** Sends raw text with a content type and returns the response. */
const raw = (method: string, path: string, text: string, type = 'application/json') =>
  c.request(method, path, text, { 'content-type': type });

test('every endpoint refuses bodies that are not a JSON object', async () => {
  for (const e of endpoints) {
    const p = e.path();
    const what = `${e.method} ${p.replace(orgId, ':org').replace(memberId, ':user')}`;
    assertError(await raw(e.method, p, '{"oops":'), 400, 'invalid_json', `${what} truncated JSON`);
    assertError(await raw(e.method, p, "{'single': 'quotes'}"), 400, 'invalid_json', `${what} not JSON`);
    assertError(
      await raw(e.method, p, JSON.stringify(e.valid), 'text/plain'),
      415,
      'unsupported_media_type',
      `${what} text/plain`,
    );
    assertError(
      await raw(e.method, p, 'a=1&b=2', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
      `${what} form`,
    );
    for (const body of ['null', '[]', `[${JSON.stringify(e.valid)}]`, '"text"', '42', 'true', '{}']) {
      assertError(await raw(e.method, p, body), 400, 'invalid_input', `${what} ${body.slice(0, 20)}`);
    }
    assertError(
      await raw(e.method, p, JSON.stringify({ ...e.valid, extra: 1 })),
      400,
      'invalid_input',
      `${what} extra field`,
    );
    assertError(
      await raw(e.method, p, `{"__proto__":{"admin":true},${JSON.stringify(e.valid).slice(1)}`),
      400,
      'invalid_input',
      `${what} __proto__`,
    );
    assertError(
      await raw(e.method, p, JSON.stringify({ pad: 'x'.repeat(1024 * 1024) })),
      413,
      'payload_too_large',
      `${what} 1 MB`,
    );
  }
});

test('every field of every endpoint refuses wrong types, nulls, huge strings and unicode junk', async () => {
  for (const e of endpoints) {
    for (const field of Object.keys(e.valid)) {
      for (const [name, value] of junkValues) {
        if (value === null && field === 'display_name') continue; // null clears the name: valid
        const res = await c.request(e.method, e.path(), { ...e.valid, [field]: value });
        assertRefused(res, `${e.method} ${e.path()} ${field}=${name}`);
        assert.equal(res.status, 400, `${field}=${name}`);
      }
    }
  }
});

test('nothing changed after all that junk', async () => {
  const org = await c.get(`/api/orgs/${orgId}`);
  assert.equal(org.body.name, 'Validation Org');
  assert.equal(org.body.member_count, 2);
  assert.deepEqual((await c.get(`/api/orgs/${orgId}/invitations`)).body.invitations, []);
  assert.equal((await getMe(c)).body.user.display_name, null);
  assert.equal((await c.get<Lists>('/api/orgs')).body.organizations.length, 1);
});

test('bodyless writes refuse non-JSON bodies before acting', async () => {
  assertError(await raw('POST', '/api/auth/logout', 'not json'), 400, 'invalid_json', 'logout');
  assertError(await raw('DELETE', `/api/orgs/${orgId}/members/${memberId}`, '{'), 400, 'invalid_json', 'remove member');
  assert.equal((await c.get('/api/me')).status, 200, 'still signed in');
  assert.equal((await c.get(`/api/orgs/${orgId}`)).body.member_count, 2, 'member not removed');
});

test('malformed ids in paths are 400 invalid_input or 404, never 5xx', async () => {
  const bad = [
    'not-a-uuid',
    '123',
    `${randomUUID()}x`,
    "1';drop table users;--",
    '%00',
    '%F0%9F%98%80',
    '..%2F..%2Fetc',
    'x'.repeat(3000),
    '%E0%A4%A',
  ];
  for (const id of bad) {
    const calls: [string, Promise<Res>][] = [
      ['GET org', c.get(`/api/orgs/${id}`)],
      ['PATCH org', c.patch(`/api/orgs/${id}`, { name: 'x' })],
      ['GET members', c.get(`/api/orgs/${id}/members`)],
      ['PATCH member', c.patch(`/api/orgs/${orgId}/members/${id}`, { role: 'admin' })],
      ['DELETE member', c.delete(`/api/orgs/${orgId}/members/${id}`)],
      ['DELETE invitation', c.delete(`/api/orgs/${orgId}/invitations/${id}`)],
      ['GET audit', c.get(`/api/orgs/${id}/audit`)],
      ['DELETE session', c.delete(`/api/auth/sessions/${id}`)],
    ];
    for (const [what, p] of calls) assertRefused(await p, `${what} ${id.slice(0, 30)}`);
  }
  assertError(await c.patch(`/api/orgs/${orgId}/members/nope`, { role: 'admin' }), 400, 'invalid_input', 'member id');
  assertError(await c.delete('/api/auth/sessions/nope'), 400, 'invalid_input', 'session id');
  assertError(await c.get('/api/orgs/nope'), 404, 'org_not_found', 'org id');
});

test('malformed query strings on the audit log are 400 invalid_input', async () => {
  for (const q of [
    'limit=abc',
    'limit=0',
    'limit=-1',
    'limit=501',
    'limit=1.5',
    'limit=1&limit=2',
    'before=abc',
    'before=-1',
    'before=9999999999999999999',
    'before=%00',
    'before=1e3',
  ]) {
    assertError(await c.get(`/api/orgs/${orgId}/audit?${q}`), 400, 'invalid_input', q);
  }
  assert.equal((await c.get(`/api/orgs/${orgId}/audit?limit=1&before=999999999999999999`)).status, 200);
});

test('signed-out callers get 401 unauthenticated on every protected endpoint', async () => {
  const anon = ts.client();
  const protectedCalls: [string, string, unknown?][] = [
    ['GET', '/api/me'],
    ['PATCH', '/api/me', { display_name: 'x' }],
    ['GET', '/api/auth/sessions'],
    ['DELETE', `/api/auth/sessions/${randomUUID()}`],
    ['GET', '/api/orgs'],
    ['POST', '/api/orgs', { name: 'x' }],
    ['GET', `/api/orgs/${orgId}`],
    ['PATCH', `/api/orgs/${orgId}`, { name: 'x' }],
    ['GET', `/api/orgs/${orgId}/members`],
    ['PATCH', `/api/orgs/${orgId}/members/${memberId}`, { role: 'owner' }],
    ['DELETE', `/api/orgs/${orgId}/members/${memberId}`],
    ['GET', `/api/orgs/${orgId}/invitations`],
    ['POST', `/api/orgs/${orgId}/invitations`, { email: 'a@example.com' }],
    ['DELETE', `/api/orgs/${orgId}/invitations/${randomUUID()}`],
    ['GET', `/api/orgs/${orgId}/audit`],
    ['POST', '/api/invitations/accept', { token: 'a'.repeat(43) }],
  ];
  for (const [method, path, body] of protectedCalls)
    assertError(await anon.request(method, path, body), 401, 'unauthenticated', `${method} ${path}`);
  const forged = ts.client();
  forged.cookies.set('sid', 'A'.repeat(43));
  assertError(await forged.get('/api/me'), 401, 'unauthenticated', 'forged session cookie');
});

test('unknown /api paths are a JSON 404; a wrong method is a JSON 405', async () => {
  assertError(await c.get('/api/nope'), 404, 'not_found', 'GET unknown');
  assertError(await c.post('/api/nope/deeper', { a: 1 }), 404, 'not_found', 'POST unknown');
  assertError(await c.get('/api/orgs/x/y/z'), 404, 'not_found', 'too deep');
  const wrong = await c.request('PUT', '/api/orgs', { name: 'x' });
  assertError(wrong, 405, 'method_not_allowed', 'PUT /api/orgs');
  assert.match(wrong.headers.get('allow') ?? '', /POST/);
});

test('health, metrics and pages answer, and every response carries x-request-id', async () => {
  const health = await c.get('/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  const metrics = await c.get('/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(metrics.text, /^# HELP recorder_http_request_duration_seconds /m);
  assert.match(metrics.text, /^# TYPE recorder_http_request_duration_seconds histogram$/m);
  assert.match(
    metrics.text,
    /^recorder_http_request_duration_seconds_count\{[^}]*status="400"[^}]*\} \d+$/m,
    'the junk above was counted',
  );
  assert.doesNotMatch(metrics.text, /Validation Org|@example\.com/, 'no content in metrics');
  const seen = new Set<string>();
  for (const path of [
    '/healthz',
    '/metrics',
    '/',
    '/signin',
    '/orgs',
    '/static/app.js',
    '/static/style.css',
    '/static/missing.js',
    '/nope',
    '/api/nope',
    '/api/me',
  ]) {
    for (const client of [c, ts.client()]) {
      const res = await client.get(path);
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      const id = res.headers.get('x-request-id');
      assert.ok(id && id.length >= 8, `${path}: no x-request-id`);
      assert.ok(!seen.has(id), `${path}: request ids must be unique`);
      seen.add(id);
    }
  }
});
