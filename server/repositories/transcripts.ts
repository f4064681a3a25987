/**
 * SQL for transcription: settings, runs and transcripts (tenant tables, read under RLS),
 * the worker's security-definer functions (sql/060_transcription.sql), and the owner-side
 * queue maintenance the jobs process runs.
 */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { WrappedKey } from '../../lib/keys/KeyProvider.ts';

export interface SettingsRow {
  auto: boolean;
  language: string;
  updated_at: Date | null;
}

/** The org's settings, or the defaults when it never changed them. */
export async function getSettings(db: Queryable, orgId: string): Promise<SettingsRow> {
  const row = await maybeOne<SettingsRow>(
    db,
    `select auto, language, updated_at from transcription_settings where organization_id = $1::uuid`,
    [orgId],
  );
  return row ?? { auto: true, language: 'auto', updated_at: null };
}

/** Creates or replaces the org's settings (admins, by RLS). */
export function upsertSettings(
  db: Queryable,
  orgId: string,
  userId: string,
  auto: boolean,
  language: string,
): Promise<SettingsRow> {
  return one<SettingsRow>(
    db,
    `insert into transcription_settings (organization_id, auto, language, updated_by)
     values ($1::uuid, $2::boolean, $3::text, $4::uuid)
     on conflict (organization_id) do update
        set auto = excluded.auto, language = excluded.language, updated_by = excluded.updated_by, updated_at = now()
     returning auto, language, updated_at`,
    [orgId, auto, language, userId],
  );
}

export interface RunRow {
  id: string;
  session_id: string;
  reason: 'auto' | 'rerun';
  status: 'queued' | 'running' | 'done' | 'failed';
  stage: string | null;
  progress: number;
  attempts: number;
  language: string;
  error_code: string | null;
  error_message: string | null;
  model: string | null;
  device: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const RUN_COLS = `id, session_id, reason, status, stage, progress, attempts, language, error_code, error_message,
  model, device, created_at, started_at, finished_at`;

/** The session's most recent run. */
export function latestRun(db: Queryable, sessionId: string): Promise<RunRow | undefined> {
  return maybeOne<RunRow>(
    db,
    `select ${RUN_COLS} from transcription_runs where session_id = $1::uuid order by created_at desc, id limit 1`,
    [sessionId],
  );
}

export interface TranscriptRow {
  run_id: string;
  object_key: string;
  model: string;
  language: string | null;
  segment_count: number;
  speaker_count: number;
  created_at: Date;
}

/** The session's newest transcript (of a finished run). */
export function latestTranscript(db: Queryable, sessionId: string): Promise<TranscriptRow | undefined> {
  return maybeOne<TranscriptRow>(
    db,
    `select run_id, object_key, model, language, segment_count, speaker_count, created_at
       from transcripts where session_id = $1::uuid order by created_at desc, run_id limit 1`,
    [sessionId],
  );
}

/** Queues a new run (API, a member). @throws P0001 `transcription_in_progress`, `session_open`, `not_found`. */
export async function rerun(db: Queryable, sessionId: string): Promise<string> {
  const r = await one<{ id: string }>(db, `select app.transcription_rerun($1::uuid) as id`, [sessionId]);
  return r.id;
}

// ---- worker (app role, tenant set from the job payload) ----

export interface Claim {
  attempt: number;
  session_id: string;
  language: string;
}

/** Claims the run for this attempt under a lease; undefined when it needs no work. */
export function claimRun(db: Queryable, runId: string, workerId: string, leaseS: number): Promise<Claim | undefined> {
  return maybeOne<Claim>(
    db,
    `select attempt, session_id, language from app.transcription_claim($1::uuid, $2::text, $3::int)`,
    [runId, workerId, leaseS],
  );
}

export interface SourceRow {
  wrapped_key: WrappedKey | null;
  session_status: string;
  track_id: string | null;
  participant_id: string;
  display_name: string;
  take_seq: number;
  take_started_at: Date;
  started_at: Date;
  ended_at: Date | null;
  mime_type: string;
  payload_type: number;
  clock_rate: number;
}

/** The session's wrapped key and audio tracks (one row with null track_id when it has none). */
export function sourceRows(db: Queryable, runId: string): Promise<SourceRow[]> {
  return many<SourceRow>(db, `select * from app.transcription_source($1::uuid)`, [runId]);
}

/** A track's chunks (sequence and object key) in order. */
export function chunkRows(
  db: Queryable,
  runId: string,
  trackId: string,
): Promise<{ seq: number; object_key: string }[]> {
  return many(db, `select seq, object_key from app.transcription_chunks($1::uuid, $2::uuid)`, [runId, trackId]);
}

/** Renews the lease and records progress; false when this attempt no longer holds the run. */
export async function heartbeat(
  db: Queryable,
  h: {
    runId: string;
    workerId: string;
    attempt: number;
    leaseS: number;
    stage: string | null;
    progress: number | null;
  },
): Promise<boolean> {
  const r = await one<{ ok: boolean }>(
    db,
    `select app.transcription_heartbeat($1::uuid, $2::text, $3::int, $4::int, $5::text, $6::real) as ok`,
    [h.runId, h.workerId, h.attempt, h.leaseS, h.stage, h.progress],
  );
  return r.ok;
}

export interface FinishArgs {
  runId: string;
  attempt: number;
  objectKey: string;
  model: string;
  device: string;
  language: string;
  segments: number;
  speakers: number;
  audioSeconds: number;
  speechSeconds: number;
}

/** Records the transcript and marks the run done; false when the run already had one. */
export async function finishRun(db: Queryable, f: FinishArgs): Promise<boolean> {
  const r = await one<{ ok: boolean }>(
    db,
    `select app.transcription_finish($1::uuid, $2::int, $3::text, $4::text, $5::text, $6::text,
            $7::int, $8::int, $9::real, $10::real) as ok`,
    [
      f.runId,
      f.attempt,
      f.objectKey,
      f.model,
      f.device,
      f.language,
      f.segments,
      f.speakers,
      f.audioSeconds,
      f.speechSeconds,
    ],
  );
  return r.ok;
}

/** Records a failed attempt: final fails the run, otherwise it waits for the queue's retry. */
export async function failRun(
  db: Queryable,
  f: { runId: string; workerId: string; attempt: number; code: string; message: string; final: boolean },
): Promise<void> {
  await exec(db, `select app.transcription_fail($1::uuid, $2::text, $3::int, $4::text, $5::text, $6::boolean)`, [
    f.runId,
    f.workerId,
    f.attempt,
    f.code,
    f.message,
    f.final,
  ]);
}

// ---- queue maintenance (owner connection, jobs process) ----

/** Hands runs whose lease lapsed back to the queue, except those of `liveWorkers` (the caller's own). */
export async function requeueExpired(db: Queryable, liveWorkers: readonly string[]): Promise<number> {
  return (await one<{ n: number }>(db, `select app.transcription_requeue_expired($1::text[]) as n`, [liveWorkers])).n;
}

/** Gives queued runs without a job one; fails runs whose job ran out of attempts. */
export async function reconcileJobs(db: Queryable, maxAttempts: number): Promise<number> {
  return (await one<{ n: number }>(db, `select app.transcription_reconcile_jobs($1::int) as n`, [maxAttempts])).n;
}

export interface QueueStatsRow {
  queue: string;
  queued: number;
  running: number;
  oldest_s: number;
}

/** Jobs waiting and running per task, and the age of the oldest job due, from the queue's own view. */
export function queueStats(db: Queryable): Promise<QueueStatsRow[]> {
  return many<QueueStatsRow>(
    db,
    `select task_identifier as queue,
            count(*) filter (where locked_at is null and attempts < max_attempts)::int as queued,
            count(*) filter (where locked_at is not null)::int as running,
            coalesce(extract(epoch from now() - min(run_at) filter (where locked_at is null and attempts < max_attempts
                                                                          and run_at <= now())), 0)::float8 as oldest_s
       from graphile_worker.jobs group by task_identifier`,
  );
}

// ---- sweep of erased sessions (any org) ----

/** Erased sessions (any org) that still have transcription rows. */
export function erasedPendingSweep(
  db: Queryable,
  limit: number,
): Promise<{ organization_id: string; session_id: string }[]> {
  return many(db, `select organization_id, session_id from app.erased_transcripts_pending_sweep($1::int)`, [limit]);
}

/** Removes an erased session's runs and transcripts; returns how many runs. */
export async function sweepSessionTranscripts(db: Queryable, sessionId: string): Promise<number> {
  return (await one<{ n: number }>(db, `select app.sweep_session_transcripts($1::uuid) as n`, [sessionId])).n;
}
