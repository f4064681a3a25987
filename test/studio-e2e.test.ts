// The studio as people use it, in two real headless Chromium browsers with fake devices fed
// from real LibriVox speech, on the real SFU: both go through the green room with consent,
// the host records 20 s, the guest reloads the page mid-recording (and is back by itself,
// as the same participant), the host stops, then ends the session from the session page.
// Checked: both audio tracks decode and last as long as the take (within 0.5 s) and as each
// other (within 50 ms); one participant and one track per person after the reload; consent
// on the session page and in the audit log; the host's health panel showed packets for both
// tracks; the session archive holds every track and the transcript; axe-core passes on the
// green room, the room and the session page. Screenshots go to the test output folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { parseConfig } from '../server/core/config.ts';
import { findWorkerBin } from '../sfu/start.ts';
import { MODEL_DIR, MODEL_NAME, waitForTranscript } from './helpers/transcription.ts';
import { prerequisites, which } from './helpers/tools.ts';
import { assertAccessible } from './helpers/axe.ts';

const SPEECH = '/usr/share/pocketsphinx/test/data/librivox';
const HOST_WAV = path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0870.wav');
const GUEST_WAV = path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0920.wav');
const RECORD_SECONDS = 20;

const workerBin = findWorkerBin(parseConfig({ MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '' }));
const ready = prerequisites('the studio end-to-end test', [
  !workerBin && 'a mediasoup worker (MEDIASOUP_WORKER_BIN)',
  !fs.existsSync(CHROMIUM) && 'chromium',
  !fs.existsSync(HOST_WAV) && 'pocketsphinx-testdata',
  !which('ffprobe') && 'ffmpeg',
  !which('tar') && 'tar',
  !fs.existsSync(path.join(MODEL_DIR, MODEL_NAME, 'config.json')) && `the test model ${MODEL_NAME}`,
]);

let ts: TestServer;
const browsers: Browser[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-e2e-'));
const shots = process.env.TEST_OUTPUT_DIR ?? tmp;

before(async () => {
  if (!ready) return;
  ts = await startTestServer({
    SFU: 'on',
    MEDIASOUP_WORKER_BIN: workerBin ?? '',
    MODEL_DIR,
    TRANSCRIBE_MODEL: MODEL_NAME,
    JOBS_POLL_INTERVAL_MS: '200',
  });
});
after(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  await ts?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function launch(wav: string): Promise<Browser> {
  const b = await launchChromium({ fakeAudioWav: wav });
  browsers.push(b);
  return b;
}

async function pageFor(browser: Browser, client: HttpClient | null): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  if (client) {
    const url = new URL(ts.url);
    await context.addCookies(
      [...client.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/' })),
    );
  }
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (err) => console.log(`[browser error] ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[browser ${m.type()}] ${m.text()}`);
  });
  return page;
}

/** Waits for the page to be in the room; on failure says what the page and the server said. */
async function joined(page: Page): Promise<void> {
  try {
    await page.locator('body[data-joined="true"]').waitFor({ timeout: 20_000 });
  } catch (err) {
    const serverSide = ts.logs
      .filter((l) => /"level":"(warn|error)"/.test(l))
      .slice(-10)
      .join('\n');
    throw new Error(
      `not joined; the page says: ${await page.locator('#main').innerText()}\nserver log:\n${serverSide}`,
      { cause: err },
    );
  }
}

/** Goes through the green room: the consent names the organisation; Join waits for the tick. */
async function greenRoom(page: Page, name: string | null, org: string, shot: string | null): Promise<void> {
  const setup = page.locator('#setup');
  await setup.waitFor();
  const consent = page.locator('#consent-notice');
  assert.match(await consent.innerText(), new RegExp(`${org}[^]*encrypted`), 'the consent names who records');
  // The preview plays and the meter moves with the fake microphone's speech.
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('#preview');
    return !!v && v.readyState >= 2 && v.videoWidth > 0;
  });
  await page.waitForFunction(
    () => Number(document.querySelector('#mic-level')?.getAttribute('aria-valuenow') ?? 0) > 0,
  );
  if (name !== null) await page.locator('#display-name').fill(name);
  const join = page.getByRole('button', { name: 'Join', exact: true });
  assert.equal(await join.isDisabled(), true, 'no Join before consent');
  await page.getByRole('checkbox').check();
  await join.waitFor();
  assert.equal(await join.isEnabled(), true, 'Join once consent is given');
  await assertAccessible(page, 'the green room');
  if (shot) await page.screenshot({ path: path.join(shots, shot) });
  await join.click();
  await joined(page);
}

function probe(file: string): { codec: string; duration: number } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out) as { streams: { codec_name: string }[]; format: { duration: string } };
  return { codec: j.streams[0]?.codec_name ?? '', duration: Number(j.format.duration) };
}

async function download(client: HttpClient, url: string, file: string): Promise<void> {
  const res = await fetch(ts.url + url, {
    headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  assert.equal(res.status, 200, `download ${url}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'green room with consent, 20 s take with a guest reload, end from the session page: tracks, consent, health',
  { skip: !ready, timeout: 240_000 },
  async () => {
    const owner = await ts.signIn('host@example.com');
    const org = (await owner.post('/api/orgs', { name: 'Podcast Co' })).body as { id: string };
    const session = (await owner.post(`/api/orgs/${org.id}/sessions`, { title: 'Episode 7' })).body as {
      id: string;
      guest_url: string;
    };

    const host = await pageFor(await launch(HOST_WAV), owner);
    await host.goto(`${ts.url}/orgs/${org.id}/sessions/${session.id}/room`);
    await greenRoom(host, null, 'Podcast Co', 'green-room.png');
    // The host is named as the account, never "You".
    assert.equal(await host.locator('[data-self="true"] .name').textContent(), 'host (you)');

    const guestBrowser = await launch(GUEST_WAV);
    const guest = await pageFor(guestBrowser, null);
    await guest.goto(session.guest_url.replace(/^https?:\/\/[^/]+/, ts.url));
    await greenRoom(guest, 'Guest Speaker', 'Podcast Co', 'green-room-guest.png');
    await host.locator('#tiles [data-peer] .name', { hasText: 'Guest Speaker' }).waitFor();
    await guest.locator('#tiles [data-peer] .name', { hasText: 'host' }).waitFor();

    // The green room at a phone's width (not joined: a look and an accessibility check).
    const phone = await (await guestBrowser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await phone.goto(session.guest_url.replace(/^https?:\/\/[^/]+/, ts.url));
    await phone.locator('#consent').waitFor();
    await phone.screenshot({ path: path.join(shots, 'green-room-phone.png'), fullPage: true });
    await assertAccessible(phone, 'the green room at phone width');
    await phone.context().close();

    // Health rows seen by the host, sampled all through the take: the highest packet rate per track.
    const pps = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await host
          .locator('#health-table tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) => ({
              who: tr.querySelector('td')?.textContent ?? '',
              kind: tr.getAttribute('data-kind') ?? '',
              pps: Number(tr.getAttribute('data-pps') ?? 0),
            })),
          )
          .catch(() => []);
        for (const r of rows) {
          const k = `${r.who}/${r.kind}`;
          pps.set(k, Math.max(pps.get(k) ?? 0, r.pps));
        }
        await sleep(500);
      }
    })();

    await host.getByRole('button', { name: 'Start recording', exact: true }).click();
    const started = Date.now();
    await guest.locator('#rec-indicator').waitFor({ state: 'visible' });
    await host.locator('#rec-timer').waitFor();

    // Mid-take the guest reloads: back in by itself, as the same participant, recording still on.
    await sleep(7000);
    await guest.reload();
    await joined(guest);
    await guest.locator('#rec-indicator').waitFor({ state: 'visible' });
    await host.locator('#tiles [data-peer] .name', { hasText: 'Guest Speaker' }).waitFor();
    assert.equal(await host.locator('#tiles [data-peer]').count(), 1, 'one guest tile after the reload');

    // The guest mutes for a moment: the host's tile for them says so, and stops saying it.
    const guestTile = host.locator('#tiles [data-peer]');
    await guest.getByRole('button', { name: 'Mute', exact: true }).click();
    assert.equal(await guest.getByRole('button', { name: 'Mute', exact: true }).getAttribute('aria-pressed'), 'true');
    await guestTile.getByText('Muted', { exact: true }).waitFor();
    await guest.getByRole('button', { name: 'Mute', exact: true }).click();
    await guestTile.getByText('Muted', { exact: true }).waitFor({ state: 'detached' });

    await sleep(Math.max(0, started + 14_000 - Date.now()));
    await host.locator('#health-table').waitFor();
    await host.screenshot({ path: path.join(shots, 'room-recording.png') });
    await guest.screenshot({ path: path.join(shots, 'room-recording-guest.png') });
    await assertAccessible(host, 'the room (host, recording)');
    const timer = (await host.locator('#rec-timer').textContent()) ?? '';
    assert.match(timer, /^0:1[3-5]$/, `the timer counts the take (${timer})`);

    await sleep(Math.max(0, started + RECORD_SECONDS * 1000 - Date.now()));
    await host.getByRole('button', { name: 'Stop recording', exact: true }).click();
    await guest.locator('#rec-indicator').waitFor({ state: 'hidden' });
    sampling = false;
    await sampler;

    // The host ends the session from the session page; the guest is told.
    await host.goto(`${ts.url}/orgs/${org.id}/sessions/${session.id}`);
    await host.getByRole('button', { name: 'End session', exact: true }).click();
    await host.locator('#session-state', { hasText: 'ended' }).waitFor();
    await guest.locator('#status', { hasText: 'ended' }).waitFor();

    for (const who of ['host', 'Guest Speaker'])
      assert.ok(
        (pps.get(`${who}/audio`) ?? 0) > 0,
        `health showed packets for ${who}'s audio: ${JSON.stringify([...pps])}`,
      );

    const detail = (await owner.get(`/api/orgs/${org.id}/sessions/${session.id}`)).body as {
      status: string;
      takes: { started_at: string; stopped_at: string }[];
      participants: { id: string; display_name: string; consent: { version: string; at: string } | null }[];
      tracks: { id: string; kind: string; participant_id: string; participant: string; download_url: string }[];
    };
    assert.equal(detail.status, 'ended');
    assert.equal(detail.takes.length, 1);
    const take = detail.takes[0]!;
    const recorded = (Date.parse(take.stopped_at) - Date.parse(take.started_at)) / 1000;
    assert.ok(Math.abs(recorded - RECORD_SECONDS) < 1.5, `the take lasted ${recorded}s`);
    assert.deepEqual(
      detail.participants.map((p) => p.display_name).sort(),
      ['Guest Speaker', 'host'],
      'the reload left one guest participant',
    );
    for (const p of detail.participants) assert.ok(p.consent, `${p.display_name}'s consent is stored`);
    const audio = detail.tracks.filter((t) => t.kind === 'audio');
    assert.deepEqual(
      audio.map((t) => t.participant).sort(),
      ['Guest Speaker', 'host'],
      'one audio track (one timeline) per participant',
    );
    const durations: number[] = [];
    for (const t of audio) {
      const file = path.join(tmp, `${t.id}.ogg`);
      await download(owner, t.download_url, file);
      const p = probe(file);
      assert.equal(p.codec, 'opus');
      execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
      assert.ok(Math.abs(p.duration - recorded) < 0.5, `${t.participant}: ${p.duration}s for a ${recorded}s take`);
      durations.push(p.duration);
    }
    assert.ok(Math.abs(durations[0]! - durations[1]!) < 0.05, `tracks last ${durations.join(' and ')}s`);

    const auditRows = (await owner.get(`/api/orgs/${org.id}/audit`)).body as {
      entries: { action: string; details: Record<string, unknown> }[];
    };
    const consents = auditRows.entries.filter((e) => /consent/.test(e.action));
    assert.equal(consents.length, 2, `consent in the audit log: ${auditRows.entries.map((e) => e.action).join(', ')}`);

    // The session page after the transcript: players with waveforms, the transcript beside them.
    await waitForTranscript(owner, org.id, session.id);
    await host.reload();
    await host.locator('#transcript-status[data-status="done"]').waitFor();
    await host.locator('canvas.waveform').nth(1).waitFor();
    for (const p of detail.participants)
      await host.locator(`#participants [data-participant="${p.id}"] .consent`, { hasText: 'consented' }).waitFor();
    await host.screenshot({ path: path.join(shots, 'session-page.png'), fullPage: true });
    await host.setViewportSize({ width: 390, height: 844 });
    await host.screenshot({ path: path.join(shots, 'session-page-phone.png'), fullPage: true });
    await host.setViewportSize({ width: 1280, height: 860 });
    await assertAccessible(host, 'the session page');
    // A click on a transcript line seeks the players there.
    const firstLine = host.locator('#transcript-segments tr').first();
    if ((await firstLine.count()) > 0) {
      await firstLine.locator('button').click();
      const at = await host
        .locator('#players audio')
        .first()
        .evaluate((a: HTMLAudioElement) => a.currentTime);
      const start = Number(/^(\d+):(\d+)/.exec((await firstLine.locator('td').first().textContent()) ?? '')?.[2]);
      assert.ok(Math.abs(at - start) < 1.01, `seeked to ${at}s for a line at ${start}s`);
    }

    // Everything as one archive: each track and the transcript.
    const tarFile = path.join(tmp, 'session.tar');
    await download(owner, `/api/orgs/${org.id}/sessions/${session.id}/archive`, tarFile);
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.equal(names.filter((n) => n.endsWith('.ogg')).length, 2, names.join('\n'));
    assert.ok(
      names.some((n) => n.endsWith('transcript.json')),
      names.join('\n'),
    );
  },
);
