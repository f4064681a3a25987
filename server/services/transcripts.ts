/**
 * Transcripts for members: status of the latest run, the newest transcript (opened in
 * memory with the session key), exports, re-runs, and the org's transcription settings
 * (admins). Also the sweep that removes transcript metadata of erased sessions.
 */
import { z } from 'zod';
import { outsideTransaction, withTenant, withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/transcripts.ts';
import * as sessions from '../repositories/sessions.ts';
import * as audit from '../repositories/audit.ts';
import { notFound } from '../core/errors.ts';
import { openBlob } from '../../lib/chunks/seal.ts';
import { exportTranscript as render, type ExportFormat, type Transcript } from '../transcription/transcript.ts';
import { privateSession } from './privateRefusal.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireAdmin, tenantScope } from '../policies.ts';

const scope = tenantScope;
const sessionNotFound = () => notFound('session_not_found', 'No such session.');

const word = z.object({ start: z.number(), end: z.number(), text: z.string() });
const transcriptSchema = z.object({
  version: z.literal(1),
  run_id: z.string(),
  session_id: z.string(),
  model: z.string(),
  device: z.string(),
  language: z.string(),
  created_at: z.string(),
  audio_seconds: z.number(),
  speech_seconds: z.number(),
  speakers: z.array(z.object({ participant_id: z.string(), name: z.string() })),
  segments: z.array(
    z.object({
      start: z.number(),
      end: z.number(),
      speaker: z.string(),
      participant_id: z.string(),
      track_id: z.string(),
      take: z.number(),
      text: z.string(),
      words: z.array(word).optional(),
    }),
  ),
});

/** What a member sees of a run. */
export interface RunView {
  id: string;
  status: repo.RunRow['status'];
  stage: string | null;
  progress: number;
  attempts: number;
  reason: string;
  error: { code: string; message: string } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const presentRun = (r: repo.RunRow): RunView => ({
  id: r.id,
  status: r.status,
  stage: r.stage,
  progress: Math.round(r.progress * 100) / 100,
  attempts: r.attempts,
  reason: r.reason,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  created_at: r.created_at.toISOString(),
  started_at: r.started_at?.toISOString() ?? null,
  finished_at: r.finished_at?.toISOString() ?? null,
});

/** Reads and opens the session's newest transcript; undefined when it has none. */
async function loadTranscript(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  onFound?: (tx: Parameters<typeof audit.insertAudit>[0]) => Promise<void>,
) {
  const found = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await sessions.findSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    // Sequential: one query at a time on the transaction's client.
    const run = await repo.latestRun(tx, sessionId);
    const transcript = await repo.latestTranscript(tx, sessionId);
    // Private mode: the server cannot open it; exports refuse, the view says so.
    if (transcript && s.private_sealed_at && onFound) throw privateSession();
    if (transcript && s.wrapped_key) await onFound?.(tx);
    return { run, transcript, wrapped: s.wrapped_key, sealed: s.private_sealed_at !== null };
  });
  let doc: Transcript | undefined;
  const wrapped = found.wrapped;
  if (found.transcript && wrapped) {
    // KMS and storage round trips happen after the transaction, on no pooled connection.
    const key = await outsideTransaction(() =>
      deps.storage.keyProvider.decrypt(wrapped, { organizationId: orgId, sessionId }),
    );
    try {
      const sealed = await deps.storage.objectStore.get(found.transcript.object_key);
      const plain = openBlob(
        key,
        { organizationId: orgId, sessionId, kind: 'transcript', name: found.transcript.run_id },
        sealed,
      );
      doc = transcriptSchema.parse(JSON.parse(plain.toString('utf8')));
    } finally {
      key.fill(0);
    }
  }
  return { run: found.run, doc, sealed: found.sealed };
}

/**
 * The session's transcription status (`none` before any run) and, once one finished, the
 * merged transcript: segments with speaker, start and end (seconds) and text.
 */
export async function getTranscript(deps: Deps, user: SignedInUser, orgId: string, sessionId: string) {
  const { run, doc, sealed } = await loadTranscript(deps, user, orgId, sessionId);
  return {
    session_id: sessionId,
    /** Private mode: the transcript exists sealed; only a key holder's browser opens it. */
    private: sealed,
    status: run?.status ?? 'none',
    run: run ? presentRun(run) : null,
    transcript: doc
      ? {
          run_id: doc.run_id,
          language: doc.language,
          model: doc.model,
          created_at: doc.created_at,
          audio_seconds: doc.audio_seconds,
          speech_seconds: doc.speech_seconds,
          speakers: doc.speakers,
          segments: doc.segments,
        }
      : null,
  };
}

/**
 * The newest transcript as a file: txt, srt, vtt or json.
 * @throws AppError 404 `transcript_not_found` before the first run finished.
 */
export async function exportTranscript(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  format: ExportFormat,
) {
  const { doc } = await loadTranscript(deps, user, orgId, sessionId, (tx) =>
    audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'transcript.exported',
      details: { session_id: sessionId, format },
    }),
  );
  if (!doc) throw notFound('transcript_not_found', 'This session has no transcript yet.');
  const out = render(doc, format);
  return { ...out, filename: `transcript-${sessionId.slice(0, 8)}.${format}` };
}

/**
 * Queues a new transcription of an ended session (e.g. after a better model was installed).
 * @throws AppError 409 `transcription_in_progress` while one is queued or running, `session_open`.
 */
export async function rerun(deps: Deps, user: SignedInUser, orgId: string, sessionId: string): Promise<RunView> {
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await sessions.findSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    // Re-running needs the data key; in private mode only a key holder's browser has it.
    if (s.private_sealed_at) throw privateSession();
    await repo.rerun(tx, sessionId);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'transcript.rerun',
      details: { session_id: sessionId },
    });
    const run = await repo.latestRun(tx, sessionId);
    if (!run) throw sessionNotFound();
    return presentRun(run);
  });
}

const presentSettings = (s: repo.SettingsRow) => ({
  auto: s.auto,
  language: s.language,
  updated_at: s.updated_at?.toISOString() ?? null,
});

/** The org's transcription settings (admins). */
export async function getSettings(deps: Deps, user: SignedInUser, orgId: string, role: Role) {
  requireAdmin(role);
  return presentSettings(await withTenant(deps.db.app, scope(orgId, user), (tx) => repo.getSettings(tx, orgId)));
}

/** Changes whether ended sessions are transcribed automatically, and the language (admins). */
export async function updateSettings(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  change: { auto?: boolean | undefined; language?: string | undefined },
) {
  requireAdmin(role);
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const before = await repo.getSettings(tx, orgId);
    const after = await repo.upsertSettings(
      tx,
      orgId,
      user.id,
      change.auto ?? before.auto,
      change.language ?? before.language,
    );
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'transcription.settings_changed',
      details: { auto: after.auto, language: after.language },
    });
    return presentSettings(after);
  });
}

/** Removes transcript metadata of erased sessions (any org; their objects went with the media sweep). */
export async function sweepErasedTranscripts(deps: Deps, limit = 50): Promise<number> {
  const pending = await withUser(deps.db.sweep, null, (tx) => repo.erasedPendingSweep(tx, limit));
  for (const p of pending) {
    // Transcripts live under the session's prefix; this also covers sessions without media.
    await deps.storage.objectStore.deletePrefix(`orgs/${p.organization_id}/sessions/${p.session_id}/transcripts/`);
    await withUser(deps.db.sweep, null, (tx) => repo.sweepSessionTranscripts(tx, p.session_id));
  }
  return pending.length;
}
