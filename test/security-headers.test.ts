// Every response carries the security headers, error responses included: a 401 without a
// cookie, a 403 CSRF refusal, a 404 for an unknown path or org, a 400 for bad JSON, a 405
// for a wrong method, and the pages and health check that succeed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { Res } from './helpers/http.ts';
import { freshEmail } from './helpers/api.ts';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(() => ts.close());

function assertHeaders(res: Res, label: string): void {
  const h = res.headers;
  assert.equal(h.get('x-content-type-options'), 'nosniff', label);
  assert.equal(h.get('x-frame-options'), 'DENY', label);
  assert.equal(h.get('referrer-policy'), 'no-referrer', label);
  assert.equal(h.get('cross-origin-opener-policy'), 'same-origin', label);
  assert.match(h.get('content-security-policy') ?? '', /frame-ancestors 'none'/, label);
}

test('error responses carry the security headers', async () => {
  const anon = ts.client();
  const me = await anon.get('/api/me');
  assert.equal(me.status, 401);
  assertHeaders(me, '401 /api/me');
  const unknown = await anon.get('/api/nothing-here');
  assert.equal(unknown.status, 404);
  assertHeaders(unknown, '404 unknown path');
  const badJson = await anon.post('/api/auth/code', '{"email":');
  assert.equal(badJson.status, 400);
  assertHeaders(badJson, '400 invalid json');
  const wrongMethod = await anon.request('PUT', '/api/auth/code', {});
  assert.equal(wrongMethod.status, 405);
  assertHeaders(wrongMethod, '405');
  const c = await ts.signIn(freshEmail('headers'));
  const org = await c.get(`/api/orgs/${randomUUID()}`);
  assert.equal(org.status, 404);
  assertHeaders(org, '404 org');
  c.csrf = false;
  const csrf = await c.post('/api/orgs', { name: 'x' });
  assert.equal(csrf.status, 403);
  assertHeaders(csrf, '403 csrf');
});

test('successful responses carry them too', async () => {
  const anon = ts.client();
  assertHeaders(await anon.get('/healthz'), 'healthz');
  assertHeaders(await anon.get('/'), 'page');
});
