// End to end, as people would do it: a host and a guest in two real headless Chromium
// browsers, each microphone fed from a real LibriVox speech recording, join one session on
// the real SFU (mediasoup worker). The host records, stops and ends; both tracks were
// captured in sealed chunks; the downloaded files decode with ffprobe/ffmpeg, last as long
// as the recording, and each sounds like the speech its browser sent (not the other's).
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
import { prerequisites } from './helpers/tools.ts';

const SPEECH = '/usr/share/pocketsphinx/test/data/librivox';
const HOST_WAV = path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0870.wav');
const GUEST_WAV = path.join(SPEECH, 'sense_and_sensibility_01_austen_64kb-0920.wav');

const workerBin = findWorkerBin(parseConfig({ MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? '' }));
const ready = prerequisites('the live recording end-to-end test', [
  !workerBin && 'a mediasoup worker (MEDIASOUP_WORKER_BIN)',
  !fs.existsSync(CHROMIUM) && 'chromium',
  !fs.existsSync(HOST_WAV) && 'pocketsphinx-testdata',
  !hasCommand('ffprobe') && 'ffmpeg',
  !fs.existsSync(path.join(MODEL_DIR, MODEL_NAME, 'config.json')) && `the test model ${MODEL_NAME}`,
]);

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let ts: TestServer;
const browsers: Browser[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-e2e-'));

before(async () => {
  if (!ready) return;
  ts = await startTestServer({
    SFU: 'on',
    MEDIASOUP_WORKER_BIN: workerBin ?? '',
    CHUNK_SECONDS: '2',
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
  const context = await browser.newContext();
  if (client) {
    const url = new URL(ts.url);
    await context.addCookies(
      [...client.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/' })),
    );
  }
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  // Browser-side errors are printed, so a failure here says what the page saw.
  page.on('pageerror', (err) => console.log(`[browser error] ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[browser ${m.type()}] ${m.text()}`);
  });
  return page;
}

/** Waits for the page to have joined; on failure reports the page's status line. */
async function joined(page: Page): Promise<void> {
  try {
    await page.locator('body[data-joined="true"]').waitFor({ timeout: 20_000 });
  } catch (err) {
    const serverSide = ts.logs
      .filter((l) => /"level":"(warn|error)"/.test(l))
      .slice(-10)
      .join('\n');
    throw new Error(
      `not joined; the page says: ${await page.locator('#status').textContent()}\nserver log:\n${serverSide}`,
      { cause: err },
    );
  }
}

async function download(client: HttpClient, url: string, file: string): Promise<void> {
  const res = await fetch(ts.url + url, {
    headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  assert.equal(res.status, 200, `download ${url}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
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

/** Decodes to 16 kHz mono PCM, failing on any decode error. */
function pcm(file: string): Int16Array {
  const buf = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-xerror', '-i', file, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

/** 20 ms RMS envelope. */
function envelope(x: Int16Array): Float64Array {
  const n = Math.floor(x.length / 320);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 320; j++) s += (x[i * 320 + j] ?? 0) ** 2;
    e[i] = Math.sqrt(s / 320);
  }
  return e;
}

/**
 * How well `recorded` matches the looped `source`: the best normalised correlation of
 * their envelopes over every alignment (Chromium loops the file from an arbitrary point).
 */
function matchScore(recorded: Int16Array, source: Int16Array): number {
  const r = envelope(recorded);
  const loops = Math.ceil(r.length / envelope(source).length) + 2;
  const s = envelope(Int16Array.from({ length: source.length * loops }, (_, i) => source[i % source.length] ?? 0));
  // Skip the padded silence before the first sound; compare a 4 s window of speech.
  const start = r.findIndex((v) => v > 200);
  const win = r.subarray(Math.max(0, start), Math.max(0, start) + 200);
  const mean = (a: Float64Array) => a.reduce((p, c) => p + c, 0) / a.length;
  const mw = mean(win);
  let best = -1;
  for (let lag = 0; lag + win.length <= s.length; lag++) {
    const seg = s.subarray(lag, lag + win.length);
    const ms = mean(seg);
    let num = 0,
      da = 0,
      db = 0;
    for (let i = 0; i < win.length; i++) {
      const a = win[i]! - mw,
        b = seg[i]! - ms;
      num += a * b;
      da += a * a;
      db += b * b;
    }
    best = Math.max(best, num / Math.sqrt(da * db || 1));
  }
  return best;
}

test(
  'two browsers record a session; both tracks download, decode, last as long as the take, and carry their own speech',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const owner = await ts.signIn('host@example.com');
    const org = (await owner.post('/api/orgs', { name: 'Podcast Co' })).body as { id: string };
    const created = await owner.post(`/api/orgs/${org.id}/sessions`, { title: 'Episode 1' });
    assert.equal(created.status, 201);
    const session = created.body as { id: string; guest_url: string };

    const hostPage = await pageFor(await launch(HOST_WAV), owner);
    await hostPage.goto(`${ts.url}/orgs/${org.id}/sessions/${session.id}/room`);
    await hostPage
      .locator('#setup')
      .waitFor({ timeout: 15_000 })
      .catch(async () =>
        assert.fail(`no device setup; the page says: ${await hostPage.locator('#status').textContent()}`),
      );
    // Consent before joining (the green room refuses Join without it).
    await hostPage.locator('#consent').check();
    await hostPage.locator('#join').click();
    await joined(hostPage);

    const guestPage = await pageFor(await launch(GUEST_WAV), null);
    await guestPage.goto(session.guest_url.replace(/^https?:\/\/[^/]+/, ts.url));
    await guestPage.locator('#display-name').fill('Guest Speaker');
    await guestPage.locator('#consent').check();
    await guestPage.locator('#join').click();
    await joined(guestPage);

    // Each sees the other, and hears them (a remote audio element per peer).
    await hostPage.locator('#peers li', { hasText: 'Guest Speaker' }).waitFor();
    await guestPage.locator('#remote audio').waitFor({ state: 'attached', timeout: 15_000 });
    await hostPage.locator('#remote audio').waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await guestPage.locator('#host-controls').isVisible(), false, 'guests have no host controls');

    await hostPage.locator('#start-rec').click();
    await guestPage.locator('#rec-indicator').waitFor({ state: 'visible' });
    await new Promise((r) => setTimeout(r, 9000));
    // For a person to look at: the live room while recording (test-output/run-*/).
    const shots = process.env.TEST_OUTPUT_DIR ?? tmp;
    await hostPage.screenshot({ path: path.join(shots, 'room-recording.png') });
    await hostPage.locator('#stop-rec').click();
    await guestPage.locator('#rec-indicator').waitFor({ state: 'hidden' });
    await hostPage.locator('#end').click();
    await guestPage.locator('#status', { hasText: 'ended' }).waitFor({ timeout: 15_000 });

    const detail = (await owner.get(`/api/orgs/${org.id}/sessions/${session.id}`)).body as {
      status: string;
      takes: { started_at: string; stopped_at: string }[];
      tracks: {
        id: string;
        kind: string;
        participant: string;
        chunks: number;
        lost_chunks: number;
        download_url: string;
      }[];
      timeline: { kind: string }[];
    };
    assert.equal(detail.status, 'ended');
    assert.equal(detail.takes.length, 1);
    const take = detail.takes[0]!;
    const recorded = (Date.parse(take.stopped_at) - Date.parse(take.started_at)) / 1000;
    assert.ok(recorded > 8 && recorded < 12, `take lasted ${recorded}s`);
    const audio = detail.tracks.filter((t) => t.kind === 'audio');
    assert.deepEqual(audio.map((t) => t.participant).sort(), ['Guest Speaker', 'host'].sort());
    for (const t of detail.tracks) {
      assert.ok(t.chunks >= 4, `${t.participant} ${t.kind}: ${t.chunks} chunks of 2 s for a ${recorded}s take`);
      assert.equal(t.lost_chunks, 0);
    }
    for (const kind of [
      'participant.joined',
      'recording.started',
      'recording.stopped',
      'track.started',
      'track.ended',
      'session.ended',
    ]) {
      assert.ok(
        detail.timeline.some((e) => e.kind === kind),
        `timeline has ${kind}`,
      );
    }

    const sources = { host: pcm(HOST_WAV), 'Guest Speaker': pcm(GUEST_WAV) };
    for (const t of audio) {
      const file = path.join(tmp, `${t.id}.ogg`);
      await download(owner, t.download_url, file);
      const p = probe(file);
      assert.equal(p.codec, 'opus');
      assert.ok(Math.abs(p.duration - recorded) < 1, `${t.participant}: file lasts ${p.duration}s, take ${recorded}s`);
      const samples = pcm(file);
      const own = matchScore(samples, sources[t.participant as keyof typeof sources]);
      const other = matchScore(samples, sources[t.participant === 'host' ? 'Guest Speaker' : 'host']);
      console.log(`similarity ${t.participant}: own ${own.toFixed(3)} other ${other.toFixed(3)}`);
      assert.ok(own > 0.8, `${t.participant}'s track matches their speech (score ${own.toFixed(2)})`);
      assert.ok(
        own > other + 0.1,
        `${t.participant}'s track is their speech, not the other's (${own.toFixed(2)} vs ${other.toFixed(2)})`,
      );
    }
    const video = detail.tracks.filter((t) => t.kind === 'video');
    assert.equal(video.length, 2, 'both fake cameras were captured');
    for (const t of video) {
      const file = path.join(tmp, `${t.id}.webm`);
      await download(owner, t.download_url, file);
      const p = probe(file);
      assert.equal(p.codec, 'vp8');
      assert.ok(Math.abs(p.duration - recorded) < 1.5, `video lasts ${p.duration}s, take ${recorded}s`);
      execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
    }

    // Ending the session queued its transcription: no one asked, and a transcript of both
    // speakers appears. (The test model has random weights: its words are gibberish, so this
    // checks speakers and times, not text.)
    const tr = (await waitForTranscript(owner, org.id, session.id)) as unknown as {
      status: string;
      transcript: {
        audio_seconds: number;
        speakers: { name: string }[];
        segments: { start: number; end: number; speaker: string }[];
      } | null;
    };
    assert.equal(tr.status, 'done');
    const segs = tr.transcript?.segments ?? [];
    assert.deepEqual(
      new Set(segs.map((x) => x.speaker)),
      new Set(['host', 'Guest Speaker']),
      `both speakers are in the transcript (audio ${tr.transcript?.audio_seconds}s)`,
    );
    for (let i = 0; i < segs.length; i++) {
      const x = segs[i]!;
      assert.ok(
        x.start >= 0 && x.end >= x.start && x.end <= recorded + 1,
        `segment ${i} [${x.start}, ${x.end}] lies within the ${recorded}s take`,
      );
      if (i > 0) assert.ok(x.start >= segs[i - 1]!.start, 'segments are in time order');
    }

    const detailPage = await pageFor(browsers[0]!, owner);
    await detailPage.goto(`${ts.url}/orgs/${org.id}/sessions/${session.id}`);
    await detailPage.locator('#tracks').waitFor();
    await detailPage.screenshot({ path: path.join(shots, 'session-page.png'), fullPage: true });

    // Another organisation cannot see or download any of it.
    const stranger = await ts.signIn('stranger@example.com');
    const strangerOrg = (await stranger.post('/api/orgs', { name: 'Other' })).body as { id: string };
    assert.equal((await stranger.get(`/api/orgs/${org.id}/sessions/${session.id}`)).status, 404);
    assert.equal((await stranger.get(`/api/orgs/${strangerOrg.id}/sessions/${session.id}`)).status, 404);
    assert.equal((await stranger.get(audio[0]!.download_url)).status, 404);
    assert.equal((await stranger.get(audio[0]!.download_url.replace(org.id, strangerOrg.id))).status, 404);
  },
);
