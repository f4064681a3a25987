/**
 * Private mode without a sweep: a job worker seals an ended private session to its org's key
 * within seconds (PRIVATE_SEAL_INTERVAL_S), so the service cannot read a recording that waits
 * for no transcription until the next hourly lifecycle sweep.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { enablePrivateMode, getBytes } from './helpers/private.ts';
import { seedRecordedSession } from './helpers/recording.ts';

const ready = prerequisites('private mode sealing tick', [...missingMediaTools()]);
let ts: TestServer;

before(async () => {
  if (!ready) return;
  ts = await startTestServer({ PRIVATE_SEAL_INTERVAL_S: '1' });
});
after(async () => {
  await ts?.close();
});

test(
  'an ended private session is sealed by the job worker within seconds, with no sweep',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const owner = await ts.signIn('tick-owner@example.com');
    const orgId = ((await owner.post('/api/orgs', { name: 'Tick' })).body as { id: string }).id;
    assert.equal((await enablePrivateMode(owner, orgId, 'a passphrase for the tick')).status, 201);
    const seeded = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada'] });
    const base = `/api/orgs/${orgId}/sessions/${seeded.sessionId}`;
    const started = Date.now();
    let sealedAt: string | null = null;
    while (!sealedAt && Date.now() - started < 30_000) {
      sealedAt = (await owner.get<{ private_sealed_at: string | null }>(base)).body.private_sealed_at;
      if (!sealedAt) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(sealedAt, 'sealed without a lifecycle sweep');
    // From then on the server cannot serve the recording itself.
    const track = seeded.tracks[0];
    assert.ok(track);
    const d = await getBytes(owner, `${base}/tracks/${track.trackId}/download`);
    assert.equal(d.status, 409);
  },
);
