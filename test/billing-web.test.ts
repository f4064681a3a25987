// The Billing tab of an organisation in a real headless Chromium: an owner without a plan
// picks one and is sent to Stripe Checkout; once the webhook arrives the page shows plan,
// seats and renewal, and "Manage billing" opens the Customer Portal. With billing on, the
// Members tab shows seats used against seats paid and the Usage tab the plan's limits.
// Skips (loudly) where /usr/bin/chromium is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { prerequisites } from './helpers/tools.ts';
import type { TestServer } from './helpers/server.ts';
import type { StripeFake } from './helpers/stripe-fake.ts';
import { newOrg, startBilled, subscriptionEvent } from './helpers/billing-flow.ts';
import { assertAccessible } from './helpers/axe.ts';
import { snap } from './helpers/dashboard.ts';

const hasChromium = prerequisites('the billing page test in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
]);

let ts: TestServer;
let stripe: StripeFake;
let browser: Browser;

before(async () => {
  if (!hasChromium) return;
  ({ ts, stripe } = await startBilled());
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await ts?.close();
  await stripe?.close();
});

test(
  'an owner picks a plan, is sent to Checkout, then sees plan, seats and renewal and can open the portal',
  { skip: !hasChromium },
  async () => {
    const { owner, orgId } = await newOrg(ts, 'web-billing');
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const problems: string[] = [];
    try {
      await ctx.addCookies([...owner.c.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
      // Stripe's hosted pages cannot be reached here; the browser is shown a stand-in.
      await ctx.route(/^https:\/\/(checkout|billing)\.stripe\.com\//, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Stripe</h1>' }),
      );
      const page = await ctx.newPage();
      page.setDefaultTimeout(10_000);
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });

      await page.goto(`${ts.url}/orgs/${orgId}`);
      await page.getByRole('link', { name: 'Billing' }).click();
      await page.waitForURL(`${ts.url}/orgs/${orgId}/billing`);
      const summary = page.locator('#billing-summary');
      await summary.waitFor();
      assert.match(await summary.innerText(), /No paid plan\. Seats: 1 used of 1\./);
      assert.equal(await page.locator('#billing-portal').count(), 0, 'no portal before there is a billing account');
      await page.selectOption('#billing-plan', 'team');
      await page.fill('#billing-seats', '4');
      await page.click('#billing-checkout button[type=submit]');
      await page.waitForURL(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
      const req = stripe.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1);
      assert.deepEqual(req?.body.line_items, [{ price: 'price_team', quantity: '4' }]);

      await subscriptionEvent(ts, 'created', {
        id: 'sub_web',
        customer: String(req?.body.customer),
        seats: 4,
        created: Math.floor(Date.now() / 1000),
      });
      await page.goto(`${ts.url}/orgs/${orgId}/billing`);
      await summary.waitFor();
      assert.match(await summary.innerText(), /Plan: Team \(active\)\. Seats: 1 used of 4\. Renews /);
      assert.equal(await page.locator('#billing-checkout').count(), 0, 'no second checkout once subscribed');
      await assertAccessible(page, 'the organization page with billing');
      fs.mkdirSync(path.join('test-output', 'screens'), { recursive: true });
      await page.locator('#billing').screenshot({ path: path.join('test-output', 'screens', 'billing-section.png') });
      await snap(page, 'billing');

      // Seats used against seats paid on the Members tab; the plan's limits beside usage.
      await page.goto(`${ts.url}/orgs/${orgId}`);
      await page.locator('#member-summary').getByText('1 member · 1 of 4 paid seats used').waitFor();
      await snap(page, 'members-billing');
      await page.goto(`${ts.url}/orgs/${orgId}/usage`);
      await page
        .locator('#usage-plan')
        .getByText(/^Plan: Team/)
        .waitFor();
      const current = await page.locator('#usage-current').innerText();
      assert.match(current, /Hours recorded\s*0\s*of \d+ this period/);
      assert.match(current, /Seats used\s*1\s*of 4 paid/);
      await snap(page, 'usage-billing');
      await page.goto(`${ts.url}/orgs/${orgId}/billing`);
      await page.click('#billing-portal');
      await page.waitForURL(/^https:\/\/billing\.stripe\.com\/p\/session\//);
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  },
);
