// The green room says what is wrong before anyone clicks Join, in a real headless Chromium:
// on a server without a media server, the guest link says live sessions are unavailable
// (and why) and Join stays disabled; the host's session page says the same; a browser that
// refuses the microphone gets "Permission denied" with what to do. Needs no mediasoup worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { prerequisites } from './helpers/tools.ts';
import { assertAccessible } from './helpers/axe.ts';

const CHROMIUM = '/usr/bin/chromium';
const ready = prerequisites('the studio error-state tests in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
]);

let ts: TestServer;
let browser: Browser;
before(async () => {
  if (!ready) return;
  ts = await startTestServer({ SFU: 'off' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
});
after(async () => {
  await browser?.close();
  await ts?.close();
});

async function newSession(): Promise<{
  orgId: string;
  id: string;
  guestUrl: string;
  owner: Awaited<ReturnType<TestServer['signIn']>>;
}> {
  const owner = await ts.signIn(`host-${Math.random().toString(36).slice(2, 8)}@example.com`);
  const org = (await owner.post('/api/orgs', { name: 'Quiet Co' })).body as { id: string };
  const s = (await owner.post(`/api/orgs/${org.id}/sessions`, { title: 'No SFU' })).body as {
    id: string;
    guest_url: string;
  };
  return { orgId: org.id, id: s.id, guestUrl: s.guest_url.replace(/^https?:\/\/[^/]+/, ts.url), owner };
}

test('without a media server the guest link and the session page say so before Join', { skip: !ready }, async () => {
  const { orgId, id, guestUrl, owner } = await newSession();
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(guestUrl);
    const banner = page.locator('#live-unavailable');
    await banner.waitFor();
    assert.match(await banner.innerText(), /unavailable/i);
    await page.locator('#display-name').fill('Guest');
    await page.getByRole('checkbox').check();
    assert.equal(await page.getByRole('button', { name: 'Join', exact: true }).isDisabled(), true);
    await assertAccessible(page, 'the green room without a media server');

    const url = new URL(ts.url);
    await ctx.addCookies([...owner.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/' })));
    await page.goto(`${ts.url}/orgs/${orgId}/sessions/${id}`);
    await page.locator('#live-unavailable').waitFor();
    assert.match(await page.locator('#live-unavailable').innerText(), /unavailable/i);
  } finally {
    await ctx.close();
  }
});

test('a refused microphone is named as such, with what to do', { skip: !ready }, async () => {
  const { guestUrl } = await newSession();
  // A browser without the fake permission prompt: the request for the microphone is denied.
  const strict = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--deny-permission-prompts'],
  });
  try {
    const page = await (await strict.newContext()).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(guestUrl);
    await page.getByText(/^Permission denied/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Join', exact: true }).isDisabled(), true);
  } finally {
    await strict.close();
  }
});
