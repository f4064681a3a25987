/**
 * Telemetry without content: a marker string goes into every field a client controls, and
 * it must show up in no log line and no metric, while the product did store and use it.
 * Also: the per-organisation series cap, the job-queue gauges read at scrape time, and
 * Debian's promtool linting the live /metrics output.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { requireTool, run } from './helpers/tools.ts';
import { createMetrics, OTHER_ORG } from '../server/core/metrics.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { parseConfig } from '../server/core/config.ts';
import { TEST_SECRET } from './helpers/constants.ts';
import type { HttpClient } from './helpers/http.ts';
import { log, errorFields } from '../server/core/logger.ts';

// Letters and digits only: valid inside emails, tokens, header values and path segments,
// and unchanged by URL or JSON encoding.
const MARK = `Zq${randomBytes(5).toString('hex')}Mk`;
const mark = MARK.toLowerCase();

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(() => ts.close());

const metricsText = async () => (await ts.client().get('/metrics')).text;
const linesSince = (from: number) => ts.logs.slice(from);

/** Headers a client controls, each carrying the marker. */
const markedHeaders = {
  'user-agent': `Mozilla/5.0 (${MARK})`,
  'x-request-id': `${MARK}-request-id`,
  'x-forwarded-for': `10.0.0.1, ${MARK}`,
  'x-forwarded-host': `${MARK}.example`,
  referer: `https://${MARK}.example/${MARK}`,
  'accept-language': `${MARK}`,
  'x-marker': MARK,
  authorization: `Bearer ${MARK}`,
};

/** Sends a request with every marked header and a marked cookie; returns the status. */
async function send(
  c: HttpClient,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<number> {
  c.cookies.set(`pref_${MARK}`, MARK);
  const res = await c.request(method, path, body, { ...markedHeaders, ...extra });
  c.cookies.delete(`pref_${MARK}`);
  return res.status;
}

test('a marker in every client-controlled field reaches no log line and no metric', async () => {
  const from = ts.logs.length;
  const email = `${MARK}@example.com`;
  const anon = ts.client();
  const statuses: number[] = [];
  const s = async (...args: Parameters<typeof send>) => statuses.push(await send(...args));

  // Paths, query strings, pages, static files, unknown API routes.
  await s(anon, 'GET', `/${MARK}/${MARK}?${MARK}=${MARK}`);
  await s(anon, 'GET', `/api/${MARK}?q=${MARK}`);
  await s(anon, 'GET', `/orgs/${MARK}?tab=${MARK}`);
  await s(anon, 'GET', `/invite?token=${MARK}`);
  await s(anon, 'GET', `/static/${MARK}.js`);
  await s(anon, 'GET', `/healthz?${MARK}`);
  // Sign-in with a marked address, a wrong code, malformed and oversized bodies.
  await s(anon, 'POST', '/api/auth/code', { email });
  await ts.inbox.waitFor(email);
  await s(anon, 'POST', '/api/auth/verify', { email, code: '000000' });
  await s(anon, 'POST', '/api/auth/code', { email: MARK, [MARK]: MARK });
  await s(anon, 'POST', '/api/auth/code', `{"email": "${MARK}`);
  await s(anon, 'POST', '/api/auth/code', MARK, { 'content-type': `text/${MARK}` });
  await s(anon, 'POST', '/api/auth/code', JSON.stringify({ email: MARK.repeat(6000) }));
  await s(anon, 'POST', '/api/join', { session_id: randomUUID(), token: `${MARK}${MARK}`, display_name: MARK });

  // Signed in: display name, organisation name, invitation email, ids and tokens in paths.
  const c = await ts.signIn(email);
  await s(c, 'PATCH', '/api/me', { display_name: `Name ${MARK}` });
  const created = await c.post<{ id: string }>('/api/orgs', { name: `Org ${MARK}` }, markedHeaders);
  assert.equal(created.status, 201);
  const orgId = created.body.id;
  await s(c, 'GET', `/api/orgs/${orgId}?${MARK}=1`);
  await s(c, 'PATCH', `/api/orgs/${orgId}`, { name: `Renamed ${MARK}` });
  await s(c, 'POST', `/api/orgs/${orgId}/invitations`, { email: `invitee-${MARK}@example.com` });
  await s(c, 'GET', `/api/orgs/${orgId}/audit?before=${MARK}&limit=${MARK}`);
  await s(c, 'POST', `/api/orgs/${orgId}/sessions`, { title: `Title ${MARK}` });
  await s(c, 'POST', '/api/invitations/accept', { token: `${MARK}${MARK}` });
  await s(c, 'DELETE', `/api/auth/sessions/${MARK}`);
  await s(c, 'GET', `/api/orgs/${MARK}/members`);
  await s(c, 'POST', '/api/orgs', { name: MARK }, { 'x-csrf-token': MARK });
  await s(anon, 'GET', `/metrics?${MARK}`);

  // The marker really went in: the product stored it and mailed the marked addresses.
  const org = await c.get<{ name: string }>(`/api/orgs/${orgId}`);
  assert.equal(org.body.name, `Renamed ${MARK}`);
  await ts.inbox.waitFor(`invitee-${MARK}@example.com`);
  assert.ok(statuses.some((x) => x >= 200 && x < 300) && statuses.some((x) => x >= 400 && x < 500), statuses.join(','));
  assert.ok(
    statuses.every((x) => x < 500),
    `no server error: ${statuses.join(',')}`,
  );

  const lines = linesSince(from);
  const requestLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === 'request');
  assert.ok(requestLines.length >= statuses.length, `a request line per request (${requestLines.length})`);
  for (const r of requestLines) {
    assert.deepEqual(
      Object.keys(r).filter(
        (k) => !['time', 'level', 'msg', 'route', 'method', 'status', 'latency_ms', 'request_id', 'org'].includes(k),
      ),
      [],
      JSON.stringify(r),
    );
    assert.notEqual(r.request_id, `${MARK}-request-id`, 'a client-chosen request id is not logged');
  }
  // The organisation appears in logs and metrics only as its HMAC label.
  const label = ts.running.deps.metrics.orgLabel(orgId);
  assert.ok(requestLines.some((r) => r.org === label && r.route === '/api/orgs/:orgId'));
  const metrics = await metricsText();
  assert.match(metrics, new RegExp(`recorder_http_org_requests_total\\{org="${label}",code_class="2xx"\\} [1-9]`));
  assert.match(
    metrics,
    /recorder_http_request_duration_seconds_count\{route="\/api\/orgs\/:orgId",method="PATCH",status="200"\} 1/,
  );
  assert.match(metrics, /recorder_auth_codes_sent_total [1-9]/);
  assert.match(metrics, /recorder_auth_code_failures_total [1-9]/);

  const leaks = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.toLowerCase().includes(mark) || l.includes(orgId) || l.includes(c.cookies.get('sid') ?? '-'));
  assert.deepEqual(leaks(lines.join('\n')), [], 'log lines carrying client content');
  assert.deepEqual(leaks(metrics), [], 'metric lines carrying client content');
});

test('the logger itself drops content a careless call site passes', () => {
  const from = ts.logs.length;
  const err = new Error(`bad input ${MARK}\nsecond line ${MARK}`);
  log.warn('careless', {
    path: `/x/${MARK}`,
    url_path: MARK,
    headers: { 'user-agent': MARK, 'x-other': MARK },
    user_agent: MARK,
    params: { id: MARK },
    ip: MARK,
    to: `${MARK}@example.com`,
    recipient_list: [MARK],
    message: MARK,
    title: MARK,
    chunk: Buffer.from(MARK),
    deep: { a: { b: { c: { d: { e: { f: MARK } } } } } },
    ...errorFields(err),
  });
  const lines = linesSince(from);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(rec.msg, 'careless');
  assert.equal(rec.err_name, 'Error');
  assert.match(String(rec.stack), /^\s+at /, 'stack frames are kept');
  assert.ok(!(lines[0] ?? '').toLowerCase().includes(mark), lines[0]);
});

test('per-organisation series are capped: the first N orgs get HMAC labels, the rest share "other"', async () => {
  const capped = await startTestServer({ METRICS_ORG_SERIES_MAX: '2' });
  try {
    const c = await capped.signIn(`cap-${randomBytes(4).toString('hex')}@example.com`);
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const res = await c.post<{ id: string }>('/api/orgs', { name });
      assert.equal(res.status, 201);
      ids.push(res.body.id);
    }
    for (const id of [...ids, ...ids]) assert.equal((await c.get(`/api/orgs/${id}`)).status, 200);
    const m = capped.running.deps.metrics;
    const text = (await capped.client().get('/metrics')).text;
    const series = [
      ...text.matchAll(/^recorder_http_org_requests_total\{org="([^"]+)",code_class="2xx"\} (\d+)$/gm),
    ].map((x) => [x[1], Number(x[2])]);
    assert.deepEqual(Object.fromEntries(series), {
      [m.orgLabel(ids[0] ?? '')]: 2,
      [m.orgLabel(ids[1] ?? '')]: 2,
      [OTHER_ORG]: 2,
    });
    assert.match(text, /^recorder_metrics_org_series 2$/m);
    assert.match(text, /^recorder_metrics_org_series_folded_total 2$/m);
    // Logs are not capped: the third org's requests still carry its own label there.
    assert.ok(capped.logs.some((l) => l.includes(`"org":"${m.orgLabel(ids[2] ?? '')}"`)));
  } finally {
    await capped.close();
  }
  // 0 turns per-org series off; the setting is validated.
  const none = createMetrics(Secrets.load(TEST_SECRET, '/nonexistent'), { orgSeriesMax: 0 });
  assert.equal(none.orgSeries(randomUUID()), OTHER_ORG);
  assert.equal(parseConfig({}).metricsOrgSeriesMax, 100);
  assert.throws(() => parseConfig({ METRICS_ORG_SERIES_MAX: '-1' }), /METRICS_ORG_SERIES_MAX/);
});

test('job-queue gauges are read at scrape time, once per scrape; a failing read leaves /metrics up and logs no content', async () => {
  const m = ts.running.deps.metrics;
  let reads = 0;
  m.setJobQueueSource(() => {
    reads++;
    return Promise.resolve([{ queue: 'transcribe', queued: 3, running: 1, oldestQueuedAgeSeconds: 42 }]);
  });
  const text = await metricsText();
  assert.match(text, /^recorder_jobs_queued\{queue="transcribe"\} 3$/m);
  assert.match(text, /^recorder_jobs_running\{queue="transcribe"\} 1$/m);
  assert.match(text, /^recorder_jobs_oldest_queued_age_seconds\{queue="transcribe"\} 42$/m);
  assert.equal(reads, 1);

  const from = ts.logs.length;
  m.setJobQueueSource(() => Promise.reject(new Error(`relation jobs_${MARK} does not exist\n    at ${MARK}`)));
  const res = await ts.client().get('/metrics');
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /^recorder_jobs_queued\{/m);
  const lines = linesSince(from);
  assert.ok(lines.some((l) => l.includes('job queue statistics unavailable')));
  assert.deepEqual(
    lines.filter((l) => l.toLowerCase().includes(mark)),
    [],
  );
  m.setJobQueueSource(undefined);
});

test('promtool check metrics accepts the live /metrics output', async (t) => {
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  // Every kind of series present: the SFU's and the jobs' too, as their code will record them.
  const m = ts.running.deps.metrics;
  m.sessionsLive.inc();
  m.tracksCaptured.inc({ kind: 'audio' });
  m.chunksSealed.inc();
  m.chunksLost.inc({ reason: 'storage' });
  m.sfuWorkerDeaths.inc();
  m.jobsFailed.inc({ queue: 'transcribe', final: 'false' });
  m.jobDuration.observe({ queue: 'transcribe', outcome: 'succeeded' }, 12);
  m.setJobQueueSource(() =>
    Promise.resolve([{ queue: 'transcribe', queued: 0, running: 0, oldestQueuedAgeSeconds: 0 }]),
  );
  const text = await metricsText();
  m.setJobQueueSource(undefined);
  assert.match(text, /recorder_job_duration_seconds_bucket\{le="15",queue="transcribe",outcome="succeeded"\} 1/);
  const res = await run(promtool, ['check', 'metrics'], { input: text });
  assert.equal(res.code, 0, res.output);
  assert.equal(res.output.trim(), '');
  // The same check refuses what breaks the naming rules (a gauge named like a counter).
  const bad = await run(promtool, ['check', 'metrics'], {
    input: '# HELP x_total A gauge.\n# TYPE x_total gauge\nx_total 1\n',
  });
  assert.notEqual(bad.code, 0);
});
