// Where webhooks may go (server-side request forgery), without a database: production
// refuses plain http, loopback, private, link-local, unique-local and mapped addresses;
// development allows only a loopback receiver beyond public https.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNonPublicAddress, resolveTarget, TargetError } from '../lib/webhooks/target.ts';
import { retryDelayMs } from '../server/services/webhookDelivery.ts';

const production = { allowLoopback: false };
const development = { allowLoopback: true };

async function refused(url: string, opts: { allowLoopback: boolean }): Promise<string> {
  try {
    await resolveTarget(url, opts);
  } catch (err) {
    if (err instanceof TargetError) return err.code;
    throw err;
  }
  return 'allowed';
}

test('production: https to public addresses only', async () => {
  assert.equal(await refused('https://93.184.216.34/hook', production), 'allowed');
  assert.equal(await refused('https://[2606:2800:220:1::1]/hook', production), 'allowed');
  assert.equal(await refused('http://93.184.216.34/hook', production), 'https_required');
  for (const url of [
    'https://127.0.0.1/',
    'https://127.9.9.9:8443/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://10.1.1.1/',
    'https://172.31.255.255/',
    'https://192.168.0.10/',
    'https://100.64.0.1/',
    'https://169.254.169.254/',
    'https://[fe80::1]/',
    'https://[fd12:3456::1]/',
    'https://0.0.0.0/',
    'https://224.0.0.1/',
    'https://localhost/',
  ])
    assert.equal(await refused(url, production), 'address_not_allowed', url);
  assert.equal(await refused('not a url', production), 'invalid_url');
  assert.equal(await refused('https://user:pw@93.184.216.34/', production), 'invalid_url');
  assert.equal(await refused('ftp://93.184.216.34/', production), 'invalid_url');
});

test('development: a loopback receiver over http, but still no private address', async () => {
  assert.equal(await refused('http://127.0.0.1:9999/hook', development), 'allowed');
  assert.equal(await refused('http://[::1]:9999/hook', development), 'allowed');
  assert.equal(await refused('http://10.0.0.1/hook', development), 'address_not_allowed');
  assert.equal(await refused('https://169.254.169.254/', development), 'address_not_allowed');
  assert.equal(await refused('http://93.184.216.34/', development), 'https_required');
});

test('address classes', () => {
  assert.equal(isNonPublicAddress('8.8.8.8'), false);
  assert.equal(isNonPublicAddress('::ffff:8.8.8.8'), false);
  assert.equal(isNonPublicAddress('::ffff:192.168.1.1'), true);
  assert.equal(isNonPublicAddress('fc00::1'), true);
});

test('retries back off exponentially over about a day at the defaults', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(5000, n));
  assert.deepEqual(delays.slice(0, 3), [5000, 20000, 80000]);
  const totalH = delays.reduce((a, b) => a + b, 0) / 3600_000;
  assert.ok(totalH > 18 && totalH < 30, `the 9th attempt comes ${totalH.toFixed(1)} h after the first`);
});
