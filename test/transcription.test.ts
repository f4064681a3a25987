// Transcription end to end without a browser: a session with two participants whose audio
// is real speech, captured as Opus RTP and stored in sealed chunks the way the SFU stores
// it, ends; the job worker (in-process) decodes, runs the VAD and a real Whisper-architecture
// model (random weights: gibberish text, real code path), and the transcript appears with
// both speakers at the times they spoke. Exports parse with real SRT and WebVTT parsers.
// Nothing decrypted (audio or transcript text) reaches the disk or the logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parseSync } from 'subtitle';
import { createRequire } from 'node:module';
import { CHROMIUM, launchChromium } from './helpers/browser.ts';
import { assertAccessible } from './helpers/axe.ts';
import { OpusDecoder } from 'opus-decoder';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import {
  MODEL_DIR,
  MODEL_NAME,
  recordSession,
  waitForTranscript,
  type RecordedSession,
} from './helpers/transcription.ts';
import type { HttpClient } from './helpers/http.ts';
import { decodeChunk } from '../lib/chunks/container.ts';
import { parseRtp } from '../lib/media/rtp.ts';
import { resample48to16 } from '../server/transcription/resample.ts';

interface VttNode {
  type: string;
  value?: string;
  children: VttNode[];
}
interface VttParser {
  parse(
    text: string,
    kind: string,
  ): { errors: unknown[]; cues: { startTime: number; endTime: number; tree: VttNode }[] };
}
// webvtt-parser (the W3C validator's parser) is CommonJS without types.
const { WebVTTParser } = createRequire(import.meta.url)('webvtt-parser') as { WebVTTParser: new () => VttParser };

const ready = prerequisites('transcription tests', [
  ...missingMediaTools(),
  !fs.existsSync(path.join(MODEL_DIR, MODEL_NAME, 'config.json')) && `the test model ../shared/models/${MODEL_NAME}`,
]);
const browser = prerequisites('the transcript page test', [
  !fs.existsSync(CHROMIUM) && 'chromium (apt-get install chromium)',
]);

interface Seg {
  start: number;
  end: number;
  speaker: string;
  participant_id: string;
  text: string;
  words?: { start: number; end: number; text: string }[];
}
interface TranscriptBody {
  status: string;
  run: { status: string; progress: number; attempts: number; error: unknown } | null;
  transcript: {
    run_id: string;
    language: string;
    audio_seconds: number;
    speech_seconds: number;
    speakers: { name: string }[];
    segments: Seg[];
  } | null;
}

let ts: TestServer;
let owner: HttpClient;
let orgId: string;
let recorded: RecordedSession;
let result: TranscriptBody;

before(async () => {
  if (!ready) return;
  ts = await startTestServer({ MODEL_DIR, TRANSCRIBE_MODEL: MODEL_NAME, JOBS_POLL_INTERVAL_MS: '200' });
  owner = await ts.signIn('host@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Podcast Co' })).body as { id: string }).id;
});
after(async () => {
  await ts?.close();
});

const plans = [
  {
    speaker: 'Ada Host',
    utterances: [
      { file: '0880', atS: 0.5 },
      { file: '0890', atS: 12 },
    ],
  },
  { speaker: 'Ben Guest', utterances: [{ file: '0870', atS: 4 }] },
];

test(
  'an ended session is transcribed by itself: both speakers, time-ordered, at the times they spoke',
  { skip: !ready, timeout: 180_000 },
  async () => {
    const settings = await owner.get(`/api/orgs/${orgId}/settings/transcription`);
    assert.deepEqual({ auto: settings.body.auto, language: settings.body.language }, { auto: true, language: 'auto' });
    recorded = await recordSession(ts, owner, orgId, plans);
    const first = (await owner.get(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript`))
      .body as unknown as TranscriptBody;
    assert.ok(['queued', 'running', 'done'].includes(first.status), `status right after the end: ${first.status}`);
    result = (await waitForTranscript(owner, orgId, recorded.sessionId)) as TranscriptBody;
    assert.equal(result.status, 'done', JSON.stringify(result.run));
    assert.equal(result.run?.progress, 1);
    const t = result.transcript;
    assert.ok(t, 'a transcript once done');
    assert.deepEqual(t.speakers.map((s) => s.name).sort(), ['Ada Host', 'Ben Guest']);
    assert.deepEqual(
      [...new Set(t.segments.map((s) => s.speaker))].sort(),
      ['Ada Host', 'Ben Guest'],
      'both speakers have lines',
    );
    for (const [i, s] of t.segments.entries()) {
      assert.ok(s.start >= 0 && s.end >= s.start, `segment ${i}: ${s.start}..${s.end}`);
      assert.ok(s.text.trim().length > 0, `segment ${i} has text`);
      if (i > 0) assert.ok(s.start >= (t.segments[i - 1]?.start ?? 0), 'segments are in time order');
    }
    // Times are true to the recording: every line lies where its speaker spoke (VAD regions
    // padded by the model's own margins), inside the track, and each utterance got text.
    for (const track of recorded.tracks) {
      const own = t.segments.filter((s) => s.speaker === track.speaker);
      for (const s of own) {
        assert.ok(s.end <= track.durationS + 0.5, `${track.speaker}: ${s.end}s past the track's ${track.durationS}s`);
        assert.ok(
          track.speech.some((u) => s.start >= u.start - 1 && s.end <= u.end + 1),
          `${track.speaker}: ${s.start}..${s.end} is not where they spoke (${JSON.stringify(track.speech)})`,
        );
        for (const w of s.words ?? [])
          assert.ok(w.start >= s.start - 0.001 && w.end <= s.end + 0.001, 'words lie inside their segment');
      }
      for (const u of track.speech)
        assert.ok(
          own.some((s) => s.end > u.start && s.start < u.end),
          `${track.speaker} speaking at ${u.start}s has a line`,
        );
    }
    // Silence costs no model time: only speech went to the model.
    assert.ok(t.speech_seconds < t.audio_seconds * 0.8, `speech ${t.speech_seconds}s of ${t.audio_seconds}s audio`);
    assert.ok(
      ts.logs.some((l) => /speech model runs on (cpu|cuda)/.test(l)),
      'a log line says which execution provider runs the model',
    );
  },
);

test(
  'exports: SRT and WebVTT parse with real parsers and match the segments; TXT and JSON too',
  { skip: !ready },
  async () => {
    const t = result.transcript;
    assert.ok(t);
    const get = async (format: string) => {
      const res = await fetch(
        `${ts.url}/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript/export?format=${format}`,
        { headers: { cookie: [...owner.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } },
      );
      assert.equal(res.status, 200, format);
      assert.match(
        res.headers.get('content-disposition') ?? '',
        new RegExp(`attachment; filename="transcript-[0-9a-f]{8}\\.${format}"`),
      );
      return { type: res.headers.get('content-type') ?? '', text: await res.text() };
    };
    const ms = (s: number) => Math.round(s * 1000);
    const srt = await get('srt');
    const cues = parseSync(srt.text).filter((n) => n.type === 'cue');
    assert.equal(cues.length, t.segments.length);
    for (const [i, c] of cues.entries()) {
      const s: Seg = t.segments[i]!;
      if (c.type !== 'cue') continue;
      assert.equal(c.data.start, ms(s.start));
      assert.equal(c.data.end, Math.max(ms(s.end), ms(s.start) + 10));
      assert.ok(c.data.text.startsWith(`${s.speaker}: `));
    }
    const vtt = await get('vtt');
    assert.match(vtt.type, /^text\/vtt/);
    const parsed = new WebVTTParser().parse(vtt.text, 'subtitles');
    assert.deepEqual(parsed.errors, [], 'WebVTT is valid');
    assert.equal(parsed.cues.length, t.segments.length);
    for (const [i, c] of parsed.cues.entries()) {
      const s: Seg = t.segments[i]!;
      assert.ok(Math.abs(c.startTime - s.start) < 0.0011 && c.endTime >= c.startTime);
      const voice = c.tree.children[0];
      assert.equal(voice?.type, 'object');
      assert.equal(voice?.value, s.speaker, 'the speaker is the cue voice');
    }
    const txt = await get('txt');
    assert.equal(txt.text.trim().split('\n').length, t.segments.length);
    assert.ok(txt.text.includes('Ben Guest: '));
    const json = JSON.parse((await get('json')).text);
    assert.deepEqual(json.segments, t.segments);
    assert.equal(
      (await owner.get(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript/export?format=doc`)).status,
      400,
    );
  },
);

test(
  'the session page shows the transcript: status, each line with speaker and times, export links',
  { skip: !ready || !browser, timeout: 60_000 },
  async () => {
    const t = result.transcript!;
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const url = new URL(ts.url);
      await context.addCookies(
        [...owner.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/' })),
      );
      const page = await context.newPage();
      await page.goto(`${ts.url}/orgs/${orgId}/sessions/${recorded.sessionId}`);
      await page.locator('#transcript-status[data-status="done"]').waitFor({ timeout: 15_000 });
      const rows = page.locator('#transcript-segments tr');
      assert.equal(await rows.count(), t.segments.length);
      const first = t.segments[0]!;
      assert.equal(await rows.nth(0).locator('th').textContent(), first.speaker);
      assert.equal(await rows.nth(0).locator('td').nth(1).textContent(), first.text);
      assert.match((await rows.nth(0).locator('td').nth(0).textContent()) ?? '', /^\d+:\d{2}–\d+:\d{2}$/);
      const links = await page
        .locator('#transcript-exports a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.deepEqual(
        links.map((l) => /format=(\w+)/.exec(l ?? '')?.[1]),
        ['txt', 'srt', 'vtt', 'json'],
      );
      await assertAccessible(page, 'the session page with a transcript');
    } finally {
      await browser.close();
    }
  },
);

test('no decrypted audio or transcript text on disk or in logs', { skip: !ready, timeout: 120_000 }, async () => {
  const t = result.transcript;
  assert.ok(t);
  const needles: { what: string; bytes: Buffer }[] = [];
  for (const s of t.segments)
    if (Buffer.byteLength(s.text.trim()) >= 8)
      needles.push({ what: 'transcript text', bytes: Buffer.from(s.text.trim()) });
  assert.ok(needles.length > 0);
  // A known chunk's Opus payloads and the PCM they decode to (48 kHz and the 16 kHz the model saw).
  const chunk = decodeChunk(recorded.tracks[0]!.firstChunk);
  const payloads = chunk.records.map((r) => parseRtp(r.packet).payload).filter((p) => p.length >= 40);
  for (const p of payloads.slice(10, 13)) needles.push({ what: 'opus payload', bytes: Buffer.from(p.subarray(8, 40)) });
  const dec = new OpusDecoder({ channels: 1 });
  await dec.ready;
  const pcm48 = dec.decodeFrames(payloads.map((p) => new Uint8Array(p))).channelData[0]!;
  dec.free();
  const pcm16 = resample48to16(pcm48);
  for (const [what, pcm] of [
    ['pcm 48k', pcm48],
    ['pcm 16k', pcm16],
  ] as const) {
    const mid = Math.floor(pcm.length / 2);
    needles.push({ what: `${what} f32`, bytes: Buffer.from(pcm.slice(mid, mid + 8).buffer) });
    needles.push({
      what: `${what} s16`,
      bytes: Buffer.from(Int16Array.from(pcm.slice(mid, mid + 16), (v) => Math.round(v * 32767)).buffer),
    });
  }
  // Postgres pages reach its files: force them out before scanning.
  const c = new pg.Client({ connectionString: ts.db.ownerUrl });
  await c.connect();
  await c.query('checkpoint');
  await c.end();
  const roots = [ts.dataDir, path.join(process.env.TEST_OUTPUT_DIR ?? '', 'pg')].filter((d) => d && fs.existsSync(d));
  let scanned = 0;
  for (const root of roots) {
    for (const rel of fs.readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      const file = path.join(root, rel);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue; // removed meanwhile (other test files share the server)
      }
      if (!st.isFile() || st.size > 512 * 1024 * 1024) continue;
      let data: Buffer;
      try {
        data = fs.readFileSync(file);
      } catch {
        continue;
      }
      scanned++;
      for (const n of needles) assert.equal(data.indexOf(n.bytes), -1, `${n.what} found in ${file}`);
    }
  }
  assert.ok(scanned > 10, `scanned ${scanned} files`);
  const logs = Buffer.from(ts.logs.join('\n'));
  for (const n of needles) assert.equal(logs.indexOf(n.bytes), -1, `${n.what} found in the logs`);
  // The sealed transcript is in object storage under the session's prefix.
  const objects = fs
    .readdirSync(path.join(ts.dataDir, 'objects'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.includes(`${recorded.sessionId}/transcripts/`));
  assert.equal(objects.length, 1);
});

test(
  're-run makes a new transcript; one run at a time; deleting the recording erases transcripts too',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const before = result.transcript!;
    const r1 = await owner.post(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript/rerun`);
    assert.equal(r1.status, 202);
    const r2 = await owner.post(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript/rerun`);
    assert.equal(r2.status, 409);
    assert.equal((r2.body as { error: { code: string } }).error.code, 'transcription_in_progress');
    const again = (await waitForTranscript(owner, orgId, recorded.sessionId)) as TranscriptBody;
    assert.equal(again.status, 'done');
    assert.notEqual(again.transcript?.run_id, before.run_id);
    assert.deepEqual(
      again.transcript?.segments,
      before.segments,
      'the same model on the same audio gives the same transcript',
    );

    assert.equal((await owner.delete(`/api/orgs/${orgId}/sessions/${recorded.sessionId}`)).status, 200);
    assert.equal((await owner.get(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript`)).status, 404);
    const prefix = path.join(ts.dataDir, 'objects', 'orgs', orgId, 'sessions', recorded.sessionId);
    const until = Date.now() + 10_000;
    while (
      fs.existsSync(prefix) &&
      fs.readdirSync(prefix, { recursive: true }).some((f) => String(f).endsWith('.sealed')) &&
      Date.now() < until
    )
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      !fs.existsSync(prefix) || !fs.readdirSync(prefix, { recursive: true }).some((f) => String(f).endsWith('.sealed')),
      'transcript objects are swept',
    );
  },
);

test(
  'admins choose automatic transcription and the language; members cannot; other orgs see nothing',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const member = await ts.signIn('member@example.com');
    const since = ts.inbox.messages.length;
    const inv = await owner.post(`/api/orgs/${orgId}/invitations`, { email: 'member@example.com', role: 'member' });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const mail = await ts.inbox.waitFor('member@example.com', { since });
    const token = /token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
    assert.equal((await member.post('/api/invitations/accept', { token })).status, 200);
    assert.equal((await member.patch(`/api/orgs/${orgId}/settings/transcription`, { auto: false })).status, 403);
    assert.equal((await owner.patch(`/api/orgs/${orgId}/settings/transcription`, { language: 'xx' })).status, 400);
    assert.equal((await owner.patch(`/api/orgs/${orgId}/settings/transcription`, {})).status, 400);
    const changed = await owner.patch(`/api/orgs/${orgId}/settings/transcription`, { auto: false, language: 'de' });
    assert.equal(changed.status, 200);
    assert.deepEqual({ auto: changed.body.auto, language: changed.body.language }, { auto: false, language: 'de' });
    const quiet = await recordSession(ts, owner, orgId, [
      { speaker: 'Solo', utterances: [{ file: '0930', atS: 0.2 }] },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const none = await member.get(`/api/orgs/${orgId}/sessions/${quiet.sessionId}/transcript`);
    assert.equal(none.status, 200);
    assert.equal(none.body.status, 'none', 'auto off: nothing queued');
    // A member may ask for it; the run uses the org's language.
    assert.equal((await member.post(`/api/orgs/${orgId}/sessions/${quiet.sessionId}/transcript/rerun`)).status, 202);
    const done = (await waitForTranscript(member, orgId, quiet.sessionId)) as TranscriptBody;
    assert.equal(done.status, 'done');
    assert.equal(done.transcript?.language, 'de');

    const stranger = await ts.signIn('stranger@example.com');
    const other = ((await stranger.post('/api/orgs', { name: 'Other' })).body as { id: string }).id;
    for (const base of [
      `/api/orgs/${orgId}/sessions/${quiet.sessionId}`,
      `/api/orgs/${other}/sessions/${quiet.sessionId}`,
    ]) {
      assert.equal((await stranger.get(`${base}/transcript`)).status, 404);
      assert.equal((await stranger.get(`${base}/transcript/export?format=json`)).status, 404);
      assert.equal((await stranger.post(`${base}/transcript/rerun`)).status, 404);
    }
    assert.equal((await stranger.get(`/api/orgs/${orgId}/settings/transcription`)).status, 404);
    assert.equal((await stranger.patch(`/api/orgs/${orgId}/settings/transcription`, { auto: true })).status, 404);
    const own = await stranger.get(`/api/orgs/${other}/settings/transcription`);
    assert.equal(own.body.language, 'auto', "another org's settings are its own");
  },
);
