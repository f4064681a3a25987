// An integration as a customer would build it: a program that holds only an API key (no
// browser, no session cookie) registers a webhook, creates a session, ends it after a guest
// recorded in it, waits for `recording.ready` on its own loopback receiver (checking every
// signature with the independent `standardwebhooks` package), then downloads each track the
// event links to and, on `transcript.ready`, the transcript. The recording is made the way
// the SFU makes it: real speech encoded to Opus RTP by ffmpeg, cut into chunks, sealed under
// the session key and stored through the SFU's own CaptureStore (sfu_* functions).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { HttpClient } from './helpers/http.ts';
import { freshEmail } from './helpers/api.ts';
import { captureRtp, missingMediaTools } from './helpers/media.ts';
import { MODEL_DIR, MODEL_NAME, speechFile, storeChunks } from './helpers/transcription.ts';
import { eventually, prerequisites } from './helpers/tools.ts';
import { CaptureStore } from '../sfu/capture/CaptureStore.ts';

const ready = prerequisites('the integrations end-to-end test', [
  ...missingMediaTools(),
  !fs.existsSync(`${MODEL_DIR}/${MODEL_NAME}/config.json`) && `the test model ${MODEL_NAME}`,
]);

/** A client that authenticates every request with `authorization: Bearer <key>` and nothing else. */
class ApiKeyClient extends HttpClient {
  readonly #key: string;
  constructor(base: string, key: string) {
    super(base);
    this.#key = key;
  }
  override request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    if (this.cookies.size > 0) throw new Error('an API-key client must not hold cookies');
    return super.request<T>(method, path, body, { ...headers, authorization: `Bearer ${this.#key}` });
  }
}

interface Event {
  type: string;
  data: Record<string, unknown>;
}

let ts: TestServer;
let server: http.Server;
const events: { id: string; event: Event }[] = [];
let secret = '';
let verifyFailures = 0;

before(async () => {
  if (!ready) return;
  ts = await startTestServer({
    NODE_ENV: 'development',
    MODEL_DIR,
    TRANSCRIBE_MODEL: MODEL_NAME,
    JOBS_POLL_INTERVAL_MS: '200',
  });
  await ts.fleetNode(); // an SFU node is up: joins are placed on it
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      try {
        const event = new Webhook(secret).verify(Buffer.concat(parts).toString(), headers) as Event;
        events.push({ id: headers['webhook-id'] ?? '', event });
        res.writeHead(204).end();
      } catch {
        verifyFailures++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  if (!ready) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await ts.close();
});

/** An org with an owner, and an API key of that org (made once by its owner, the only cookie use). */
async function orgWithKey(): Promise<{ orgId: string; key: string; memberKey: string }> {
  const owner = await ts.signIn(freshEmail('integrator'));
  const org = await owner.post<{ id: string }>('/api/orgs', { name: 'Integrations Inc' });
  assert.equal(org.status, 201);
  const key = await owner.post<{ key: string }>(`/api/orgs/${org.body.id}/api-keys`, {
    name: 'e2e',
    role: 'admin',
  });
  assert.equal(key.status, 201, key.text);
  const memberKey = await owner.post<{ key: string }>(`/api/orgs/${org.body.id}/api-keys`, {
    name: 'e2e-member',
    role: 'member',
  });
  assert.equal(memberKey.status, 201, memberKey.text);
  return { orgId: org.body.id, key: key.body.key, memberKey: memberKey.body.key };
}

/** A guest joins by link and speaks; the SFU's capture path seals and stores the track, then closes it. */
async function guestRecords(orgId: string, session: { id: string; guest_url: string }): Promise<string> {
  const guestToken = new URL(session.guest_url).hash.replace(/^#g=/, '');
  const joined = await ts.client().post<{ participant_id: string }>('/api/join', {
    session_id: session.id,
    token: guestToken,
    display_name: 'Guest',
  });
  assert.equal(joined.status, 200, joined.text);
  const participantId = joined.body.participant_id;
  const { deps } = ts.running;
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const key = await store.sessionKey(orgId, session.id);
  const startMs = Date.now() - 30_000;
  const take = await store.startTake(orgId, session.id, participantId, new Date(startMs));
  const speech = speechFile('0880');
  const { meta, records } = await captureRtp(
    ['-i', speech.file, '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip'],
    { baseUs: BigInt(startMs) * 1000n },
  );
  const trackId = await store.openTrack(orgId, session.id, {
    takeId: take.takeId,
    participantId,
    kind: 'audio',
    mimeType: meta.mimeType,
    clockRate: meta.clockRate,
    payloadType: meta.payloadType,
    producerId: 'p0',
    startedAt: new Date(startMs),
  });
  await storeChunks(store, key, { orgId, sessionId: session.id, trackId }, meta, records, 2);
  const lastMs = Number((records[records.length - 1]?.arrivalUs ?? 0n) / 1000n);
  await store.closeTrack(orgId, session.id, trackId, new Date(lastMs), 0);
  await store.stopTake(orgId, session.id, take.takeId, participantId, new Date(lastMs));
  key.fill(0);
  return trackId;
}

test(
  'with only an API key: create a session, end it, get recording.ready signed, download the tracks and the transcript',
  { skip: !ready, timeout: 180_000 },
  async () => {
    const { orgId, key, memberKey } = await orgWithKey();
    const api = new ApiKeyClient(ts.url, key);
    const base = `/api/orgs/${orgId}`;
    const port = (server.address() as AddressInfo).port;
    // A member key cannot manage webhooks; an admin key can.
    const refused = await new ApiKeyClient(ts.url, memberKey).post(`${base}/webhooks`, {
      url: `http://127.0.0.1:${port}/events`,
      events: ['recording.ready'],
    });
    assert.equal(refused.status, 403, refused.text);
    const hook = await api.post<{ id: string; secret: string }>(`${base}/webhooks`, {
      url: `http://127.0.0.1:${port}/events`,
      events: ['session.ended', 'recording.ready', 'transcript.ready', 'transcript.failed'],
    });
    assert.equal(hook.status, 201, hook.text);
    secret = hook.body.secret;

    const created = await api.post<{ id: string; guest_url: string }>(`${base}/sessions`, { title: 'Via the API' });
    assert.equal(created.status, 201, created.text);
    const sessionId = created.body.id;
    const trackId = await guestRecords(orgId, created.body);
    const ended = await api.post(`${base}/sessions/${sessionId}/end`);
    assert.equal(ended.status, 200, ended.text);

    const readyEvent = await eventually('recording.ready', () =>
      Promise.resolve(events.find((e) => e.event.type === 'recording.ready')),
    );
    assert.equal(readyEvent.event.data.session_id, sessionId);
    assert.ok(readyEvent.id.startsWith('msg_'));
    const tracks = readyEvent.event.data.tracks as { id: string; kind: string; download_url: string }[];
    assert.deepEqual(
      tracks.map((t) => [t.id, t.kind]),
      [[trackId, 'audio']],
    );
    // The links point at this server (PUBLIC_URL); the client follows their paths with its key.
    for (const t of tracks) {
      const url = new URL(t.download_url);
      const res = await fetch(ts.url + url.pathname, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200, `download ${url.pathname}`);
      const audio = Buffer.from(await res.arrayBuffer());
      assert.equal(audio.subarray(0, 4).toString(), 'OggS', 'an Ogg Opus file');
      assert.ok(audio.length > 5000, `${audio.length} bytes of audio`);
    }

    const done = await eventually(
      'transcript.ready',
      () => Promise.resolve(events.find((e) => e.event.type.startsWith('transcript.'))),
      120_000,
    );
    assert.equal(done.event.type, 'transcript.ready', JSON.stringify(done.event.data));
    const links = done.event.data.links as Record<string, string>;
    const transcript = await api.get<{ status: string; transcript: { segments: unknown[] } | null }>(
      new URL(links.transcript ?? '').pathname,
    );
    assert.equal(transcript.status, 200, transcript.text);
    assert.equal(transcript.body.status, 'done');
    assert.ok(transcript.body.transcript, 'the transcript is there');
    // Order per endpoint: the session ended before its recording was ready, before its transcript.
    assert.deepEqual(
      events.map((e) => e.event.type),
      ['session.ended', 'recording.ready', 'transcript.ready'],
    );
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'one webhook-id per event');
    assert.equal(verifyFailures, 0, 'every delivery verified with the standardwebhooks package');
  },
);
