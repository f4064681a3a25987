// Key rotation as an operator runs it (`npm run keys:rotate`, the real CLI in a child
// process) beside a live server: while a session is recording (chunks keep arriving through
// the SFU's CaptureStore) and while an export streams, a new local KEK becomes current and
// every data key is re-wrapped in batches. Both finish; every chunk and transcript still
// opens; the old KEK stays until nothing needs it; new sessions use the new KEK without a
// restart. With AWS KMS (the loopback fake), an organisation moves onto its own key and the
// deployment moves off a retired key; every recording still opens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools, captureRtp, SPEECH_SHORT } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { freshEmail } from './helpers/api.ts';
import type { HttpClient } from './helpers/http.ts';
import {
  asOwner,
  anyKeyOpens,
  everyRemainingKey,
  seedRecordedSession,
  type SeededSession,
} from './helpers/recording.ts';
import { startFakeKms, TEST_CREDENTIALS, type FakeKms } from './helpers/kms-fake.ts';
import { CaptureStore, chunkObjectKey } from '../sfu/capture/CaptureStore.ts';
import { encodeChunk } from '../lib/chunks/container.ts';
import { sealChunk } from '../lib/chunks/seal.ts';
import { parseWrappedKey } from '../lib/keys/index.ts';

const ready = prerequisites('key rotation tests', missingMediaTools());
const ROOT = path.resolve(import.meta.dirname, '..');

/** Runs the CLI against the test server's database and DATA_DIR; resolves with its output. */
function rotate(
  ts: TestServer,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/keys-rotate.ts'), ...args], {
      cwd: ROOT,
      env: childEnv(ts, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, startedAt, endedAt: Date.now() }));
  });
}

async function keyIds(ts: TestServer, orgId?: string): Promise<string[]> {
  return asOwner(ts, async (c) =>
    (
      await c.query<{ k: string }>(
        `select distinct wrapped_key ->> 'keyId' as k
           from recording_sessions
          where wrapped_key is not null and ($1::uuid is null or organization_id = $1) order by 1`,
        [orgId ?? null],
      )
    ).rows.map((r) => r.k),
  );
}

async function allOpen(ts: TestServer, sessions: SeededSession[]): Promise<void> {
  const keys = await everyRemainingKey(ts);
  for (const s of sessions) {
    const key = keys.get(s.sessionId);
    assert.ok(key);
    for (const c of s.chunks)
      assert.ok(
        anyKeyOpens([key], s, await ts.running.deps.storage.objectStore.get(c.objectKey), c),
        'a chunk still opens',
      );
    if (s.transcript)
      assert.ok(
        anyKeyOpens([key], s, await ts.running.deps.storage.objectStore.get(s.transcript.objectKey), {
          runId: s.transcript.runId,
        }),
        'the transcript still opens',
      );
  }
}

test(
  'local KEK: rotation while recording and while an export streams; all finish and stay decryptable',
  { skip: !ready, timeout: 240_000 },
  async () => {
    const ts = await startTestServer({ JOBS: 'off' });
    try {
      const owner = await ts.signIn(freshEmail('operator'));
      const orgId = ((await owner.post('/api/orgs', { name: 'Rotating' })).body as { id: string }).id;
      const recorded = await seedRecordedSession(ts, orgId, { owner, transcript: true });
      for (let i = 0; i < 150; i++)
        assert.equal((await owner.post(`/api/orgs/${orgId}/sessions`, { title: `S${i}` })).status, 201);
      const before = await keyIds(ts);
      assert.equal(before.length, 1);
      const oldKek = before[0] ?? '';
      // A live recording: the SFU's capture path keeps storing chunks during the rotation.
      await ts.fleetNode();
      const live = (await owner.post(`/api/orgs/${orgId}/sessions`, { title: 'Live' })).body as { id: string };
      const host = (await owner.post(`/api/orgs/${orgId}/sessions/${live.id}/join`, { display_name: 'Host' })).body as {
        participant_id: string;
      };
      const { deps } = ts.running;
      const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
      const rtp = await captureRtp(['-i', SPEECH_SHORT, '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k']);
      const key = await store.sessionKey(orgId, live.id);
      const take = await store.startTake(orgId, live.id, host.participant_id, new Date());
      const trackId = await store.openTrack(orgId, live.id, {
        takeId: take.takeId,
        participantId: host.participant_id,
        kind: 'audio',
        mimeType: rtp.meta.mimeType,
        clockRate: rtp.meta.clockRate,
        payloadType: rtp.meta.payloadType,
        producerId: 'p',
        startedAt: new Date(),
      });
      const putAt: number[] = [];
      let recording = true;
      const recorder = (async () => {
        for (let seq = 0; recording; seq++) {
          const records = rtp.records.slice((seq * 25) % rtp.records.length, ((seq * 25) % rtp.records.length) + 25);
          const sealed = sealChunk(
            key,
            { organizationId: orgId, sessionId: live.id, trackId, seq },
            encodeChunk(rtp.meta, records),
          );
          const first = records[0];
          const last = records.at(-1);
          if (!first || !last) continue;
          await store.putChunk(orgId, live.id, sealed, {
            trackId,
            seq,
            objectKey: chunkObjectKey(orgId, live.id, trackId, seq),
            size: sealed.length,
            sha256: createHash('sha256').update(sealed).digest(),
            packets: records.length,
            firstArrival: new Date(),
            lastArrival: new Date(),
            firstRtpSeq: first.packet.readUInt16BE(2),
            lastRtpSeq: last.packet.readUInt16BE(2),
            firstRtpTs: first.packet.readUInt32BE(4),
            lastRtpTs: last.packet.readUInt32BE(4),
          });
          putAt.push(Date.now());
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      // An export streams at the same time.
      const exp = await owner.post(`/api/orgs/${orgId}/exports`, { passphrase: 'rotation is no reason to fail' });
      assert.equal(exp.status, 202);
      const r = await rotate(ts, ['--new-kek', '--batch-size', '10', '--pause-ms', '40']);
      recording = false;
      await recorder;
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /new KEK [0-9a-f]{16} is current/);
      assert.ok(
        putAt.filter((t) => t > r.startedAt && t < r.endedAt).length >= 5,
        `chunks were stored during the rotation (${putAt.length} in all)`,
      );
      const newKek = fs.readFileSync(path.join(ts.dataDir, 'secrets', 'kek-current'), 'utf8').trim();
      assert.notEqual(newKek, oldKek);
      assert.deepEqual(await keyIds(ts), [newKek], 'every data key is under the new KEK');
      assert.ok(fs.existsSync(path.join(ts.dataDir, 'secrets', `kek-${oldKek}`)), 'the old KEK is kept');
      assert.match((await rotate(ts, ['--status'])).out, new RegExp(`kek-${oldKek} protects nothing any more`));
      // The export finished and is whole.
      let job: { status: string; sessions_done: number; sessions_total: number } = {
        status: '',
        sessions_done: 0,
        sessions_total: 0,
      };
      for (let i = 0; i < 600 && !['done', 'failed'].includes(job.status); i++) {
        job = (await owner.get(`/api/orgs/${orgId}/exports/${(exp.body as { id: string }).id}`)).body as typeof job;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(job.status, 'done', JSON.stringify(job));
      assert.equal(job.sessions_done, job.sessions_total);
      // Every chunk of the live track opens with its (re-wrapped) key, through the running
      // server's provider, which had never seen the new KEK before.
      const wrapped = await asOwner(
        ts,
        async (c) =>
          (await c.query('select wrapped_key from recording_sessions where id = $1', [live.id])).rows[0].wrapped_key,
      );
      const liveKey = await deps.storage.keyProvider.decrypt(parseWrappedKey(wrapped), {
        organizationId: orgId,
        sessionId: live.id,
      });
      assert.ok(liveKey.equals(key), 'the same data key, re-wrapped');
      const liveChunks = await asOwner(
        ts,
        async (c) =>
          (
            await c.query<{ seq: number; object_key: string }>(
              'select seq, object_key from chunks where track_id = $1 order by seq',
              [trackId],
            )
          ).rows,
      );
      assert.equal(liveChunks.length, putAt.length);
      for (const ch of liveChunks)
        assert.ok(
          anyKeyOpens([liveKey], { orgId, sessionId: live.id }, await deps.storage.objectStore.get(ch.object_key), {
            trackId,
            seq: ch.seq,
          }),
        );
      await allOpen(ts, [recorded]);
      const transcript = await owner.get(`/api/orgs/${orgId}/sessions/${recorded.sessionId}/transcript`);
      assert.equal(transcript.status, 200, transcript.text);
      // New sessions use the new KEK at once.
      const fresh = (await owner.post(`/api/orgs/${orgId}/sessions`, { title: 'After' })).body as { id: string };
      assert.equal(
        await asOwner(
          ts,
          async (c) =>
            (await c.query(`select wrapped_key ->> 'keyId' as k from recording_sessions where id = $1`, [fresh.id]))
              .rows[0].k,
        ),
        newKek,
      );
    } finally {
      await ts.close();
    }
  },
);

let kms: FakeKms;
let kts: TestServer;
before(async () => {
  if (!ready) return;
  kms = await startFakeKms();
  kms.createKey('deploy-key');
  // The SDK's default credential chain reads these, in this process and in the CLI.
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
});
after(async () => {
  await kts?.close();
  await kms?.close();
});

test(
  'AWS KMS: an org moves onto its own key, the deployment moves off a retired key; everything still opens',
  { skip: !ready, timeout: 180_000 },
  async () => {
    const kmsEnv = {
      KEY_PROVIDER: 'aws-kms',
      AWS_KMS_KEY_ID: 'deploy-key',
      AWS_REGION: kms.region,
      AWS_KMS_ENDPOINT: kms.endpoint,
    };
    kts = await startTestServer({ JOBS: 'off', ...kmsEnv });
    const creds = {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    const a = await kts.signIn(freshEmail('byok'));
    const b = await kts.signIn(freshEmail('plain'));
    const orgA = ((await a.post('/api/orgs', { name: 'Own Key' })).body as { id: string }).id;
    const orgB = ((await b.post('/api/orgs', { name: 'Deployment Key' })).body as { id: string }).id;
    const sa = await seedRecordedSession(kts, orgA, { owner: a, transcript: true });
    const sb = await seedRecordedSession(kts, orgB, { owner: b });
    const make = async (c: HttpClient, org: string, n: number) => {
      for (let i = 0; i < n; i++)
        assert.equal((await c.post(`/api/orgs/${org}/sessions`, { title: `K${i}` })).status, 201);
    };
    await make(a, orgA, 20);
    await make(b, orgB, 20);
    const deployArn = (await keyIds(kts))[0] ?? '';
    assert.match(deployArn, /^arn:aws:kms:.*:key\/deploy-key$/);
    const byokArn = kms.createKey('org-a-key');
    const r1 = await rotate(kts, ['--org', orgA, '--to-kms-key', byokArn, '--batch-size', '7'], {
      ...kmsEnv,
      ...creds,
    });
    assert.equal(r1.code, 0, r1.out);
    assert.deepEqual(await keyIds(kts, orgA), [byokArn]);
    assert.deepEqual(await keyIds(kts, orgB), [deployArn], 'other orgs are untouched');
    assert.ok(
      kms.calls.some((c) => c.target === 'TrentService.ReEncrypt'),
      'KMS ReEncrypt: the plaintext never left KMS',
    );
    // New sessions of org A use its own key at once.
    const fresh = (await a.post(`/api/orgs/${orgA}/sessions`, { title: 'New' })).body as { id: string };
    assert.equal(
      await asOwner(
        kts,
        async (c) =>
          (await c.query(`select wrapped_key ->> 'keyId' as k from recording_sessions where id = $1`, [fresh.id]))
            .rows[0].k,
      ),
      byokArn,
    );
    // The deployment retires its key: everything under it moves to the new deployment key.
    const nextArn = kms.createKey('deploy-key-2');
    const r2 = await rotate(kts, ['--from-key', 'deploy-key'], { ...kmsEnv, ...creds, AWS_KMS_KEY_ID: 'deploy-key-2' });
    assert.equal(r2.code, 0, r2.out);
    assert.deepEqual(await keyIds(kts, orgB), [nextArn]);
    assert.deepEqual(await keyIds(kts, orgA), [byokArn]);
    // Once nothing needs it, the old key can be disabled: every recording still opens.
    kms.disableKey('deploy-key');
    await allOpen(kts, [sa, sb]);
  },
);
