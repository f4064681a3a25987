/**
 * Recorded sessions for lifecycle tests: real speech captured as Opus RTP by ffmpeg, sealed
 * and stored through the SFU's own CaptureStore (recordSession in ./transcription.ts), plus
 * an optional transcript sealed under the session key the way the transcription worker
 * stores it. Also the reader that tries to open stored media with every key that exists.
 */
import pg from 'pg';
import { openBlob, openChunk, sealBlob } from '../../lib/chunks/seal.ts';
import { parseWrappedKey } from '../../lib/keys/index.ts';
import type { TestServer } from './server.ts';
import type { HttpClient } from './http.ts';
import { recordSession, type RecordedSession } from './transcription.ts';

/** What a seeded session left in the database and storage. */
export interface SeededSession extends RecordedSession {
  orgId: string;
  /** Every stored chunk: its object key and the binding it was sealed with. */
  chunks: { objectKey: string; trackId: string; seq: number }[];
  /** The sealed transcript, when one was seeded. */
  transcript?: { objectKey: string; runId: string };
}

/** Runs `fn` with an owner connection to the test server's database. */
export async function asOwner<T>(ts: TestServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ts.db.ownerUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Records a session with one speech track per speaker (the first joins as host through
 * `owner`, the others as guests by link), ends it and, with `transcript`, stores a sealed
 * transcript for it.
 */
export async function seedRecordedSession(
  ts: TestServer,
  orgId: string,
  opts: { owner: HttpClient; speakers?: string[]; transcript?: boolean },
): Promise<SeededSession> {
  const speakers = opts.speakers ?? ['Host', 'Guest'];
  const ids = ['0880', '0930', '0890', '0920'];
  const rec = await recordSession(
    ts,
    opts.owner,
    orgId,
    speakers.map((speaker, i) => ({ speaker, utterances: [{ file: ids[i % ids.length] ?? '0880', atS: 0.5 }] })),
  );
  const chunks = await asOwner(ts, async (c) => {
    const r = await c.query<{ object_key: string; track_id: string; seq: number }>(
      `select c.object_key, c.track_id, c.seq
         from chunks c join tracks t on t.id = c.track_id where t.session_id = $1 order by c.track_id, c.seq`,
      [rec.sessionId],
    );
    return r.rows.map((x) => ({ objectKey: x.object_key, trackId: x.track_id, seq: x.seq }));
  });
  const seeded: SeededSession = { ...rec, orgId, chunks };
  if (opts.transcript) seeded.transcript = await seedTranscript(ts, orgId, rec, speakers);
  return seeded;
}

async function seedTranscript(
  ts: TestServer,
  orgId: string,
  rec: RecordedSession,
  speakers: string[],
): Promise<{ objectKey: string; runId: string }> {
  return asOwner(ts, async (c) => {
    const s = await c.query<{ wrapped_key: unknown }>('select wrapped_key from recording_sessions where id = $1', [
      rec.sessionId,
    ]);
    // The session's end queued a run (sql/060_transcription.sql); without one, add it.
    let run = (
      await c.query<{ id: string }>(
        'select id from transcription_runs where session_id = $1 order by created_at desc limit 1',
        [rec.sessionId],
      )
    ).rows[0];
    run ??= (
      await c.query<{ id: string }>(
        `insert into transcription_runs (organization_id, session_id, reason) values ($1, $2, 'auto') returning id`,
        [orgId, rec.sessionId],
      )
    ).rows[0];
    if (!run) throw new Error('no transcription run');
    const key = await ts.running.deps.storage.keyProvider.decrypt(parseWrappedKey(s.rows[0]?.wrapped_key), {
      organizationId: orgId,
      sessionId: rec.sessionId,
    });
    const doc = {
      version: 1,
      run_id: run.id,
      session_id: rec.sessionId,
      model: 'seeded',
      device: 'cpu',
      language: 'en',
      created_at: new Date().toISOString(),
      audio_seconds: 3,
      speech_seconds: 2.5,
      speakers: rec.tracks.map((t) => ({ participant_id: t.participantId, name: t.speaker })),
      segments: rec.tracks.map((t, i) => ({
        start: 0.5 + i,
        end: 2 + i,
        speaker: speakers[i] ?? t.speaker,
        participant_id: t.participantId,
        track_id: t.trackId,
        take: 1,
        text: `he was not an ill disposed young man ${i}`,
      })),
    };
    const objectKey = `orgs/${orgId}/sessions/${rec.sessionId}/transcripts/${run.id}-1.sealed`;
    await ts.running.deps.storage.objectStore.put(
      objectKey,
      sealBlob(
        key,
        { organizationId: orgId, sessionId: rec.sessionId, kind: 'transcript', name: run.id },
        Buffer.from(JSON.stringify(doc)),
      ),
    );
    key.fill(0);
    await c.query(
      `insert into transcripts (run_id, organization_id, session_id, object_key, model, language,
                                segment_count, speaker_count, audio_seconds, speech_seconds)
       values ($1, $2, $3, $4, 'seeded', 'en', $5, $5, 3, 2.5)`,
      [run.id, orgId, rec.sessionId, objectKey, rec.tracks.length],
    );
    await c.query(`update transcription_runs set status = 'done', progress = 1, finished_at = now() where id = $1`, [
      run.id,
    ]);
    return { objectKey, runId: run.id };
  });
}

/**
 * Every 32-byte key an attacker holding the database and the secrets folder could try: each
 * stored wrapped key unwrapped by the server's provider. Returns them by session.
 */
export async function everyRemainingKey(ts: TestServer): Promise<Map<string, Buffer>> {
  const rows = await asOwner(
    ts,
    async (c) =>
      (
        await c.query<{ id: string; organization_id: string; wrapped_key: unknown }>(
          'select id, organization_id, wrapped_key from recording_sessions where wrapped_key is not null',
        )
      ).rows,
  );
  const keys = new Map<string, Buffer>();
  for (const r of rows)
    keys.set(
      r.id,
      await ts.running.deps.storage.keyProvider.decrypt(parseWrappedKey(r.wrapped_key), {
        organizationId: r.organization_id,
        sessionId: r.id,
      }),
    );
  return keys;
}

/** True when any of `keys` opens the sealed chunk (or transcript) `sealed` of `s`. */
export function anyKeyOpens(
  keys: Iterable<Buffer>,
  s: { orgId: string; sessionId: string },
  sealed: Buffer,
  what: { trackId: string; seq: number } | { runId: string },
): boolean {
  for (const key of keys) {
    try {
      if ('runId' in what)
        openBlob(
          key,
          { organizationId: s.orgId, sessionId: s.sessionId, kind: 'transcript', name: what.runId },
          sealed,
        );
      else
        openChunk(
          key,
          { organizationId: s.orgId, sessionId: s.sessionId, trackId: what.trackId, seq: what.seq },
          sealed,
        );
      return true;
    } catch {
      // this key does not open it
    }
  }
  return false;
}
