/**
 * What the dashboard's browser tests share: a person (their own browser profile whose
 * script errors, CSP refusals and requests are recorded), signing in through the emailed
 * code on the real /signin page, and screenshots of a page at desktop and phone width that
 * also check the page does not scroll sideways on a phone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestServer } from './server.ts';
import { codeIn } from './api.ts';
import { assertAccessible } from './axe.ts';

/** Where the screenshots go (kept as test artifacts). */
export const SHOTS = path.join('test-output', 'dashboard');

export const DESKTOP = { width: 1200, height: 850 };
export const PHONE = { width: 390, height: 844 };

/** One person's browser: the page, and what went wrong or was asked while they used it. */
export interface Person {
  ctx: BrowserContext;
  page: Page;
  /** Script errors, CSP refusals and failed page or asset loads (API 4xx answers excepted). */
  problems: string[];
  /** Every URL path the page requested, in order. */
  requests: string[];
}

/** A fresh browser profile at desktop width. */
export async function person(browser: Browser): Promise<Person> {
  // A Berlin time zone, as a user there would have: the account page names it.
  const ctx = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, timezoneId: 'Europe/Berlin' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = new URL(m.location().url || 'about:blank').pathname;
    // API refusals are handled by the pages; a 404 page's own status is expected (not an asset's).
    const status = /^Failed to load resource: .* status of (4\d\d)/.exec(m.text())?.[1];
    const handled =
      status !== undefined && (where.startsWith('/api/') || (status === '404' && !where.startsWith('/static/')));
    if (!handled) problems.push(`console: ${m.text()} ${where}`);
  });
  return { ctx, page, problems, requests };
}

/** Fills in the sign-in form on the current /signin page with the code from the inbox. */
export async function signInOnPage(ts: TestServer, page: Page, email: string): Promise<void> {
  await page.waitForURL(/\/signin/);
  const since = ts.inbox.messages.length;
  await page.fill('#email', email);
  await page.click('#email-form button[type=submit]');
  await page.getByText(`We sent a 6-digit code to ${email}`).waitFor();
  const code = codeIn(await ts.inbox.waitFor(email, { since, subject: /sign-in code/ }));
  await page.fill('#code', code);
  await page.click('#code-form button[type=submit]');
}

/**
 * Checks the page with axe-core, then saves it at desktop and phone width
 * (`test-output/dashboard/<name>-desktop.png`, `-phone.png`) and asserts that on the
 * phone nothing makes the whole page scroll sideways.
 */
export async function snap(page: Page, name: string): Promise<void> {
  await assertAccessible(page, name);
  fs.mkdirSync(SHOTS, { recursive: true });
  const size = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  const overflow = await page.evaluate(() => {
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => {
        const over = (x: Element | null) => !!x && x.getBoundingClientRect().right > window.innerWidth + 0.5;
        // The outermost element that sticks out (what is inside a scroll box may be wide).
        return over(e) && !over(e.parentElement) && !e.parentElement?.closest('.table-scroll, .tabs');
      })
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`);
    return { by: document.documentElement.scrollWidth - window.innerWidth, wide };
  });
  assert.ok(
    overflow.by <= 0,
    `${name}: the page scrolls sideways by ${overflow.by}px on a phone: ${overflow.wide.join(', ')}`,
  );
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(size);
}

/** The text of each body row of a table, trimmed. */
export async function rowsOf(page: Page, selector: string): Promise<string[]> {
  return (await page.locator(`${selector} tbody tr`).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}
