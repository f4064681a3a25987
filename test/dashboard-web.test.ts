// The dashboard in a real headless Chromium, with billing off, walked by an owner and a
// colleague (first a member, then an admin) as they would: home, members and invitations (resend, revoke), what a member does
// not see, settings (name, retention with units and its preview, automatic transcription),
// an export whose progress moves without a reload, the audit log's filters, paging and
// downloads, usage, the account page, the 404 page, and the deletion banner. Every page is
// checked with axe-core and saved at desktop and phone width under test-output/dashboard/.
// No page asks a billing route. Skips (loudly) where Chromium or the media tools are missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { freePort, prerequisites } from './helpers/tools.ts';
import { missingMediaTools } from './helpers/media.ts';
import { freshEmail, inviteLinkIn } from './helpers/api.ts';
import type { HttpClient } from './helpers/http.ts';
import { asOwner, seedRecordedSession } from './helpers/recording.ts';
import { person, rowsOf, signInOnPage, snap, type Person } from './helpers/dashboard.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';

const ready = prerequisites('the dashboard pages in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
  ...missingMediaTools(),
]);

let ts: TestServer;
let browser: Browser;
const ownerEmail = freshEmail('dash-owner');
const colleagueEmail = freshEmail('dash-member');
let owner: Person;
let colleague: Person;
let ownerApi: HttpClient;
let orgUrl = '';
let orgId = '';

before(async () => {
  if (!ready) return;
  const port = await freePort();
  // JOBS off: transcription runs stay as the test leaves them. Exports run in the API process.
  ts = await startTestServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    JOBS: 'off',
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await ts?.close();
});

test(
  'home, members and invitations as owner; a member sees no admin controls, an admin no danger zone',
  { skip: !ready, timeout: 240_000 },
  async () => {
    owner = await person(browser);
    const { page } = owner;
    await page.goto(`${ts.url}/`);
    await signInOnPage(ts, page, ownerEmail);
    await page.waitForURL(`${ts.url}/`);
    await page.locator('#home-empty').getByText('You are not in any organization yet.').waitFor();
    await page.click('#new-session');
    await page.getByText('Sessions belong to an organization.').waitFor();
    await snap(page, 'home-empty');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organizations' }).click();
    await page.fill('#org-name', 'Dash Studio');
    await page.click('#create-org button[type=submit]');
    await page.waitForURL(/\/orgs\/[0-9a-f-]{36}$/);
    orgUrl = page.url();
    orgId = orgUrl.split('/').pop() ?? '';
    assert.equal(await page.locator('h1').textContent(), 'Dash Studio');
    assert.equal(await page.locator('#member-summary').innerText(), '1 member', 'no seats shown with billing off');
    assert.deepEqual(await page.locator('nav.tabs a').allInnerTexts(), [
      'Members',
      'Sessions',
      'Usage',
      'Audit log',
      'Settings',
      'Export',
      'Integrations',
    ]);

    // Invite, resend (a new link; the page says so), and revoke another invitation.
    let since = ts.inbox.messages.length;
    await page.fill('#invite-email', colleagueEmail);
    await page.selectOption('#invite-role', 'member');
    await page.click('#invite button[type=submit]');
    await page.getByText(`Invitation sent to ${colleagueEmail}.`).waitFor();
    const first = inviteLinkIn(await ts.inbox.waitFor(colleagueEmail, { since }));
    const invitation = page.locator('#invitations tbody tr', { hasText: colleagueEmail });
    assert.match(await invitation.innerText(), /in (7 days|\d+ days|\d+ hours)/, 'the expiry is shown in words');
    since = ts.inbox.messages.length;
    await page.getByRole('button', { name: `Resend the invitation to ${colleagueEmail}` }).click();
    await page.getByText(`Invitation sent again to ${colleagueEmail}.`).waitFor();
    const second = inviteLinkIn(await ts.inbox.waitFor(colleagueEmail, { since }));
    assert.notEqual(second.token, first.token, 'a resent invitation carries a new link');
    const stray = freshEmail('stray');
    await page.fill('#invite-email', stray);
    await page.click('#invite button[type=submit]');
    await page.locator('#invitations').getByText(stray).waitFor();
    await page.getByRole('button', { name: `Revoke the invitation of ${stray}` }).click();
    await page.getByText(`Invitation of ${stray} revoked.`).waitFor();
    await page.locator('#invitations').getByText(stray).waitFor({ state: 'detached' });
    await snap(page, 'members-owner');

    // The colleague opens the resent link in a browser of their own, signs in and joins.
    colleague = await person(browser);
    await colleague.page.goto(second.link);
    await signInOnPage(ts, colleague.page, colleagueEmail);
    await colleague.page.waitForURL(/\/invite#token=/);
    await colleague.page.click('#accept');
    await colleague.page.waitForURL(orgUrl);
    await colleague.page.locator('#members').getByText(`${colleagueEmail} (you)`).waitFor();
    assert.deepEqual(await colleague.page.locator('nav.tabs a').allInnerTexts(), ['Members', 'Sessions']);
    assert.equal(await colleague.page.locator('#invite').count(), 0, 'no invite form');
    assert.equal(await colleague.page.locator('#invitations').count(), 0, 'no invitations');
    assert.equal(await colleague.page.locator('#members select').count(), 0, 'no role menus');
    assert.equal(await colleague.page.getByRole('button', { name: /^Remove / }).count(), 0, 'no remove buttons');
    await snap(colleague.page, 'members-member');
    // Typing an admin page's address shows no controls either.
    await colleague.page.goto(`${orgUrl}/settings`);
    await colleague.page.getByText("Only owners and admins can change the organization's settings.").waitFor();
    assert.equal(await colleague.page.locator('form').count(), 0);

    await page.reload();
    const row = page.locator('#members tbody tr', { hasText: colleagueEmail });
    assert.equal(await row.locator('select').inputValue(), 'member');
    assert.equal(await page.locator('#invitations').getByText(colleagueEmail).count(), 0, 'accepted: not pending');

    // Promoted to admin, the colleague manages the organisation but has no danger zone.
    await page.selectOption(`select[aria-label="Role of ${colleagueEmail}"]`, 'admin');
    await page.getByText(`${colleagueEmail} is now admin.`).waitFor();
    await colleague.page.goto(`${orgUrl}/settings`);
    await colleague.page.locator('#retention-amount').waitFor();
    assert.deepEqual(await colleague.page.locator('nav.tabs a').allInnerTexts(), [
      'Members',
      'Sessions',
      'Usage',
      'Audit log',
      'Settings',
      'Export',
      'Integrations',
    ]);
    assert.equal(await colleague.page.locator('#danger-zone').count(), 0, 'only owners may delete the organization');
    await snap(colleague.page, 'settings-admin');
    await colleague.page.goto(orgUrl);
    await colleague.page.locator('#invite').waitFor();
    assert.equal(await colleague.page.locator('#members select').count(), 0, 'an admin cannot change an owner');

    // Recorded sessions (one with a transcript), and a live one started from Home.
    ownerApi = await ts.signIn(ownerEmail);
    // Automatic transcription off (the settings test turns it on): an ended session stays "ended".
    await ownerApi.patch(`/api/orgs/${orgId}/settings/transcription`, { auto: false });
    await seedRecordedSession(ts, orgId, { owner: ownerApi, speakers: ['Olga', 'Guest'], transcript: true });
    await seedRecordedSession(ts, orgId, { owner: ownerApi, speakers: ['Olga'] });
    await page.goto(`${ts.url}/`);
    await page.locator('#home-sessions').waitFor();
    await page.click('#new-session');
    await page.fill('#session-title', 'Live chat');
    await page.click('#create-session button[type=submit]');
    await page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'End session' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sessions' }).click();
    await page.waitForURL(`${ts.url}/`);
    const home = page.locator('#home-sessions tbody tr');
    await home.nth(2).waitFor();
    const states = await home.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
    assert.deepEqual(states, ['live', 'ended', 'ready'], 'newest first, each with its state');
    const rows = await rowsOf(page, '#home-sessions');
    assert.match(rows[0] ?? '', /Live chat .*Dash Studio.*Live.*Join the room/);
    assert.match(rows[1] ?? '', /Interview .*Ended.*Listen and download/);
    assert.match(rows[2] ?? '', /Interview .*Ready.*Read the transcript/);
    await snap(page, 'home');

    // A failed transcription offers a retry; retried, the session waits for its transcript.
    const endedId = (await home.nth(1).getAttribute('data-session')) ?? '';
    await asOwner(ts, (c) =>
      c.query(
        `insert into transcription_runs (organization_id, session_id, reason, status, finished_at)
         values ($1, $2, 'auto', 'failed', now())`,
        [orgId, endedId],
      ),
    );
    await page.reload();
    const failed = page.locator(`#home-sessions tr[data-session="${endedId}"]`);
    await failed.getByText('Transcription failed').waitFor();
    await failed.getByRole('button', { name: 'Retry transcription of Interview' }).click();
    await failed.getByText('The transcript is on its way.').waitFor();
    assert.equal(await failed.getAttribute('data-state'), 'transcribing');
  },
);

test(
  'settings, an export that moves without a reload, the audit log and usage',
  { skip: !ready, timeout: 240_000 },
  async () => {
    assert.ok(owner, 'the first test signed the owner in');
    const { page } = owner;

    // Name
    await page.goto(`${orgUrl}/settings`);
    await page.fill('#org-name', 'Dash Studio Berlin');
    await page.click('#rename-org button[type=submit]');
    await page.getByText('Name saved.').waitFor();
    await page.locator('h1', { hasText: 'Dash Studio Berlin' }).waitFor();

    // Retention, in units, with what the next sweep would erase before anything is saved.
    await asOwner(ts, (c) =>
      c.query(
        `update recording_sessions set created_at = created_at - interval '20 days', ended_at = ended_at - interval '20 days'
          where organization_id = $1 and ended_at is not null`,
        [orgId],
      ),
    );
    await page.reload();
    const preview = page.locator('#retention-preview');
    await preview.getByText('Nothing would be erased at the next sweep.').waitFor();
    assert.ok(await page.locator('#keep-forever').isChecked());
    await page.check('#keep-limited');
    await page.fill('#retention-amount', '2');
    await page.selectOption('#retention-unit', 'weeks');
    await preview.getByText('If you save this, the next sweep erases 2 recordings').waitFor();
    assert.equal(await preview.locator('li', { hasText: 'Interview' }).count(), 2);
    await page.selectOption('#retention-unit', 'months');
    await preview.getByText('Nothing would be erased at the next sweep.').waitFor();
    await page.fill('#retention-amount', '3');
    await page.click('#retention button[type=submit]');
    await page.getByText('Recordings are kept for 90 days.').waitFor();
    await page.reload();
    await page.locator('#retention-amount').waitFor();
    assert.ok(await page.locator('#keep-limited').isChecked());
    assert.equal(await page.locator('#retention-amount').inputValue(), '3');
    assert.equal(await page.locator('#retention-unit').inputValue(), 'months');

    // Automatic transcription and its language.
    await page.check('#transcription-auto');
    await page.selectOption('#transcription-language', 'de');
    await page.click('#transcription button[type=submit]');
    await page.getByText('Sessions will be transcribed automatically (German).').waitFor();
    await page.reload();
    await page.locator('#transcription-auto').waitFor();
    assert.ok(await page.locator('#transcription-auto').isChecked());
    assert.equal(await page.locator('#transcription-language').inputValue(), 'de');
    await snap(page, 'settings');

    // Export: the tracks table is held locked so the export stops mid-way and the page can be
    // seen showing it running; released, the same page shows it ready, without a reload.
    await page.goto(`${orgUrl}/export`);
    await page.getByText('No exports yet.').waitFor();
    await page.evaluate(() => document.body.setAttribute('data-not-reloaded', 'yes'));
    const locker = new pg.Client({ connectionString: ts.db.ownerUrl });
    await locker.connect();
    const since = ts.inbox.messages.length;
    try {
      await locker.query('begin');
      await locker.query('lock table tracks in access exclusive mode');
      await page.fill('#export-passphrase', 'correct horse battery staple');
      await page.click('#export button[type=submit]');
      // Queued first, then running with its total: the page follows without a reload.
      const exportRow = page.locator('#exports tbody tr[data-status=running]');
      await exportRow.getByText(/^0 of 3 sessions · /).waitFor();
      assert.ok(await page.locator('#export button[type=submit]').isDisabled(), 'no second export while one runs');
      await snap(page, 'export-running');
    } finally {
      await locker.query('commit');
      await locker.end();
    }
    const done = page.locator('#exports tbody tr[data-status=done]');
    await done.waitFor({ timeout: 60_000 });
    assert.match(
      await done.innerText(),
      /Ready.*\d+ sessions · [\d.]+ (KB|MB).*Download.*expires in (1 day|\d+ hours)/s,
    );
    assert.equal(await page.locator('body').getAttribute('data-not-reloaded'), 'yes', 'the page was not reloaded');
    const mail = await ts.inbox.waitFor(ownerEmail, { since, subject: /export/i, timeoutMs: 15_000 });
    assert.match(mail.text ?? '', /ready/i);
    const href = (await done.getByRole('link', { name: 'Download' }).getAttribute('href')) ?? '';
    const file = await page.request.get(`${ts.url}${href}`);
    assert.equal(file.status(), 200);
    assert.equal((await file.body()).subarray(0, 21).toString(), 'age-encryption.org/v1');
    await snap(page, 'export');

    // Audit log: enough events for two pages (each rename is audited).
    for (let i = 0; i < 60; i++) await ownerApi.patch(`/api/orgs/${orgId}`, { name: `Dash Studio ${i % 2}` });
    await page.goto(`${orgUrl}/audit`);
    await page.locator('#audit tbody tr').first().waitFor();
    assert.equal(await page.locator('#audit tbody tr').count(), 50, 'the first page');
    await page.click('#audit-older');
    await page.locator('#audit tbody tr').nth(50).waitFor();
    const ids = await page.locator('#audit tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')));
    assert.equal(new Set(ids).size, ids.length, 'no event twice across pages');
    const numeric = ids.map(Number);
    assert.deepEqual(
      numeric,
      [...numeric].sort((a, b) => b - a),
      'newest first across pages',
    );
    const everything = await rowsOf(page, '#audit');
    assert.ok(everything.some((r) => r.includes('org.created') && r.includes(ownerEmail)));
    assert.ok(everything.some((r) => r.includes('invitation.accepted') && r.includes(colleagueEmail)));

    await page.selectOption('#filter-action', 'invitation.created');
    await page.click('#audit-filter button[type=submit]');
    await page.waitForURL(/\?action=invitation\.created/);
    await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 2);
    const invites = await rowsOf(page, '#audit');
    assert.ok(
      invites.every((r) => r.includes('invitation.created')),
      JSON.stringify(invites),
    );
    const shown = await page.locator('#audit tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-id')));
    const csv = await page.request.get(`${ts.url}${await page.locator('#download-csv').getAttribute('href')}`);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-disposition'] ?? '', /attachment; filename="audit-.*\.csv"/);
    const csvIds = (await csv.text())
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(',')[0]);
    assert.deepEqual(csvIds.sort(), [...shown].sort(), 'the CSV holds the rows the filter shows');
    const jsonl = await page.request.get(`${ts.url}${await page.locator('#download-jsonl').getAttribute('href')}`);
    const lines = (await jsonl.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; action: string });
    assert.deepEqual(lines.map((l) => l.id).sort(), [...shown].sort(), 'the JSON lines hold the same rows');

    // By actor: the colleague; then a date range with nothing in it.
    await page.selectOption('#filter-action', '');
    const colleagueOption = page.locator('#filter-actor option', { hasText: colleagueEmail });
    await page.selectOption('#filter-actor', (await colleagueOption.getAttribute('value')) ?? '');
    await page.click('#audit-filter button[type=submit]');
    await page.waitForURL(/\?actor=/);
    await page.waitForFunction((who) => {
      const cells = [...document.querySelectorAll('#audit tbody tr td:nth-child(2)')];
      return cells.length > 0 && cells.every((c) => c.textContent?.includes(who));
    }, colleagueEmail);
    const theirs = await page.locator('#audit tbody tr td:nth-child(2)').allInnerTexts();
    assert.ok(theirs.length > 0 && theirs.every((w) => w.includes(colleagueEmail)), JSON.stringify(theirs));
    await snap(page, 'audit');
    const tomorrow = new Date(Date.now() + 2 * 86400_000).toISOString().slice(0, 10);
    await page.fill('#filter-from', tomorrow);
    await page.click('#audit-filter button[type=submit]');
    await page.locator('#audit-empty').getByText('No events match this filter.').waitFor();

    // Usage (billing off: no plan limits, still the figures).
    await page.goto(`${orgUrl}/usage`);
    const current = page.locator('#usage-current');
    await current.waitFor();
    assert.match(await current.innerText(), /Tracks\s*3/);
    assert.doesNotMatch(await current.innerText(), /this period|paid/);
    assert.match(await current.innerText(), /Storage held\s*[\d.]+ (KB|MB)/);
    assert.equal(await page.locator('#usage-months tbody tr').count(), 5, 'the five months before this one');
    assert.equal(await page.locator('#usage-plan').count(), 0);
    await snap(page, 'usage');
  },
);

test(
  'account in words, sign out elsewhere, the 404 page, the deletion banner, a deleted account in the audit log; no billing request anywhere',
  { skip: !ready, timeout: 240_000 },
  async () => {
    assert.ok(owner && colleague, 'the first test signed both in');
    const { page } = owner;
    await page.goto(`${ts.url}/account`);
    await page.fill('#display-name', 'Olga Owner');
    await page.click('#display-name-form button[type=submit]');
    await page.getByText('Name saved.').waitFor();
    assert.equal(await page.locator('#nav .right').innerText(), 'Olga Owner');
    const mine = page.locator('#sessions li[data-current=true]');
    assert.match(await mine.innerText(), /Chrome on Linux, Berlin time zone, last seen just now \(this browser\)/);
    assert.ok((await page.locator('#sessions li').count()) >= 2, 'the API client is signed in too');
    await page.click('#signout-others');
    await page.getByText('Signed out everywhere else.').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 1);
    assert.equal((await ownerApi.get('/api/me')).status, 401, 'the other sign-in is over');
    assert.ok(await page.locator('#signout-others').isDisabled());
    await snap(page, 'account');

    // The display name is what other members see.
    await colleague.page.goto(orgUrl);
    await colleague.page.locator('#members').getByText('Olga Owner').waitFor();

    // A proper 404 page, and an organisation that is not yours.
    const res = await page.goto(`${ts.url}/no/such/page`);
    assert.equal(res?.status(), 404);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Go to your sessions' }).waitFor();
    await snap(page, 'notfound');
    const api404 = await page.request.get(`${ts.url}/api/no/such/route`);
    assert.equal(api404.status(), 404);
    assert.doesNotMatch(await api404.text(), /<html/i, 'the API keeps its plain 404');
    await page.goto(`${ts.url}/orgs/00000000-0000-4000-8000-000000000000`);
    await page
      .getByRole('alert')
      .getByText(/No such organization/)
      .waitFor();

    // Danger zone: type-the-name; then a banner on every page of the org; cancel by an owner.
    await page.goto(`${orgUrl}/settings`);
    const name = (await page.locator('h1').innerText()).trim();
    await page.fill('#delete-org-name', 'not the name');
    assert.ok(await page.locator('#delete-org button[type=submit]').isDisabled());
    await page.fill('#delete-org-name', name);
    await page.click('#delete-org button[type=submit]');
    const banner = page.locator('#deletion-banner');
    await banner.waitFor();
    assert.match(await banner.innerText(), /This organization will be deleted on .+\. Until then it is read-only/);
    assert.ok(await page.locator('#org-name').isDisabled(), 'read-only: the settings cannot be changed');
    for (const tab of ['', '/sessions', '/export', '/audit']) {
      await page.goto(`${orgUrl}${tab}`);
      await banner.waitFor();
    }
    await colleague.page.goto(`${orgUrl}/sessions`);
    await colleague.page.locator('#deletion-banner').waitFor();
    assert.equal(await colleague.page.locator('#cancel-deletion').count(), 0, 'only owners can cancel');
    assert.ok(await colleague.page.locator('#create-session button[type=submit]').isDisabled());
    await page.goto(orgUrl);
    await page.locator('#members').waitFor();
    assert.equal(await page.locator('#invite').count(), 0, 'read-only: nobody to invite');
    assert.equal(await page.locator('#members select').count(), 0, 'read-only: no role changes');
    await snap(page, 'deletion-banner');
    await page.click('#cancel-deletion');
    await page.locator('#deletion-banner').waitFor({ state: 'detached' });
    await page.reload();
    await page.locator('#members').waitFor();
    assert.equal(await page.locator('#deletion-banner').count(), 0, 'cancelled for good');

    // The colleague deletes their account, with what it means spelled out; 30 days later it is
    // purged, and the audit log shows their entries as a deleted account's.
    await colleague.page.goto(`${ts.url}/account`);
    await colleague.page.getByText('For 30 days you can restore the account by signing in again.').waitFor();
    const confirmDelete = colleague.page.locator('#delete-account button[type=submit]');
    assert.ok(await confirmDelete.isDisabled(), 'not before the address is typed');
    await colleague.page.fill('#delete-account-email', colleagueEmail);
    await confirmDelete.click();
    await colleague.page.waitForURL(/\/signin/);
    ts.clock.advance(31 * 86400);
    await ts.clock.settled();
    await runLifecycleSweep(ts.running.deps);
    await page.goto(`${orgUrl}/audit?action=invitation.accepted`);
    await signInOnPage(ts, page, ownerEmail);
    await page.waitForURL(/\/audit\?action=invitation\.accepted/);
    const accepted = page.locator('#audit tbody tr').first();
    await accepted.waitFor();
    assert.match(await accepted.innerText(), /Deleted account/);
    assert.doesNotMatch(await accepted.innerText(), new RegExp(colleagueEmail.replace(/[.]/g, '\\.')));
    await snap(page, 'audit-deleted-account');

    const billing = [...owner.requests, ...colleague.requests].filter((p) => p.includes('billing'));
    assert.deepEqual(billing, [], 'no request to a billing route with billing off');
    assert.deepEqual([...owner.problems, ...colleague.problems], [], 'no script errors or CSP violations');
    await owner.ctx.close();
    await colleague.ctx.close();
  },
);
