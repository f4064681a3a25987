/**
 * The `transcribe` job: claims the run under a lease (renewed by a timer while it works),
 * unwraps the session key, decrypts chunks in memory as the pipeline asks for them, seals
 * the transcript with the same key, stores it under the session's prefix and records it:
 * at most one transcript per run (the database refuses a second), so a retried or duplicated
 * attempt cannot produce two. Nothing decrypted is written anywhere but the sealed result.
 */
import { z } from 'zod';
import { withTenant } from '../core/db/pool.ts';
import * as repo from '../repositories/transcripts.ts';
import { sealBlob, SealError } from '../../lib/chunks/seal.ts';
import type { RtpRecord } from '../../lib/chunks/container.ts';
import { KeyError } from '../../lib/keys/KeyProvider.ts';
import { StorageError } from '../../lib/storage/ObjectStore.ts';
import { loadEngine } from '../transcription/engine.ts';
import { RunAbortedError, TranscriptionError } from '../transcription/errors.ts';
import { transcribeTracks, type Stage, type TrackInput } from '../transcription/pipeline.ts';
import { tidy, type Transcript } from '../transcription/transcript.ts';
import { log, errorFields } from '../core/logger.ts';
import { raisedError } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';
import { storedTrackRecords } from '../services/trackSource.ts';
import { sealPrivateSessions } from '../services/privateMode.ts';

/** The queue's task name. */
export const TRANSCRIBE_TASK = 'transcribe';

const payloadSchema = z.object({ run_id: z.uuid(), organization_id: z.uuid() });

/** The attempt as the queue sees it. */
export interface JobAttempt {
  /** The queue worker holding the job (its lock owner). */
  workerId: string;
  attempts: number;
  maxAttempts: number;
  /** Aborted when the worker shuts down: the run is handed back to the queue. */
  signal: AbortSignal;
}

/** Object key of a run's sealed transcript: under the session's prefix, so erasure sweeps it. */
export function transcriptObjectKey(orgId: string, sessionId: string, runId: string, attempt: number): string {
  return `orgs/${orgId}/sessions/${sessionId}/transcripts/${runId}-${attempt}.sealed`;
}

/** Maps a failure to the reason shown to users and whether a retry could help. */
function classify(err: unknown): { code: string; message: string; final: boolean } {
  if (err instanceof TranscriptionError) return { code: err.code, message: err.message, final: err.final };
  if (err instanceof SealError)
    return { code: 'recording_unreadable', message: 'The recording could not be decrypted.', final: true };
  if (err instanceof KeyError) {
    return err.code === 'key_provider_unavailable'
      ? { code: 'key_provider_unavailable', message: 'The key service is unavailable; retrying.', final: false }
      : { code: 'key_unavailable', message: 'The recording key could not be used.', final: true };
  }
  if (err instanceof StorageError) {
    return err.code === 'object_not_found'
      ? { code: 'chunk_missing', message: 'Part of the recording is missing from storage.', final: true }
      : { code: 'storage_unavailable', message: 'Storage is unavailable; retrying.', final: false };
  }
  return { code: 'internal', message: 'The transcription failed unexpectedly; retrying.', final: false };
}

/**
 * Works one `transcribe` job. Returns when the run is finished (done or failed for good, or
 * owned by another attempt); throws to have the queue retry it later with back-off.
 */
export async function runTranscribeJob(deps: Deps, rawPayload: unknown, job: JobAttempt): Promise<void> {
  const { run_id: runId, organization_id: orgId } = payloadSchema.parse(rawPayload);
  const cfg = deps.config.transcription;
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(deps.db.jobs, { orgId, userId: null }, fn);
  const claim = await tx((c) => repo.claimRun(c, runId, job.workerId, cfg.leaseS));
  if (!claim) return; // done, failed, or held by a live attempt elsewhere
  const { attempt, session_id: sessionId } = claim;
  const started = performance.now();
  const local = new AbortController();
  const onShutdown = () => local.abort();
  job.signal.addEventListener('abort', onShutdown);
  let lostLease = false;
  let stage: Stage | 'store' = 'decode';
  let progress = 0;
  const beat = async () => {
    const ok = await tx((c) =>
      repo.heartbeat(c, { runId, workerId: job.workerId, attempt, leaseS: cfg.leaseS, stage, progress }),
    );
    if (!ok && !lostLease) {
      lostLease = true;
      local.abort();
    }
  };
  const timer = setInterval(() => void beat().catch(() => undefined), Math.max(500, (cfg.leaseS * 1000) / 3));
  timer.unref();
  let key: Buffer | undefined;
  let outcome = 'failed';
  try {
    const rows = await tx((c) => repo.sourceRows(c, runId));
    const wrapped = rows[0]?.wrapped_key;
    if (!wrapped) throw new TranscriptionError('recording_erased', 'The recording was deleted.', true);
    const engine = await loadEngine(cfg);
    key = await deps.storage.keyProvider.decrypt(wrapped, { organizationId: orgId, sessionId });
    const sessionKey = key;
    const tracks = rows.filter((r) => r.track_id && r.mime_type.toLowerCase() === 'audio/opus');
    const origin = Math.min(...tracks.map((r) => r.take_started_at.getTime()));
    const inputs: TrackInput[] = tracks.map((r) => {
      const trackId = r.track_id ?? '';
      return {
        trackId,
        participantId: r.participant_id,
        speaker: r.display_name,
        take: r.take_seq,
        offsetS: (r.take_started_at.getTime() - origin) / 1000,
        originUs: BigInt(r.take_started_at.getTime()) * 1000n,
        payloadType: r.payload_type,
        async *records(): AsyncGenerator<RtpRecord[]> {
          const chunks = await tx((c) => repo.chunkRows(c, runId, trackId));
          yield* storedTrackRecords({
            objectStore: deps.storage.objectStore,
            key: sessionKey,
            track: { organizationId: orgId, sessionId, trackId },
            chunks,
          });
        },
      };
    });
    const result = await transcribeTracks(engine, inputs, {
      language: claim.language,
      signal: local.signal,
      onProgress: (s, f) => {
        // A new stage is reported at once (users see it move); progress within one rides the timer.
        const changed = s !== stage;
        stage = s;
        progress = Math.min(0.99, f);
        if (changed) void beat().catch(() => undefined);
      },
    });
    stage = 'store';
    const speakers = new Map(tracks.map((r) => [r.participant_id, r.display_name]));
    const doc: Transcript = {
      version: 1,
      run_id: runId,
      session_id: sessionId,
      model: engine.model.name,
      device: engine.model.device,
      language: result.language,
      created_at: deps.clock.now().toISOString(),
      audio_seconds: Math.round(result.audioSeconds * 1000) / 1000,
      speech_seconds: Math.round(result.speechSeconds * 1000) / 1000,
      speakers: [...speakers].map(([participant_id, name]) => ({ participant_id, name })),
      segments: tidy(result.segments),
    };
    const objectKey = transcriptObjectKey(orgId, sessionId, runId, attempt);
    const sealed = sealBlob(
      sessionKey,
      { organizationId: orgId, sessionId, kind: 'transcript', name: runId },
      Buffer.from(JSON.stringify(doc)),
    );
    sessionKey.fill(0);
    if (local.signal.aborted) throw new RunAbortedError();
    await deps.storage.objectStore.put(objectKey, sealed);
    const stored = await tx((c) =>
      repo.finishRun(c, {
        runId,
        attempt,
        objectKey,
        model: doc.model,
        device: doc.device,
        language: doc.language,
        segments: doc.segments.length,
        speakers: new Set(doc.segments.map((s) => s.participant_id)).size,
        audioSeconds: doc.audio_seconds,
        speechSeconds: doc.speech_seconds,
      }),
    ).catch(async (err: unknown) => {
      await deps.storage.objectStore.delete(objectKey).catch(() => undefined);
      if (raisedError(err)?.code === 'recording_erased')
        throw new TranscriptionError('recording_erased', 'The recording was deleted.', true);
      throw err;
    });
    if (!stored) await deps.storage.objectStore.delete(objectKey); // another attempt's transcript stands
    outcome = 'succeeded';
    // Private mode: with the transcript stored, the session's key is re-wrapped for key
    // holders now rather than at the next lifecycle sweep (which catches any left over).
    await sealPrivateSessions(deps, 10).catch((err: unknown) =>
      log.error('private mode: sealing after transcription failed', errorFields(err)),
    );
    log.info('transcription finished', {
      job: TRANSCRIBE_TASK,
      org: deps.metrics.orgLabel(orgId),
      count: doc.segments.length,
      provider: doc.device,
      duration_ms: Math.round(performance.now() - started),
    });
  } catch (err) {
    if (lostLease) {
      // Another attempt owns the run now. Failing (not completing) the job leaves the queue's
      // row to whoever holds it; a later retry of it finds the run taken and ends at once.
      log.warn('transcription attempt lost its lease; another attempt owns the run', { job: TRANSCRIBE_TASK });
      throw new Error('transcription attempt lost its lease', { cause: err });
    }
    const shutdown = err instanceof RunAbortedError || job.signal.aborted;
    const c = shutdown
      ? { code: 'worker_stopped', message: 'The worker stopped; the run will be retried.', final: false }
      : classify(err);
    const final = c.final || (!shutdown && job.attempts >= job.maxAttempts);
    deps.metrics.jobsFailed.inc({ queue: TRANSCRIBE_TASK, final: String(final) });
    await tx((cl) =>
      repo.failRun(cl, { runId, workerId: job.workerId, attempt, code: c.code, message: c.message, final }),
    );
    log.warn('transcription attempt failed', {
      job: TRANSCRIBE_TASK,
      org: deps.metrics.orgLabel(orgId),
      error_code: c.code,
      reason: final ? 'final' : 'retry',
      err_name: err instanceof Error ? err.name : typeof err,
    });
    if (!final) throw new Error(`transcription attempt failed: ${c.code}`, { cause: err });
  } finally {
    clearInterval(timer);
    job.signal.removeEventListener('abort', onShutdown);
    key?.fill(0);
    deps.metrics.jobDuration.observe({ queue: TRANSCRIBE_TASK, outcome }, (performance.now() - started) / 1000);
  }
}
