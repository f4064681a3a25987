// API keys on the org page in a real Chromium: an owner creates a key, copies it from the
// one-time display, a script uses it, the list shows its prefix and last use but never the
// key again, and revoking it there stops the script. The section is accessible (axe-core).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { prerequisites } from './helpers/tools.ts';
import { freshEmail } from './helpers/api.ts';
import { assertAccessible } from './helpers/axe.ts';

const hasChromium = prerequisites('the API key page test in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
]);

let ts: TestServer;
let browser: Browser;

before(async () => {
  if (!hasChromium) return;
  ts = await startTestServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await ts?.close();
});

test(
  'an owner creates a key on the org page, a script uses it, and revoking it there stops it',
  { skip: !hasChromium },
  async () => {
    const owner = await ts.signIn(freshEmail('owner'));
    await owner.get('/api/me'); // sets the CSRF cookie
    const orgId = String((await owner.post('/api/orgs', { name: 'Keyed' })).body.id);
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    try {
      await ctx.addCookies([...owner.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
      const page = await ctx.newPage();
      page.setDefaultTimeout(10_000);
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${ts.url}/orgs/${orgId}`);
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      await page.getByText('No API keys yet.').waitFor();
      await assertAccessible(page, 'the org page with its API keys section');

      await page.getByLabel('Key name').fill('Nightly export');
      await page.getByLabel('Key role').selectOption('admin');
      await page.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByLabel('New API key');
      await shown.waitFor();
      const key = await shown.inputValue();
      assert.match(key, /^rec_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
      await page.getByText('it is shown only this once').waitFor();

      const script = (k: string) =>
        ts.client().request('GET', `/api/orgs/${orgId}/sessions`, undefined, { authorization: `Bearer ${k}` });
      assert.equal((await script(key)).status, 200, 'the copied key works');

      await page.reload();
      const row = page.locator('#api-key-list tbody tr', { hasText: 'Nightly export' });
      await row.waitFor();
      const prefix = key.slice(4, 16);
      assert.match((await row.textContent()) ?? '', new RegExp(`rec_${prefix}_…`));
      assert.match((await row.textContent()) ?? '', /admin/);
      assert.doesNotMatch((await row.textContent()) ?? '', /never\s*never/, 'last use is shown');
      assert.ok(!(await page.content()).includes(key.slice(17)), 'the key is never shown again');
      await assertAccessible(page, 'the API key list');

      await page.getByRole('button', { name: 'Revoke the key Nightly export' }).click();
      await row.getByText(/revoked/).waitFor();
      assert.equal((await script(key)).status, 401, 'the revoked key stops working');
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  },
);
