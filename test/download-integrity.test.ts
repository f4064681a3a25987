// A track download whose FIRST stored chunk was altered is refused with a clear error
// (422 recording_damaged), not a generic 500; and `recording.downloaded` is audited only for
// a download that completed, never for a refused one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import type { HttpClient } from './helpers/http.ts';
import { seedRecordedSession, type SeededSession } from './helpers/recording.ts';

const ready = prerequisites('download integrity tests', [...missingMediaTools()]);

let ts: TestServer;
let owner: HttpClient;
let orgId: string;
let seeded: SeededSession;

before(async () => {
  if (!ready) return;
  ts = await startTestServer();
  owner = await ts.signIn('integrity@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Integrity' })).body as { id: string }).id;
  seeded = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada', 'Ben'] });
});
after(async () => {
  await ts?.close();
});

async function downloads(): Promise<string[]> {
  const r = await owner.get<{ entries: { action: string; details: { track_id?: string } }[] }>(
    `/api/orgs/${orgId}/audit`,
  );
  return r.body.entries.filter((e) => e.action === 'recording.downloaded').map((e) => e.details.track_id ?? '');
}

test(
  'a tampered first chunk is refused as damaged; only completed downloads are audited',
  { skip: !ready },
  async () => {
    const [bad, good] = seeded.tracks;
    assert.ok(bad && good);
    const first = seeded.chunks.find((c) => c.trackId === bad.trackId && c.seq === 0);
    assert.ok(first);
    const store = ts.running.deps.storage.objectStore;
    const sealed = Buffer.from(await store.get(first.objectKey));
    sealed[sealed.length - 20]! ^= 0x01;
    await store.put(first.objectKey, sealed);

    const url = (t: string) => `/api/orgs/${orgId}/sessions/${seeded.sessionId}/tracks/${t}/download`;
    const refused = await owner.get<{ error: { code: string; message: string } }>(url(bad.trackId));
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'recording_damaged');
    assert.match(refused.body.error.message, /integrity check/);

    const ok = await owner.get(url(good.trackId));
    assert.equal(ok.status, 200);
    // The audit row is written when the body ended; give it a moment.
    for (let i = 0; i < 50 && !(await downloads()).includes(good.trackId); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await downloads(), [good.trackId], 'the refused download left no audit entry');
  },
);
