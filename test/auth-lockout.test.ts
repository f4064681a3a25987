// Sign-in cannot be turned against its owner (issue 10, findings 5 and 6): a browser that
// signed in to an address before holds a device cookie and keeps a code budget of its own,
// so requests from elsewhere that exhaust the address's budget do not lock it out; and
// repeated wrong codes for one address slow further tries down, except from that browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient, Res } from './helpers/http.ts';
import { assertError, codeIn, otherCode, freshEmail } from './helpers/api.ts';

let ts: TestServer;
before(async () => {
  ts = await startTestServer({
    TRUST_PROXY: 'true',
    RATE_LIMIT_CODES_PER_EMAIL: '3',
    RATE_LIMIT_CODES_PER_CLIENT: '1000',
    RATE_LIMIT_VERIFY_PER_CLIENT: '1000',
  });
});
after(() => ts.close());

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const askCode = (c: HttpClient, email: string, ip: string) => c.post('/api/auth/code', { email }, from(ip));

function assertThrottled(res: Res, what: string, maxRetry: number): number {
  assertError(res, 429, 'rate_limited', what);
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxRetry, `${what}: Retry-After ${retry}`);
  return retry;
}

/** Lets mail already queued (other people's codes) arrive, so the next code mail is ours. */
function settled(): Promise<void> {
  return new Promise((r) => setTimeout(r, 400));
}

/** Signs `c` in with a fresh code for `email`; returns the response. */
async function signInWith(c: HttpClient, email: string, ip: string): Promise<Res> {
  await settled();
  const since = ts.inbox.messages.length;
  assert.equal((await askCode(c, email, ip)).status, 202, 'code request');
  const code = codeIn(await ts.inbox.waitFor(email, { since, subject: /sign-in code/ }));
  return c.post('/api/auth/verify', { email, code }, from(ip));
}

test('a browser that signed in before keeps its own code budget when others exhaust the address', async () => {
  const email = freshEmail('owner');
  const owner = ts.client();
  assert.equal((await signInWith(owner, email, '10.9.0.1')).status, 200);
  assert.ok(owner.cookies.has('device'), 'the browser got a device cookie');
  // Someone else asks for codes for the address until its budget is gone.
  for (let i = 0; i < 2; i++) assert.equal((await askCode(ts.client(), email, `10.9.1.${i}`)).status, 202);
  assertThrottled(await askCode(ts.client(), email, '10.9.1.9'), 'a stranger, budget gone', 900);
  // The owner's browser is not locked out: it asks, receives and signs in.
  assert.equal((await signInWith(owner, email, '10.9.0.1')).status, 200, 'owner with the device cookie');
  // The device cookie is for that address only.
  const other = freshEmail('other');
  for (let i = 0; i < 3; i++) assert.equal((await askCode(ts.client(), other, `10.9.2.${i}`)).status, 202);
  assertThrottled(await askCode(owner, other, '10.9.0.1'), 'the cookie of another address', 900);
});

test('repeated wrong codes for an address slow further tries down progressively, except from its own browser', async () => {
  const email = freshEmail('target');
  const owner = ts.client();
  assert.equal((await signInWith(owner, email, '10.9.3.1')).status, 200);
  const attacker = ts.client();
  // Two codes, five wrong guesses each: ten failures for the address.
  for (let round = 0; round < 2; round++) {
    await settled();
    const since = ts.inbox.messages.length;
    assert.equal((await askCode(attacker, email, '10.9.4.1')).status, 202);
    const code = codeIn(await ts.inbox.waitFor(email, { since, subject: /sign-in code/ }));
    for (let i = 0; i < 5; i++)
      assertError(
        await attacker.post('/api/auth/verify', { email, code: otherCode(code) }, from('10.9.4.1')),
        401,
        'invalid_code',
        `round ${round} guess ${i}`,
      );
  }
  // The owner's browser asks for a code (its own budget) while the address is under attack.
  await settled();
  const since = ts.inbox.messages.length;
  assert.equal((await askCode(owner, email, '10.9.3.1')).status, 202);
  const code = codeIn(await ts.inbox.waitFor(email, { since, subject: /sign-in code/ }));
  // The attacker must now wait before the next try, whatever they send.
  const retry = assertThrottled(
    await attacker.post('/api/auth/verify', { email, code: otherCode(code) }, from('10.9.4.1')),
    'the 11th try',
    30,
  );
  assertThrottled(
    await ts.client().post('/api/auth/verify', { email, code }, from('10.9.4.2')),
    'even the right code, from a browser without the cookie',
    30,
  );
  // The owner's browser is not slowed down.
  assert.equal(
    (await owner.post('/api/auth/verify', { email, code }, from('10.9.3.1'))).status,
    200,
    'the owner signs in',
  );
  // After the wait, a try is answered again (the code was used: invalid, not throttled).
  ts.clock.advance(retry);
  assertError(
    await attacker.post('/api/auth/verify', { email, code: otherCode(code) }, from('10.9.4.1')),
    401,
    'invalid_code',
    'after Retry-After',
  );
});
