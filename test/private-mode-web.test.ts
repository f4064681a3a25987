// Private mode in Chromium (issue #14): after the sweep sealed a recorded session to the
// organisation key, the session page asks for the passphrase; a wrong one says so and shows
// nothing decrypted; the right one plays each track, shows the transcript, and downloads a
// file decrypted and muxed in the page that is byte-identical to what the server served for
// the same recording before it was sealed (the plain-mode download). The owner turns it on
// in the settings page, where the key pair is made and wrapped. Checked with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { freePort, prerequisites } from './helpers/tools.ts';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { assertAccessible } from './helpers/axe.ts';
import { person, type Person } from './helpers/dashboard.ts';
import type { HttpClient } from './helpers/http.ts';
import { asOwner, seedRecordedSession, type SeededSession } from './helpers/recording.ts';
import { getBytes } from './helpers/private.ts';
import { sealPrivateSessions } from '../server/services/privateMode.ts';

const ready = prerequisites('private mode in Chromium', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
  ...missingMediaTools(),
]);
const PASSPHRASE = 'a passphrase only the owner knows';
/** Screenshots for people reviewing the pages. */
const SHOTS = path.join('test-output', 'private');

let ts: TestServer;
let browser: Browser;
let owner: HttpClient;
let orgId: string;
let seeded: SeededSession;
let visitor: Person;
const plain = new Map<string, Buffer>();
let plainTranscriptTxt: Buffer | undefined;

before(async () => {
  if (!ready) return;
  const port = await freePort();
  ts = await startTestServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    JOBS: 'off',
  });
  browser = await launchChromium();
  owner = await ts.signIn('private-web@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Private Web' })).body as { id: string }).id;
  visitor = await person(browser);
  await visitor.ctx.addCookies([...owner.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
});
after(async () => {
  await browser?.close();
  await ts?.close();
});

test(
  'the owner turns private mode on in settings; the key is made in the page',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const { page } = visitor;
    await page.goto(`${ts.url}/orgs/${orgId}/settings`);
    const card = page.locator('#private-mode-card');
    await card.getByText('What private mode gives up').waitFor();
    await card.getByLabel(/^Passphrase ?At least/).fill(PASSPHRASE);
    await card.getByLabel('Passphrase again').fill(PASSPHRASE);
    const on = card.getByRole('button', { name: 'Turn on private mode' });
    assert.equal(await on.isDisabled(), true, 'not before the loss of every passphrase is acknowledged');
    await card.getByRole('checkbox').check();
    await on.click();
    await page.locator('#private-mode-state').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#private-holders').innerText(), /private-web@example\.com/);
    await assertAccessible(page, 'settings with private mode on');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'settings-on.png'), fullPage: true });
    // What the server holds is the public key and a wrapped copy, never the passphrase.
    const mode = await owner.get<{ public_key: string; my_wrapped_key: { iterations: number } }>(
      `/api/orgs/${orgId}/private-mode`,
    );
    assert.equal(mode.body.my_wrapped_key.iterations, 600_000);
    assert.ok(!JSON.stringify(mode.body).includes(PASSPHRASE));

    seeded = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada', 'Ben'], transcript: true });
    // What the server serves for this recording in plain mode, before it is sealed.
    for (const t of seeded.tracks) {
      const d = await getBytes(owner, `/api/orgs/${orgId}/sessions/${seeded.sessionId}/tracks/${t.trackId}/download`);
      assert.equal(d.status, 200);
      plain.set(t.trackId, d.body);
    }
    const txt = await getBytes(owner, `/api/orgs/${orgId}/sessions/${seeded.sessionId}/transcript/export?format=txt`);
    assert.equal(txt.status, 200);
    plainTranscriptTxt = txt.body;
    assert.equal(await sealPrivateSessions(ts.running.deps), 1);
  },
);

test('a wrong passphrase says so and decrypts nothing', { skip: !ready, timeout: 120_000 }, async () => {
  const { page } = visitor;
  await page.goto(`${ts.url}/orgs/${orgId}/sessions/${seeded.sessionId}`);
  await page.getByRole('heading', { name: 'Private recording' }).waitFor();
  await assertAccessible(page, 'the private session page, locked');
  await page.getByLabel('Private-mode passphrase').fill('not the passphrase');
  await page.getByRole('button', { name: 'Unlock recording' }).click();
  const alert = page.locator('#private-error');
  await alert.waitFor();
  assert.match(await alert.innerText(), /passphrase is not right: nothing was decrypted/);
  assert.equal(await page.locator('audio, a[download], #private-transcript').count(), 0, 'no partial plaintext');
  assert.equal(await page.getByRole('button', { name: 'Unlock recording' }).isVisible(), true);
});

test(
  'the passphrase plays each track, shows the transcript and downloads byte-identical files',
  { skip: !ready, timeout: 180_000 },
  async () => {
    const { page } = visitor;
    await page.getByLabel('Private-mode passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock recording' }).click();
    await page.locator('#private-transcript').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#private-transcript').innerText(), /ill disposed young man/);
    assert.equal(await page.locator('#private-error').count(), 0);
    await assertAccessible(page, 'the private session page, unlocked');
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'session-unlocked.png'), fullPage: true });

    for (const t of seeded.tracks) {
      const audio = page.locator(`audio[data-track="${t.trackId}"]`);
      await audio.waitFor();
      // The player decodes the decrypted Ogg Opus and plays it.
      const played = await audio.evaluate(async (el: HTMLAudioElement) => {
        el.muted = true;
        if (el.readyState < 1) await new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
        await el.play();
        await new Promise<void>((r) => {
          const tick = () => (el.currentTime > 0.3 ? r() : setTimeout(tick, 50));
          tick();
        });
        el.pause();
        return { duration: el.duration, time: el.currentTime, error: el.error?.code ?? null };
      });
      assert.equal(played.error, null);
      assert.ok(played.duration > 1, `track plays with a duration (${played.duration})`);
      assert.ok(played.time > 0.3);

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator(`a[download][data-track="${t.trackId}"]`).click(),
      ]);
      const file = fs.readFileSync(await download.path());
      const expected = plain.get(t.trackId);
      assert.ok(expected && expected.length > 1000);
      assert.equal(file.length, expected.length, 'same size as the plain download');
      assert.ok(file.equals(expected), 'byte-identical to the plain download');
      assert.match(download.suggestedFilename(), new RegExp(`^${t.speaker}-take1-audio\\.ogg$`));
    }
    const [txt] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download Transcript (text)' }).click(),
    ]);
    const madeInPage = fs.readFileSync(await txt.path());
    assert.ok(plainTranscriptTxt && madeInPage.equals(plainTranscriptTxt), "the text export matches the server's");

    // Everything as one tar made in the page: GNU tar reads it, and its files are the same bytes.
    const [archive] = await Promise.all([page.waitForEvent('download'), page.locator('#private-archive').click()]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'private-tar-'));
    try {
      execFileSync('tar', ['-xf', await archive.path(), '-C', dir]);
      const top = path.join(dir, `session-${seeded.sessionId.slice(0, 8)}`);
      assert.deepEqual(fs.readdirSync(top).sort(), [
        'Ada-take1-audio.ogg',
        'Ben-take1-audio.ogg',
        'transcript.json',
        'transcript.txt',
      ]);
      for (const t of seeded.tracks)
        assert.ok(
          fs
            .readFileSync(path.join(top, `${t.speaker}-take1-audio.ogg`))
            .equals(plain.get(t.trackId) ?? Buffer.alloc(0)),
        );
      assert.ok(fs.readFileSync(path.join(top, 'transcript.txt')).equals(plainTranscriptTxt));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(visitor.problems, []);
  },
);

test(
  'an admin asks to hold the key, the owner approves after comparing fingerprints, the admin opens the recording',
  { skip: !ready, timeout: 180_000 },
  async () => {
    const adminEmail = 'private-web-admin@example.com';
    const adminApi = await ts.signIn(adminEmail);
    await asOwner(ts, async (c) => {
      await c.query(
        `insert into memberships (organization_id, user_id, role)
         select $1, id, 'admin' from users where email = $2`,
        [orgId, adminEmail],
      );
    });
    const admin = await person(browser);
    await admin.ctx.addCookies([...adminApi.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
    const ADMIN_PASS = 'the admin chose this one';
    const settings = `${ts.url}/orgs/${orgId}/settings`;
    await admin.page.goto(settings);
    await admin.page.getByLabel('Your new private-mode passphrase').fill(ADMIN_PASS);
    await admin.page.getByRole('button', { name: 'Ask to hold the key' }).click();
    const waiting = admin.page.locator('#private-request-waiting');
    await waiting.waitFor({ timeout: 30_000 });
    await admin.page.waitForFunction(
      () => (document.querySelector('#private-request-waiting code')?.textContent ?? '') !== '',
    );
    const adminPrint = await waiting.locator('code').innerText();
    assert.match(adminPrint, /^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);

    const { page } = visitor;
    await page.goto(settings);
    const request = page.locator('div.private-request', { hasText: adminEmail });
    await request.waitFor();
    await page.waitForFunction(() => (document.querySelector('div.private-request code')?.textContent ?? '') !== '');
    assert.equal(await request.locator('code').innerText(), adminPrint, 'both pages show the same fingerprint');
    await assertAccessible(page, 'settings with a key request');
    await request.getByLabel(`Your passphrase, to approve ${adminEmail}`).fill(PASSPHRASE);
    await request.getByRole('button', { name: `Approve ${adminEmail}` }).click();
    await request.waitFor({ state: 'detached', timeout: 30_000 });

    await admin.page.reload();
    await admin.page.getByLabel('Your private-mode passphrase').fill(ADMIN_PASS);
    await admin.page.getByRole('button', { name: 'Finish' }).click();
    await admin.page.getByRole('heading', { name: 'Change your passphrase' }).waitFor({ timeout: 30_000 });
    assert.match(await admin.page.locator('#private-holders').innerText(), new RegExp(adminEmail.replace('.', '\\.')));

    await admin.page.goto(`${ts.url}/orgs/${orgId}/sessions/${seeded.sessionId}`);
    await admin.page.getByLabel('Private-mode passphrase').fill(ADMIN_PASS);
    await admin.page.getByRole('button', { name: 'Unlock recording' }).click();
    await admin.page.locator('#private-transcript').waitFor({ timeout: 60_000 });
    assert.match(await admin.page.locator('#private-transcript').innerText(), /ill disposed young man/);
    assert.deepEqual(admin.problems, []);
  },
);

test(
  'an altered chunk stops the page with a clear message and no file',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const t = seeded.tracks[1];
    assert.ok(t);
    const objectKey = await asOwner(
      ts,
      async (c) =>
        (
          await c.query<{ object_key: string }>(
            'select object_key from chunks where track_id = $1 order by seq desc limit 1',
            [t.trackId],
          )
        ).rows[0]?.object_key ?? '',
    );
    const store = ts.running.deps.storage.objectStore;
    const sealed = Buffer.from(await store.get(objectKey));
    sealed[sealed.length - 20]! ^= 0x01;
    await store.put(objectKey, sealed);
    // A fresh profile: the first tests cached the chunks this one altered (they are immutable).
    const fresh = await person(browser);
    await fresh.ctx.addCookies([...owner.cookies].map(([name, value]) => ({ name, value, url: ts.url })));
    const { page } = fresh;
    await page.goto(`${ts.url}/orgs/${orgId}/sessions/${seeded.sessionId}`);
    await page.getByLabel('Private-mode passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock recording' }).click();
    const alert = page.locator('#private-error');
    await alert.waitFor({ timeout: 60_000 });
    assert.match(await alert.innerText(), /failed its integrity check/);
    assert.equal(
      await page.locator('audio, a[download], #private-transcript').count(),
      0,
      'nothing half-decrypted is offered',
    );
  },
);
