// The pages in a real headless Chromium: sign in with the emailed code, create an
// organization, invite a colleague who signs in from the emailed link and accepts, read the
// audit log, sign out. Skips (with one loud line) where /usr/bin/chromium is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { freePort, prerequisites } from './helpers/tools.ts';
import { codeIn, inviteLinkIn, freshEmail } from './helpers/api.ts';
import { assertAccessible } from './helpers/axe.ts';

const hasChromium = prerequisites('the page tests in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
]);

let ts: TestServer;
let browser: Browser;
const problems: string[] = [];

before(async () => {
  if (!hasChromium) return;
  // PUBLIC_URL is where the server really listens, so emailed links are opened as sent.
  const port = await freePort();
  ts = await startTestServer({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}` });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await ts?.close();
});

/** A fresh browser profile whose console errors and page errors are collected. */
async function person(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Script errors, CSP refusals and missing pages or assets are problems. API answers of 4xx
  // are not: the pages handle them (a 401 from /api/me sends the visitor to /signin).
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const apiAnswer =
      /^Failed to load resource: .* status of 4\d\d/.test(m.text()) &&
      /^\/api\//.test(new URL(m.location().url || 'about:blank').pathname);
    if (!apiAnswer) problems.push(`console: ${m.text()} ${m.location().url}`);
  });
  return { ctx, page };
}

/** Fills in the sign-in form on the current /signin page with the code from the inbox. */
async function signInOnPage(page: Page, email: string): Promise<void> {
  await page.waitForURL(/\/signin/);
  const since = ts.inbox.messages.length;
  await page.fill('#email', email);
  await page.click('#email-form button[type=submit]');
  await page.getByText(`We sent a 6-digit code to ${email}`).waitFor();
  const code = codeIn(await ts.inbox.waitFor(email, { since }));
  await page.fill('#code', code);
  await page.click('#code-form button[type=submit]');
}

test(
  'sign in, create an org, invite a colleague who joins, read the audit log, sign out',
  { skip: !hasChromium },
  async () => {
    const ownerEmail = freshEmail('owner');
    const colleagueEmail = freshEmail('colleague');
    const owner = await person();
    const { page } = owner;

    await page.goto(`${ts.url}/signin`);
    await page.locator('#email').waitFor();
    await assertAccessible(page, 'the sign-in page');
    await signInOnPage(page, ownerEmail);
    await page.waitForURL(`${ts.url}/`);
    await page.getByText('You are not in any organization yet.').waitFor();
    assert.equal(await page.locator('#nav .right').textContent(), ownerEmail);
    await assertAccessible(page, 'the home page (empty)');
    await page.goto(`${ts.url}/orgs`);
    await page.getByText('You are not in any organization yet.').waitFor();
    await assertAccessible(page, 'the organizations page (empty)');

    await page.fill('#org-name', 'Acme Studio');
    await page.click('#create-org button[type=submit]');
    await page.waitForURL(/\/orgs\/[0-9a-f-]{36}$/);
    const orgUrl = page.url();
    assert.equal(await page.locator('h1').textContent(), 'Acme Studio');
    await page.getByText('you are owner').waitFor();
    assert.equal(await page.locator('#member-summary').innerText(), '1 member');

    const since = ts.inbox.messages.length;
    await page.fill('#invite-email', colleagueEmail);
    await page.selectOption('#invite-role', 'member');
    await page.click('#invite button[type=submit]');
    await page.locator('#invitations').getByText(colleagueEmail).waitFor();
    const { link } = inviteLinkIn(await ts.inbox.waitFor(colleagueEmail, { since }));
    assert.ok(link.startsWith(`${ts.url}/invite#token=`), link);

    // The colleague, in a browser of their own, opens the emailed link: sign in first, then accept.
    const colleague = await person();
    await colleague.page.goto(link);
    await signInOnPage(colleague.page, colleagueEmail);
    await colleague.page.waitForURL(/\/invite#token=/);
    await colleague.page.getByText(`Accept as ${colleagueEmail}?`).waitFor();
    await assertAccessible(colleague.page, 'the invitation page');
    await colleague.page.click('#accept');
    await colleague.page.waitForURL(orgUrl);
    await colleague.page.getByText('you are member').waitFor();
    assert.equal(await colleague.page.locator('#member-summary').innerText(), '2 members');
    assert.equal(await colleague.page.locator('#members').getByText(`${colleagueEmail} (you)`).count(), 1);
    assert.equal(await colleague.page.locator('#invite').count(), 0, 'a member sees no invite form');
    await colleague.ctx.close();

    await page.reload();
    const row = page.locator(`#members tr`, { hasText: colleagueEmail });
    await row.waitFor();
    assert.equal(await row.locator('select').inputValue(), 'member');
    assert.equal(await page.locator('#invitations').count(), 0, 'the invitation is no longer pending');
    await page.getByText('No pending invitations.').waitFor();
    const shot = path.join('test-output', 'org-page.png');
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    await assertAccessible(page, 'the organization page');

    await page.click('text=Audit log');
    await page.waitForURL(`${orgUrl}/audit`);
    const audit = page.locator('#audit tbody');
    await audit.locator('tr').first().waitFor();
    const rows = await audit.locator('tr').allTextContents();
    const has = (action: string, ...words: string[]) =>
      assert.ok(
        rows.some((r) => r.includes(action) && words.every((w) => r.includes(w))),
        `${action} ${words.join(' ')} in ${JSON.stringify(rows)}`,
      );
    has('org.created', ownerEmail);
    has('invitation.created', ownerEmail, colleagueEmail);
    has('invitation.accepted', colleagueEmail);
    has('auth.org_entered', ownerEmail);
    await assertAccessible(page, 'the audit log');

    await page.goto(`${ts.url}/account`);
    await page.locator('#sessions li').first().waitFor();
    await assertAccessible(page, 'the account page');
    await page.goto(`${orgUrl}/sessions`);
    await page.getByText('No sessions yet.').waitFor();
    await assertAccessible(page, 'the sessions page (empty)');
    await page.fill('#session-title', 'Pilot');
    await page.click('#create-session button[type=submit]');
    await page.getByRole('button', { name: 'End session' }).waitFor();
    await page.getByText('Nothing recorded yet.').waitFor();
    await page.locator('#transcript-status').waitFor();
    await assertAccessible(page, 'the session page (nothing recorded)');

    await page.click('#signout');
    await page.waitForURL(/\/signin$/);
    const me = await page.request.get(`${ts.url}/api/me`);
    assert.equal(me.status(), 401, 'signed out on the server');
    await page.goto(orgUrl);
    await page.waitForURL(/\/signin\?next=/);
    await owner.ctx.close();

    assert.deepEqual(problems, [], 'no script errors or CSP violations in the pages');
  },
);
