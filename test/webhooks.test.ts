// Signed webhooks as an org admin and a receiver see them: register an endpoint (the secret
// once), send a test event that the `standardwebhooks` package verifies, events from the
// work itself (members, a session ending, its recording ready once its last track is sealed,
// its transcript), a receiver that is down and then fails for a while and still gets every
// event in order with one webhook-id per event, secret rotation with an overlap, request
// forgery refused, and an endpoint disabled after its last retry with an email to the admins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { childEnv, startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, freshEmail, getMe, inviteLinkIn } from './helpers/api.ts';
import { eventually } from './helpers/tools.ts';
import { asOwner } from './helpers/recording.ts';
import { launchChromium } from './helpers/browser.ts';
import { recipients } from './helpers/smtp.ts';
import { OpenApiChecker } from './helpers/openapi.ts';
import type { Res } from './helpers/http.ts';
import { assertAccessible } from './helpers/axe.ts';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';

interface Received {
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** A loopback receiver: answers `respond()`'s status, or is not listening at all while down. */
class Receiver {
  readonly got: Received[] = [];
  respond: () => number = () => 204;
  #server: http.Server | undefined;
  port = 0;
  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const status = this.respond();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        this.got.push({ headers, body: Buffer.concat(parts).toString(), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  /** Successful deliveries, parsed. */
  delivered(): { id: string; type: string; data: Record<string, unknown>; raw: Received }[] {
    return this.got
      .filter((g) => g.status < 300)
      .map((g) => {
        const b = JSON.parse(g.body) as { type: string; data: Record<string, unknown> };
        return { id: g.headers['webhook-id'] ?? '', type: b.type, data: b.data, raw: g };
      });
  }
}

const PUBLIC_URL = 'http://recorder.test';

/** Polls a condition on what the receivers got so far. */
function until<T>(what: string, fn: () => T | undefined, timeoutMs?: number): Promise<T> {
  return eventually(what, () => Promise.resolve(fn()), timeoutMs);
}
let ts: TestServer;
let owner: HttpClient;
let admin: HttpClient;
let member: HttpClient;
let outsider: HttpClient;
const emails = { owner: freshEmail('hook-owner'), admin: freshEmail('hook-admin'), member: freshEmail('hook-member') };
let orgId = '';
let base = '';
const receivers: Receiver[] = [];

async function receiver(): Promise<Receiver> {
  const r = new Receiver();
  await r.start();
  receivers.push(r);
  return r;
}

async function invite(email: string, role: string, who: HttpClient): Promise<void> {
  const since = ts.inbox.messages.length;
  const res = await owner.post(`/api/orgs/${orgId}/invitations`, { email, role });
  assert.equal(res.status, 201, res.text);
  const { token } = inviteLinkIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await who.post('/api/invitations/accept', { token })).status, 200);
}

interface EndpointBody {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  secret?: string;
  previous_secret_expires_at: string | null;
}

interface DeliveryBody {
  id: string;
  event_id: string;
  type: string;
  state: string;
  attempts: { attempt: number; status: number | null; latency_ms: number; error: string | null }[];
}

async function create(url: string, events: string[]): Promise<EndpointBody & { secret: string }> {
  const res = await owner.post<EndpointBody & { secret: string }>(`${base}/webhooks`, { url, events });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function deliveries(endpointId: string): Promise<DeliveryBody[]> {
  const res = await owner.get<{ deliveries: DeliveryBody[] }>(`${base}/webhooks/${endpointId}/deliveries`);
  assert.equal(res.status, 200, res.text);
  return res.body.deliveries;
}

before(async () => {
  // NODE_ENV=development: http:// to a loopback receiver is allowed (production refuses it).
  ts = await startTestServer({
    NODE_ENV: 'development',
    PUBLIC_URL,
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_MAX_ATTEMPTS: '5',
    WEBHOOK_TIMEOUT_MS: '2000',
    JOBS_POLL_INTERVAL_MS: '200',
  });
  owner = await ts.signIn(emails.owner);
  admin = await ts.signIn(emails.admin);
  member = await ts.signIn(emails.member);
  outsider = await ts.signIn(freshEmail('hook-outsider'));
  const org = await owner.post('/api/orgs', { name: 'Hooked' });
  orgId = String(org.body.id);
  base = `/api/orgs/${orgId}`;
  await invite(emails.admin, 'admin', admin);
  await invite(emails.member, 'member', member);
});
after(async () => {
  for (const r of receivers) await r.stop();
  await ts.close();
});

test('register: 201 with the secret once; admins only; input and targets checked', async () => {
  const r = await receiver();
  const ep = await create(r.url, ['member.added', 'member.added']);
  assert.match(ep.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(ep.events, ['member.added']);
  assert.equal(ep.enabled, true);
  const got = await owner.get<EndpointBody>(`${base}/webhooks/${ep.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.secret, undefined, 'the secret is shown once');
  assert.ok(!got.text.includes(ep.secret.slice(6)), 'the secret is not in any later answer');
  const list = await admin.get<{ endpoints: EndpointBody[] }>(`${base}/webhooks`);
  assert.deepEqual(
    list.body.endpoints.map((e) => e.id),
    [ep.id],
  );
  // Stored encrypted: the secret's bytes are nowhere in the row.
  const row = await asOwner(
    ts,
    async (c) => (await c.query('select * from webhook_endpoints where id = $1', [ep.id])).rows[0],
  );
  assert.ok(!JSON.stringify(row).includes(ep.secret.slice(6)), 'the secret is stored sealed');
  assert.ok(!ts.logs.some((l) => l.includes(ep.secret.slice(6))), 'the secret never reaches the log');

  assertError(await member.get(`${base}/webhooks`), 403, 'admin_required', 'a member lists');
  assertError(await member.post(`${base}/webhooks`, { url: r.url, events: ['member.added'] }), 403, 'admin_required');
  assertError(await outsider.get(`${base}/webhooks/${ep.id}`), 404, 'org_not_found', 'another org');
  assertError(await owner.post(`${base}/webhooks`, { url: r.url, events: ['nope'] }), 400, 'invalid_input');
  assertError(await owner.post(`${base}/webhooks`, { url: r.url, events: [] }), 400, 'invalid_input');
  assertError(
    await owner.post(`${base}/webhooks`, { url: 'ftp://x.example/', events: ['member.added'] }),
    400,
    'invalid_input',
  );
  assertError(await owner.post(`${base}/webhooks`, { url: r.url }), 400, 'invalid_input');
  assertError(await owner.post(`${base}/webhooks`, 'not json'), 400, 'invalid_json');
  assertError(await owner.get(`${base}/webhooks/not-a-uuid`), 400, 'invalid_input');
  assertError(await owner.patch(`${base}/webhooks/${ep.id}`, {}), 400, 'invalid_input');
  // Server-side request forgery: private, link-local, unique-local and mapped loopback targets.
  for (const url of [
    'https://10.0.0.5/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://192.168.1.1/',
    'https://[fd00::1]/hook',
    'https://[::ffff:10.1.2.3]/hook',
    'http://0.0.0.0:80/',
  ])
    assertError(
      await owner.post(`${base}/webhooks`, { url, events: ['member.added'] }),
      400,
      'address_not_allowed',
      url,
    );
  assertError(
    await owner.patch(`${base}/webhooks/${ep.id}`, { url: 'https://172.16.0.1/' }),
    400,
    'address_not_allowed',
    'changing the URL is checked too',
  );
  assertError(await owner.delete(`${base}/webhooks/00000000-0000-4000-8000-000000000000`), 404, 'webhook_not_found');
  // At most 20 endpoints: each event goes out once per endpoint.
  const extra: string[] = [];
  for (let n = 1; n < 20; n++) extra.push((await create(r.url, ['export.ready'])).id);
  assertError(await owner.post(`${base}/webhooks`, { url: r.url, events: ['export.ready'] }), 409, 'webhook_limit');
  for (const id of extra) assert.equal((await owner.delete(`${base}/webhooks/${id}`)).status, 204);
});

test('send test event: signed per Standard Webhooks, verified by the standardwebhooks package; logged', async () => {
  const r = await receiver();
  const ep = await create(r.url, ['export.ready']);
  const sent = await admin.post<{ event_id: string }>(`${base}/webhooks/${ep.id}/test`);
  assert.equal(sent.status, 202, sent.text);
  const got = await until('the test event', () => r.delivered()[0]);
  assert.equal(got.id, sent.body.event_id);
  const verified = new Webhook(ep.secret).verify(got.raw.body, got.raw.headers) as {
    type: string;
    data: Record<string, unknown>;
  };
  assert.equal(verified.type, 'webhook.test');
  assert.equal(verified.data.organization_id, orgId);
  assert.equal(got.raw.headers['content-type'], 'application/json');
  assert.throws(() =>
    new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(got.raw.body, got.raw.headers),
  );
  assert.throws(() =>
    new Webhook(ep.secret).verify(got.raw.body.replace('webhook.test', 'webhook.tesT'), got.raw.headers),
  );
  const log = await eventually('the delivery log', async () => {
    const d = await deliveries(ep.id);
    return d[0]?.state === 'delivered' ? d : undefined;
  });
  assert.equal(log.length, 1);
  assert.equal(log[0]?.event_id, sent.body.event_id);
  assert.equal(log[0]?.attempts.length, 1);
  assert.equal(log[0]?.attempts[0]?.status, 204);
  assert.ok((log[0]?.attempts[0]?.latency_ms ?? -1) >= 0);
  assertError(await member.post(`${base}/webhooks/${ep.id}/test`), 403, 'admin_required');
});

test('events from the work: members join and leave, a session ends, its recording is ready once its last track is sealed, its transcript', async () => {
  const r = await receiver();
  const ep = await create(r.url, [
    'member.added',
    'member.removed',
    'session.ended',
    'recording.ready',
    'transcript.ready',
    'transcript.failed',
  ]);
  const joiner = freshEmail('joiner');
  const joinerClient = await ts.signIn(joiner);
  await invite(joiner, 'member', joinerClient);
  const joinerId = (await getMe(joinerClient)).body.user.id;
  assert.equal((await owner.delete(`${base}/members/${joinerId}`)).status, 204);

  const s = await owner.post<{ id: string }>(`${base}/sessions`, { title: 'Hooked talk' });
  assert.equal(s.status, 201, s.text);
  const sessionId = s.body.id;
  // One track still open when the session ends (the media server is writing its last chunk).
  const trackId = await asOwner(ts, async (c) => {
    const p = await c.query<{ id: string }>(
      `insert into participants (organization_id, session_id, display_name, role) values ($1, $2, 'Host', 'host') returning id`,
      [orgId, sessionId],
    );
    const k = await c.query<{ id: string }>(
      `insert into recording_takes (organization_id, session_id, seq, started_at) values ($1, $2, 1, now()) returning id`,
      [orgId, sessionId],
    );
    const t = await c.query<{ id: string }>(
      `insert into tracks (organization_id, session_id, take_id, participant_id, kind, mime_type, clock_rate, payload_type, producer_id, started_at)
       values ($1, $2, $3, $4, 'audio', 'audio/opus', 48000, 100, 'p1', now()) returning id`,
      [orgId, sessionId, k.rows[0]?.id, p.rows[0]?.id],
    );
    return t.rows[0]?.id ?? '';
  });
  assert.equal((await owner.post(`${base}/sessions/${sessionId}/end`)).status, 200);
  await until('session.ended', () => r.delivered().find((d) => d.type === 'session.ended'));
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(
    r.delivered().find((d) => d.type === 'recording.ready'),
    undefined,
    'not ready while a track is still open',
  );
  await asOwner(ts, (c) => c.query('update tracks set ended_at = now() where id = $1', [trackId]));
  const ready = await until('recording.ready', () => r.delivered().find((d) => d.type === 'recording.ready'));
  const transcript = await until('transcript.ready or transcript.failed', () =>
    r.delivered().find((d) => d.type.startsWith('transcript.')),
  );

  const types = r.delivered().map((d) => d.type);
  // (This transcript ran while the track was open: here nothing flushed it before the end.)
  assert.deepEqual(
    types.filter((t) => !t.startsWith('transcript.')),
    ['member.added', 'member.removed', 'session.ended', 'recording.ready'],
  );
  assert.equal(types.filter((t) => t === 'recording.ready').length, 1, 'once per session');
  for (const d of r.delivered()) new Webhook(ep.secret).verify(d.raw.body, d.raw.headers);
  const [added, removed] = r.delivered();
  assert.equal(added?.data.user_id, joinerId);
  assert.equal(removed?.data.user_id, joinerId);
  assert.equal(ready.data.session_id, sessionId);
  const links = ready.data.links as Record<string, string>;
  assert.equal(links.session, `${PUBLIC_URL}/api/orgs/${orgId}/sessions/${sessionId}`);
  const tracks = ready.data.tracks as { id: string; kind: string; download_url: string }[];
  assert.deepEqual(
    tracks.map((t) => [t.id, t.kind, t.download_url]),
    [[trackId, 'audio', `${PUBLIC_URL}/api/orgs/${orgId}/sessions/${sessionId}/tracks/${trackId}/download`]],
  );
  assert.equal(transcript.data.session_id, sessionId);
  assert.equal(
    (transcript.data.links as Record<string, string>).transcript,
    `${PUBLIC_URL}/api/orgs/${orgId}/sessions/${sessionId}/transcript`,
  );
  // Ids and links only: no transcript text, no email addresses, no media.
  for (const d of r.delivered()) {
    assert.ok(!d.raw.body.includes(joiner), 'no email address in a payload');
    assert.ok(!('text' in d.data) && !('segments' in d.data));
  }
});

test('a receiver down, then failing, then back gets every event in order, each with one webhook-id', async () => {
  const r = await receiver();
  const ep = await create(r.url, ['member.added']);
  await r.stop(); // down: connections refused
  const sent: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await owner.post<{ event_id: string }>(`${base}/webhooks/${ep.id}/test`);
    assert.equal(res.status, 202);
    sent.push(res.body.event_id);
  }
  await eventually('a refused attempt is logged', async () => {
    const d = await deliveries(ep.id);
    return d.find((x) => x.attempts.some((a) => a.error?.includes('ECONNREFUSED')));
  });
  // Back, but answering 503 once before it works again. (With WEBHOOK_MAX_ATTEMPTS=5 this
  // leaves room for three refused attempts: the receiver is back within 2.1 s of the first.)
  let failures = 1;
  r.respond = () => (failures-- > 0 ? 503 : 200);
  await r.start();
  await until('all three delivered', () => (r.delivered().length === 3 ? true : undefined), 30_000);
  assert.deepEqual(
    r.delivered().map((d) => d.id),
    sent,
    'delivered once each, in the order they were sent',
  );
  const seen = r.got.map((g) => [g.headers['webhook-id'], g.status]);
  assert.deepEqual(
    seen,
    [
      [sent[0], 503],
      [sent[0], 200],
      [sent[1], 200],
      [sent[2], 200],
    ],
    'the head is retried with the same webhook-id; nothing behind it overtakes it',
  );
  for (const g of r.got) new Webhook(ep.secret).verify(g.body, g.headers);
  const log = await deliveries(ep.id);
  const first = log.find((d) => d.event_id === sent[0]);
  assert.equal(first?.state, 'delivered');
  const statuses = first?.attempts.map((a) => a.status) ?? [];
  assert.ok(statuses.length >= 3, 'refused, 503, delivered');
  assert.deepEqual(statuses.slice(-2), [503, 200]);
  assert.ok(
    statuses.slice(0, -2).every((st) => st === null),
    'the attempts before it came back had no answer',
  );
  assert.match(first?.attempts[0]?.error ?? '', /ECONNREFUSED/);
});

test('rotate secret: both secrets sign during the overlap, then only the new one', async () => {
  const r = await receiver();
  const ep = await create(r.url, ['member.added']);
  const rotated = await owner.post<EndpointBody & { secret: string }>(`${base}/webhooks/${ep.id}/rotate-secret`);
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.body.secret, ep.secret);
  assert.ok(rotated.body.previous_secret_expires_at);
  await owner.post(`${base}/webhooks/${ep.id}/test`);
  const during = await until('a delivery during the overlap', () => r.delivered()[0]);
  assert.equal(during.raw.headers['webhook-signature']?.split(' ').length, 2);
  new Webhook(ep.secret).verify(during.raw.body, during.raw.headers);
  new Webhook(rotated.body.secret).verify(during.raw.body, during.raw.headers);
  // A day later (the database's clock moves), the old secret no longer signs.
  ts.clock.advance(25 * 3600);
  await ts.clock.settled();
  await owner.post(`${base}/webhooks/${ep.id}/test`);
  const later = await until('a delivery after the overlap', () => r.delivered()[1]);
  assert.equal(later.raw.headers['webhook-signature']?.split(' ').length, 1);
  new Webhook(rotated.body.secret).verify(later.raw.body, later.raw.headers);
  assert.throws(() => new Webhook(ep.secret).verify(later.raw.body, later.raw.headers));
  assert.equal((await owner.get<EndpointBody>(`${base}/webhooks/${ep.id}`)).body.previous_secret_expires_at, null);
});

test('after the last retry the endpoint is disabled and admins are emailed; enabling it again delivers what waited', async () => {
  const r = await receiver();
  r.respond = () => 500;
  const ep = await create(r.url, ['member.added']);
  const since = ts.inbox.messages.length;
  const first = await owner.post<{ event_id: string }>(`${base}/webhooks/${ep.id}/test`);
  const second = await owner.post<{ event_id: string }>(`${base}/webhooks/${ep.id}/test`);
  const mail = await ts.inbox.waitFor(emails.admin, {
    since,
    timeoutMs: 30_000,
    subject: /webhook endpoint was disabled/,
  });
  assert.match(mail.text ?? '', new RegExp(`127\\.0\\.0\\.1:${r.port}/hook`));
  await ts.inbox.waitFor(emails.owner, { since, subject: /webhook endpoint was disabled/ });
  assert.ok(
    !ts.inbox.messages.slice(since).some((m) => recipients(m).includes(emails.member)),
    'members who are not admins are not told',
  );
  const got = await owner.get<EndpointBody>(`${base}/webhooks/${ep.id}`);
  assert.equal(got.body.enabled, false);
  assert.equal(got.body.disabled_reason, 'failing');
  assert.equal(r.got.length, 5, 'WEBHOOK_MAX_ATTEMPTS attempts');
  assert.ok(r.got.every((g) => g.headers['webhook-id'] === first.body.event_id));
  const log = await deliveries(ep.id);
  assert.deepEqual(
    log.map((d) => [d.event_id, d.state, d.attempts.length]),
    [
      [second.body.event_id, 'pending', 0],
      [first.body.event_id, 'failed', 5],
    ],
  );
  assertError(await owner.post(`${base}/webhooks/${ep.id}/test`), 409, 'webhook_disabled');
  const metrics = await (await fetch(`${ts.url}/metrics`)).text();
  assert.match(metrics, /recorder_webhook_attempts_total\{outcome="disabled"\} 1\n/);
  assert.match(metrics, /recorder_webhook_attempts_total\{outcome="retry"\} [1-9]/);
  assert.match(metrics, /recorder_webhook_attempts_total\{outcome="delivered"\} [1-9]/);
  assert.match(metrics, /recorder_webhook_latency_seconds_count [1-9]/);
  r.respond = () => 200;
  const enabled = await owner.patch<EndpointBody>(`${base}/webhooks/${ep.id}`, { enabled: true });
  assert.equal(enabled.status, 200, enabled.text);
  assert.equal(enabled.body.disabled_reason, null);
  await until('the waiting event', () => r.delivered()[0]);
  assert.equal(r.delivered()[0]?.id, second.body.event_id);
  // Disabled by hand: no new events go out.
  const off = await owner.patch<EndpointBody>(`${base}/webhooks/${ep.id}`, { enabled: false });
  assert.equal(off.body.disabled_reason, 'admin');
  assert.equal((await owner.delete(`${base}/webhooks/${ep.id}`)).status, 204);
  assertError(await owner.get(`${base}/webhooks/${ep.id}`), 404, 'webhook_not_found');
});

test('the organisation page: add an endpoint, copy its secret once, send a test event, read the delivery log', async () => {
  const r = await receiver();
  const browser = await launchChromium();
  try {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await ctx.addCookies([...owner.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${ts.url}/orgs/${orgId}/integrations`);
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByLabel('Endpoint URL').fill(r.url);
    await page.getByRole('checkbox', { name: 'recording.ready' }).uncheck();
    await page.getByRole('checkbox', { name: 'transcript.ready' }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.locator('#webhook-secret').innerText()).trim();
    assert.match(secret, /^whsec_/);
    const row = page.locator('#webhooks tr', { hasText: r.url });
    await row.waitFor();
    assert.match(await row.innerText(), /transcript\.ready/);
    await page.getByRole('button', { name: `Send test event to ${r.url}` }).click();
    const got = await until('the test event from the page', () => r.delivered()[0]);
    assert.equal(got.type, 'webhook.test');
    new Webhook(secret).verify(got.raw.body, got.raw.headers);
    await page.getByRole('button', { name: `Delivery log of ${r.url}` }).click();
    await page.locator('#webhook-deliveries', { hasText: 'delivered' }).waitFor();
    assert.match(
      await page.locator('#webhook-deliveries').innerText(),
      /webhook\.test[\s\S]*delivered[\s\S]*204 in \d+ ms/,
    );
    await assertAccessible(page, 'the organisation page with webhooks');
    // For a person to look at (test-output/screens/).
    fs.mkdirSync(path.join('test-output', 'screens'), { recursive: true });
    await page
      .locator('section[aria-labelledby="webhooks-heading"]')
      .screenshot({ path: path.join('test-output', 'screens', 'webhooks-section.png') });
    // Reloaded, the page no longer shows the secret.
    await page.reload();
    await row.waitFor();
    assert.equal(await page.locator('#webhook-secret').count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('key rotation (npm run keys:rotate -- --new-kek) re-wraps endpoint keys; secrets still sign', async () => {
  const r = await receiver();
  const ep = await create(r.url, ['member.added']);
  const keyIdOf = () =>
    asOwner(ts, async (c) => {
      const row = await c.query<{ k: string }>(
        `select wrapped_key ->> 'keyId' as k from webhook_endpoints where id = $1`,
        [ep.id],
      );
      return row.rows[0]?.k ?? '';
    });
  const before = await keyIdOf();
  const run = spawnSync(
    process.execPath,
    [path.resolve(import.meta.dirname, '../scripts/keys-rotate.ts'), '--new-kek'],
    {
      env: childEnv(ts),
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /re-wrapped [1-9]\d* webhook endpoint key\(s\); 0 changed meanwhile; 0 failed/);
  const after = await keyIdOf();
  assert.notEqual(after, before, 'the endpoint key moved to the new KEK');
  assert.match(run.stdout, new RegExp(`webhook endpoint keys by key:\\n  local  ${after}`));
  await owner.post(`${base}/webhooks/${ep.id}/test`);
  const got = await until('a delivery after rotation', () => r.delivered()[0]);
  new Webhook(ep.secret).verify(got.raw.body, got.raw.headers);
});

test('every webhook answer, success or refusal, matches the OpenAPI document', async () => {
  const doc = await owner.get('/api/openapi.json');
  assert.equal(doc.status, 200);
  const checker = new OpenApiChecker(doc.body);
  const seen: [string, string, Res<unknown>][] = [];
  const call = async <T>(method: string, path: string, res: Promise<Res<T>>): Promise<Res<T>> => {
    const r = await res;
    seen.push([method, path, r]);
    return r;
  };
  const r = await receiver();
  const created = await call(
    'POST',
    `${base}/webhooks`,
    owner.post<{ id: string }>(`${base}/webhooks`, { url: r.url, events: ['export.ready'] }),
  );
  const one = `${base}/webhooks/${created.body.id}`;
  await call('GET', `${base}/webhooks`, owner.get(`${base}/webhooks`));
  await call('GET', one, owner.get(one));
  await call('POST', `${one}/test`, owner.post(`${one}/test`));
  await until('delivered', () => r.delivered()[0]);
  await call('GET', `${one}/deliveries`, owner.get(`${one}/deliveries?limit=5`));
  await call('POST', `${one}/rotate-secret`, owner.post(`${one}/rotate-secret`));
  await call('PATCH', one, owner.patch(one, { enabled: false }));
  await call('POST', `${one}/test`, owner.post(`${one}/test`));
  await call(
    'POST',
    `${base}/webhooks`,
    owner.post(`${base}/webhooks`, { url: 'https://10.0.0.1/', events: ['export.ready'] }),
  );
  await call('POST', `${base}/webhooks`, owner.post(`${base}/webhooks`, { url: r.url, events: [] }));
  await call('GET', `${base}/webhooks`, member.get(`${base}/webhooks`));
  await call('DELETE', one, owner.delete(one));
  await call('GET', one, owner.get(one));
  assert.deepEqual(
    seen.map(([, , res]) => res.status),
    [201, 200, 200, 202, 200, 200, 200, 409, 400, 400, 403, 204, 404],
  );
  for (const [method, path, res] of seen) checker.check({ method, path, res });
});
