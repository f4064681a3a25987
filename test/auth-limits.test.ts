// Sign-in throttling, per email address and per client address, with low limits set
// through the environment (RATE_LIMIT_*). TRUST_PROXY lets each test be its own client
// through X-Forwarded-For, as behind a load balancer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { recipients } from './helpers/smtp.ts';
import type { Res } from './helpers/http.ts';
import { assertError, codeIn, otherCode, freshEmail } from './helpers/api.ts';

const WINDOW_S = 600;
let ts: TestServer;

before(async () => {
  ts = await startTestServer({
    TRUST_PROXY: 'true',
    RATE_LIMIT_CODES_PER_EMAIL: '2',
    RATE_LIMIT_CODES_PER_CLIENT: '3',
    RATE_LIMIT_VERIFY_PER_CLIENT: '3',
    RATE_LIMIT_WINDOW_S: String(WINDOW_S),
  });
});
after(() => ts.close());

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const askCode = (email: string, ip: string) => ts.client().post('/api/auth/code', { email }, from(ip));
const mailsTo = (email: string) => ts.inbox.messages.filter((m) => recipients(m).includes(email)).length;

function assertThrottled(res: Res, what: string): void {
  assertError(res, 429, 'rate_limited', what);
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retry) && retry >= 1 && retry <= WINDOW_S,
    `${what}: Retry-After ${res.headers.get('retry-after')}`,
  );
}

/** Waits until the mailer had time to deliver anything it queued. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

/** Waits until `n` messages to `email` have arrived. */
async function mailCount(email: string, n: number): Promise<void> {
  for (let i = 0; i < 250 && mailsTo(email) < n; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(mailsTo(email), n);
}

test('per email: the third code for one address is 429 from any client, and sends nothing', async () => {
  const email = freshEmail('limited');
  assert.equal((await askCode(email, '10.0.0.1')).status, 202);
  assert.equal((await askCode(email, '10.0.0.2')).status, 202);
  assertThrottled(await askCode(email, '10.0.0.3'), 'third code, new client');
  assertThrottled(await askCode(email.toUpperCase(), '10.0.0.4'), 'same address in capitals');
  await mailCount(email, 2);
  await settle();
  assert.equal(mailsTo(email), 2, 'throttled requests send no mail');
  assert.equal((await askCode(freshEmail('other'), '10.0.0.3')).status, 202, 'another address is not affected');
});

test('per client: the fourth code request from one client is 429; another client is not affected', async () => {
  const ip = '10.0.1.1';
  for (let i = 0; i < 3; i++) assert.equal((await askCode(freshEmail(`c${i}`), ip)).status, 202);
  const victim = freshEmail('victim');
  assertThrottled(await askCode(victim, ip), 'fourth request from one client');
  assert.equal((await askCode(victim, '10.0.1.2')).status, 202, 'the same address from another client');
});

test('per client: verification tries are throttled too, even with the right code', async () => {
  const email = freshEmail('guesser');
  assert.equal((await askCode(email, '10.0.2.1')).status, 202);
  const code = codeIn(await ts.inbox.waitFor(email));
  const guesser = ts.client();
  for (let i = 0; i < 3; i++) {
    assertError(
      await guesser.post('/api/auth/verify', { email, code: otherCode(code) }, from('10.0.2.9')),
      401,
      'invalid_code',
      `guess ${i + 1}`,
    );
  }
  assertThrottled(await guesser.post('/api/auth/verify', { email, code }, from('10.0.2.9')), 'fourth try');
  assert.equal(guesser.cookies.has('sid'), false);
  const owner = ts.client();
  assert.equal(
    (await owner.post('/api/auth/verify', { email, code }, from('10.0.2.1'))).status,
    200,
    'the owner, from their own client, still signs in',
  );
});

test('known and unknown addresses are throttled alike', async () => {
  const known = freshEmail('known');
  await ts.signIn(known);
  const unknown = freshEmail('unknown');
  // signIn used one of the known address's two codes.
  assert.equal((await askCode(known, '10.0.3.1')).status, 202);
  assert.equal((await askCode(unknown, '10.0.3.2')).status, 202);
  assert.equal((await askCode(unknown, '10.0.3.2')).status, 202);
  const a = await askCode(known, '10.0.3.3');
  const b = await askCode(unknown, '10.0.3.4');
  assertThrottled(a, 'known');
  assertThrottled(b, 'unknown');
  assert.deepEqual(a.body, b.body);
});

test('when the window has passed, the address and the client may ask again', async () => {
  const email = freshEmail('patient');
  const ip = '10.0.4.1';
  assert.equal((await askCode(email, ip)).status, 202);
  assert.equal((await askCode(email, ip)).status, 202);
  const throttled = await askCode(email, ip);
  assertThrottled(throttled, 'third');
  await mailCount(email, 2);
  ts.clock.advance(Number(throttled.headers.get('retry-after')));
  const since = ts.inbox.messages.length;
  assert.equal((await askCode(email, ip)).status, 202, 'after Retry-After seconds');
  const code = codeIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await ts.client().post('/api/auth/verify', { email, code }, from(ip))).status, 200);
});
