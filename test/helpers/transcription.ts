/**
 * Recorded sessions for transcription tests, made the way the SFU makes them: real speech
 * (pocketsphinx-testdata) encoded to Opus RTP by ffmpeg and captured from a UDP socket,
 * cut into chunks, sealed under the session key, stored, and recorded through the SFU's own
 * CaptureStore (sql/050_recording.sql functions); then the session ends, which queues the run.
 */
import path from 'node:path';
import { captureRtp, SPEECH_DIR } from './media.ts';
import type { TestServer } from './server.ts';
import type { HttpClient } from './http.ts';
import { CaptureStore, chunkRecord } from '../../sfu/capture/CaptureStore.ts';
import { encodeChunk, type ChunkMeta, type RtpRecord } from '../../lib/chunks/container.ts';
import { sealChunk } from '../../lib/chunks/seal.ts';

/** Model fixture: a tiny Whisper with random weights (gibberish text, real code path). */
export const MODEL_DIR = path.resolve(import.meta.dirname, '../../../shared/models');
export const MODEL_NAME = 'whisper-tiny-random';

/** One utterance placed on a track: a file from SPEECH_DIR, starting `atS` seconds into the take. */
export interface Utterance {
  file: string;
  atS: number;
}

export interface TrackPlan {
  speaker: string;
  utterances: Utterance[];
}

export interface RecordedTrack {
  trackId: string;
  participantId: string;
  speaker: string;
  /** Where speech is, in seconds from the take's start (each utterance's span). */
  speech: { start: number; end: number }[];
  /** Seconds from the take start to the track's last packet. */
  durationS: number;
  /** The first chunk's plaintext (a known chunk, for leak scans). */
  firstChunk: Buffer;
}

export interface RecordedSession {
  sessionId: string;
  takeStartMs: number;
  tracks: RecordedTrack[];
}

const DURATIONS: Record<string, number> = { '0870': 7.1, '0880': 2.99, '0890': 5.3, '0920': 6.05, '0930': 3.29 };

/** Path and length of utterance `id` (e.g. '0870'). */
export function speechFile(id: string): { file: string; seconds: number } {
  return { file: path.join(SPEECH_DIR, `sense_and_sensibility_01_austen_64kb-${id}.wav`), seconds: DURATIONS[id] ?? 0 };
}

async function opusRtp(file: string, baseUs: bigint): Promise<{ meta: ChunkMeta; records: RtpRecord[] }> {
  const { meta, records } = await captureRtp(
    ['-i', file, '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip'],
    { baseUs },
  );
  return { meta, records };
}

/**
 * Stores a captured track the way the SFU's capture does: `records` cut into chunks of
 * `chunkS` seconds of arrival time, each sealed under the session `key` and put with its
 * metadata row. Returns the first chunk's plain (unsealed) bytes.
 */
export async function storeChunks(
  store: CaptureStore,
  key: Buffer,
  ids: { orgId: string; sessionId: string; trackId: string },
  meta: ChunkMeta,
  records: readonly RtpRecord[],
  chunkS: number,
): Promise<Buffer | undefined> {
  let seq = 0;
  let firstChunk: Buffer | undefined;
  for (let from = 0; from < records.length;) {
    const limit = (records[from]?.arrivalUs ?? 0n) + BigInt(Math.round(chunkS * 1e6));
    let to = from;
    while (to < records.length && (records[to]?.arrivalUs ?? 0n) < limit) to++;
    const chunk = records.slice(from, to);
    const plain = encodeChunk(meta, chunk);
    firstChunk ??= plain;
    const sealed = sealChunk(
      key,
      { organizationId: ids.orgId, sessionId: ids.sessionId, trackId: ids.trackId, seq },
      plain,
    );
    if (!chunk.length) break;
    await store.putChunk(ids.orgId, ids.sessionId, sealed, chunkRecord({ ...ids, seq }, sealed, chunk));
    seq++;
    from = to;
  }
  return firstChunk;
}

/**
 * Records a session with one audio track per plan (host first, then guests by link), and
 * ends it. Chunks are `chunkS` seconds of arrival time.
 */
export async function recordSession(
  ts: TestServer,
  owner: HttpClient,
  orgId: string,
  plans: TrackPlan[],
  chunkS = 2,
): Promise<RecordedSession> {
  // The joins below are placed on an SFU node: one is registered (no media is sent through it).
  await ts.fleetNode();
  const created = await owner.post(`/api/orgs/${orgId}/sessions`, { title: 'Interview' });
  if (created.status !== 201) throw new Error(`create session: ${created.status}`);
  const session = created.body as { id: string; guest_url: string };
  const guestToken = new URL(session.guest_url).hash.replace(/^#g=/, '');
  const { deps } = ts.running;
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const participants: string[] = [];
  for (const [i, plan] of plans.entries()) {
    const res =
      i === 0
        ? await owner.post(`/api/orgs/${orgId}/sessions/${session.id}/join`, { display_name: plan.speaker })
        : await ts
            .client()
            .post('/api/join', { session_id: session.id, token: guestToken, display_name: plan.speaker });
    if (res.status !== 200) throw new Error(`join: ${res.status} ${JSON.stringify(res.body)}`);
    participants.push((res.body as { participant_id: string }).participant_id);
  }
  const key = await store.sessionKey(orgId, session.id);
  const takeStartMs = Date.now() - 60_000;
  const take = await store.startTake(orgId, session.id, participants[0] ?? null, new Date(takeStartMs));
  const tracks: RecordedTrack[] = [];
  let endMs = takeStartMs;
  for (const [i, plan] of plans.entries()) {
    const participantId = participants[i] ?? '';
    let meta: ChunkMeta | undefined;
    const records: RtpRecord[] = [];
    const speech: { start: number; end: number }[] = [];
    for (const u of plan.utterances) {
      const s = speechFile(u.file);
      const captured = await opusRtp(s.file, BigInt(takeStartMs + Math.round(u.atS * 1000)) * 1000n);
      meta = captured.meta;
      records.push(...captured.records);
      speech.push({ start: u.atS, end: u.atS + s.seconds });
    }
    if (!meta) throw new Error('a track needs an utterance');
    const firstUs = records[0]?.arrivalUs ?? 0n;
    const trackId = await store.openTrack(orgId, session.id, {
      takeId: take.takeId,
      participantId,
      kind: 'audio',
      mimeType: meta.mimeType,
      clockRate: meta.clockRate,
      payloadType: meta.payloadType,
      producerId: `p${i}`,
      startedAt: new Date(Number(firstUs / 1000n)),
    });
    const firstChunk = await storeChunks(store, key, { orgId, sessionId: session.id, trackId }, meta, records, chunkS);
    const lastMs = Number((records[records.length - 1]?.arrivalUs ?? 0n) / 1000n);
    endMs = Math.max(endMs, lastMs);
    await store.closeTrack(orgId, session.id, trackId, new Date(lastMs), 0);
    tracks.push({
      trackId,
      participantId,
      speaker: plan.speaker,
      speech,
      durationS: (lastMs - takeStartMs) / 1000,
      firstChunk: firstChunk ?? Buffer.alloc(0),
    });
  }
  key.fill(0);
  await store.stopTake(orgId, session.id, take.takeId, participants[0] ?? null, new Date(endMs));
  await store.endSession(orgId, session.id, participants[0] ?? null);
  return { sessionId: session.id, takeStartMs, tracks };
}

/** Polls the transcript endpoint until the run is done or failed (or `timeoutMs` passes). */
export async function waitForTranscript(
  client: HttpClient,
  orgId: string,
  sessionId: string,
  timeoutMs = 90_000,
  accept: (status: string) => boolean = (s) => s === 'done' || s === 'failed',
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/api/orgs/${orgId}/sessions/${sessionId}/transcript`);
    const body = res.body as {
      status: string;
      run: { status: string; progress: number; error: unknown } | null;
      transcript: unknown;
    };
    if (accept(body.status)) return body;
    if (Date.now() > until)
      throw new Error(`transcript still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body.run)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
