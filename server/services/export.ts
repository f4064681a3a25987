/**
 * Whole-organisation export (owners and admins): a job that streams the org's archive
 * (server/services/archive.ts) through age encryption to the recipient the requester gave
 * (an X25519 `age1…` key or a passphrase) straight into object storage, with progress in
 * export_jobs. The file can be downloaded until it expires (EXPORT_TTL_S, default 24 h;
 * the lifecycle sweep then deletes it); each download is audited. A passphrase lives only in
 * this process's memory until the job has run; it is never stored.
 *
 * Jobs run in the process that accepted them, one at a time (a simple in-process runner), each
 * in a worker thread of its own (./exportWorker.ts) with a bounded V8 heap; this thread keeps
 * the job row, progress and audit. A job whose process died is marked failed (`interrupted`)
 * by the sweep and can be requested again.
 */
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { outsideTransaction, withTenant, withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycleExport.ts';
import * as audit from '../repositories/audit.ts';
import { AppError, conflict, notFound } from '../core/errors.ts';
import type { AgeRecipient } from '../../lib/archive/ageStream.ts';
import {
  errorOf,
  serialize,
  type ExportParentMessage,
  type ExportWorkerData,
  type ExportWorkerMessage,
  type QueuedJob,
} from './exportProtocol.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireAdmin } from '../policies.ts';
import { exportFailedEmail, exportReadyEmail } from './lifecycleEmails.ts';

export interface ExportView {
  id: string;
  status: repo.ExportJobRow['status'];
  recipient_kind: 'x25519' | 'passphrase';
  recipient: string | null;
  sessions_total: number;
  sessions_done: number;
  bytes_written: number;
  /** The same as bytes_written (the dashboard's name for it). */
  bytes_done: number;
  size_bytes: number | null;
  error_code: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  expires_at: string | null;
  download_url: string | null;
}

const present = (j: repo.ExportJobRow): ExportView => ({
  id: j.id,
  status: j.status,
  recipient_kind: j.recipient_kind,
  recipient: j.recipient,
  sessions_total: j.sessions_total,
  sessions_done: j.sessions_done,
  bytes_written: Number(j.bytes_written),
  bytes_done: Number(j.bytes_written),
  size_bytes: j.size_bytes === null ? null : Number(j.size_bytes),
  error_code: j.error_code,
  created_at: j.created_at.toISOString(),
  started_at: j.started_at?.toISOString() ?? null,
  finished_at: j.finished_at?.toISOString() ?? null,
  expires_at: j.expires_at?.toISOString() ?? null,
  download_url: j.status === 'done' ? `/api/orgs/${j.organization_id}/exports/${j.id}/download` : null,
});

const requireExporter = (role: Role) => requireAdmin(role, 'Only owners and admins can export the organization.');

/**
 * V8 heap limits of an export's worker thread. The export's live data is small and flat
 * (one chunk, one mux window, stream buffers), but an unbounded heap grows lazily the longer
 * an export runs (old space about +17% over a 1 GB export, young space to its own maximum),
 * so its memory would track the org's size and the API process's V8 flags. These bound it in
 * the product itself: 96 MB of old generation (several times what an export keeps live) and
 * 16 MB of young generation (the size V8 starts with on 64-bit, so it never grows mid-export).
 */
const EXPORT_MAX_OLD_GENERATION_MB = 96;
const EXPORT_MAX_YOUNG_GENERATION_MB = 16;

/** Per-process queue: one export at a time, in order; `running` is the current job's worker. */
const queues = new WeakMap<Deps, { tail: Promise<void>; running?: Worker; stopped?: boolean }>();

/** Waits for this process's queued and running exports (shutdown, tests). */
export async function exportsIdle(deps: Deps): Promise<void> {
  await queues.get(deps)?.tail;
}

/**
 * Shutdown: stops the running export's worker and starts no queued one. Their jobs stay
 * unfinished, like those of a process that died; the sweep marks them `interrupted`.
 */
export async function stopExports(deps: Deps): Promise<void> {
  const q = queues.get(deps);
  if (!q) return;
  q.stopped = true;
  await q.running?.terminate();
  await q.tail;
}

function enqueue(deps: Deps, job: QueuedJob): void {
  const q = queues.get(deps) ?? { tail: Promise.resolve() };
  q.tail = q.tail.then(() => (q.stopped ? undefined : runExport(deps, job, q)));
  queues.set(deps, q);
}

/**
 * Starts an export. @throws AppError 403 `admin_required`, 409 `export_in_progress`.
 */
export async function createExport(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  to: AgeRecipient,
): Promise<ExportView> {
  requireExporter(role);
  const row = await withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    if (await repo.activeExportJob(tx, orgId))
      throw conflict('export_in_progress', 'An export of this organization is already running.');
    const j = await repo.insertExportJob(tx, {
      orgId,
      userId: user.id,
      kind: to.kind,
      recipient: to.kind === 'x25519' ? to.recipient : null,
      now: deps.clock.now(),
    });
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'export.requested',
      details: { export_id: j.id, recipient_kind: to.kind },
    });
    return j;
  });
  // The job runs on the jobs pool, where no key is proven: it must not name the key as a user.
  // It starts only once the request's transaction has committed the job row: started before,
  // its 'running' update could miss the row and the job end as done with 0 of 0 sessions.
  await outsideTransaction(() =>
    Promise.resolve(enqueue(deps, { id: row.id, orgId, userId: user.apiKey ? null : user.id, to })),
  );
  return present(row);
}

export async function listExports(deps: Deps, user: SignedInUser, orgId: string, role: Role): Promise<ExportView[]> {
  requireExporter(role);
  const rows = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) => repo.listExportJobs(tx, orgId));
  return rows.map(present);
}

export async function getExport(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<ExportView> {
  requireExporter(role);
  const row = await withTenant(deps.db.app, { orgId, userId: user.id }, (tx) => repo.findExportJob(tx, orgId, id));
  if (!row) throw notFound('export_not_found', 'No such export.');
  return present(row);
}

/**
 * The encrypted file, audited. @throws AppError 404 `export_not_found`, 409
 * `export_not_ready`, 410 `export_expired`.
 */
export async function downloadExport(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<{ body: Readable; size: number; filename: string }> {
  requireExporter(role);
  const row = await withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const j = await repo.findExportJob(tx, orgId, id);
    if (!j) throw notFound('export_not_found', 'No such export.');
    if (j.status === 'expired' || (j.expires_at && j.expires_at <= deps.clock.now()))
      throw new AppError(410, 'export_expired', 'This export has expired; request a new one.');
    if (j.status !== 'done' || !j.object_key) throw conflict('export_not_ready', 'This export is not finished.');
    await repo.countExportDownload(tx, id);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'export.downloaded',
      details: { export_id: id },
    });
    return j;
  });
  const body = await deps.storage.objectStore.getStream(row.object_key ?? '');
  return {
    body,
    size: Number(row.size_bytes),
    filename: `recorder-export-${orgId.slice(0, 8)}-${row.created_at.toISOString().slice(0, 10)}.tar.age`,
  };
}

/** Object key of an export's file (under the org's prefix, so org deletion removes it). */
export function exportObjectKey(orgId: string, id: string): string {
  return `orgs/${orgId}/exports/${id}.tar.age`;
}

async function runExport(deps: Deps, job: QueuedJob, q: { running?: Worker }): Promise<void> {
  const scope = { orgId: job.orgId, userId: job.userId };
  const tx = <T>(fn: (db: pg.PoolClient) => Promise<T>) => withTenant(deps.db.jobs, scope, fn);
  try {
    const total = await tx((db) => repo.countSessions(db, job.orgId));
    await tx((db) => repo.markExportRunning(db, job.id, deps.clock.now(), total.n));
    const key = exportObjectKey(job.orgId, job.id);
    const { sessionsDone, bytes } = await inWorker(deps, { job, key }, q, (p) =>
      tx((db) => repo.recordExportProgress(db, job.id, deps.clock.now(), p.sessionsDone, p.bytes)),
    );
    const now = deps.clock.now();
    const expiresAt = new Date(now.getTime() + deps.config.lifecycle.exportTtlS * 1000);
    const requester = await tx(async (db) => {
      await repo.markExportDone(db, job.id, now, key, bytes, expiresAt);
      await audit.insertAudit(db, {
        orgId: job.orgId,
        actorUserId: job.userId,
        actorEmail: null,
        action: 'export.completed',
        details: { export_id: job.id, size_bytes: bytes, sessions: sessionsDone },
      });
      // A key-requested export has no person to mail.
      return job.userId ? repo.exportRequester(db, job.orgId, job.userId) : undefined;
    });
    // After commit: the requester learns it is ready (no SMTP inside the transaction).
    if (requester)
      deps.mailer.sendInBackground(
        exportReadyEmail(deps.config, requester.email, requester.org_name, job.orgId, expiresAt),
        'export_ready',
      );
  } catch (err) {
    const code =
      typeof (err as { code?: unknown }).code === 'string' && /^[a-z_]{1,64}$/.test((err as { code: string }).code)
        ? (err as { code: string }).code
        : 'export_failed';
    log.error('export failed', { error_code: code, ...errorFields(err) });
    const requester = await tx(async (db) => {
      await repo.markExportFailed(db, job.id, deps.clock.now(), code);
      return job.userId ? repo.exportRequester(db, job.orgId, job.userId) : undefined;
    }).catch((e: unknown) => log.error('export failure not recorded', errorFields(e)));
    if (requester)
      deps.mailer.sendInBackground(
        exportFailedEmail(deps.config, requester.email, requester.org_name, job.orgId, code),
        'export_failed',
      );
  }
}

/**
 * Runs the archive → age → object storage stream of one job in a worker thread
 * (./exportWorker.ts), writing its progress reports with `report`.
 * @throws what the stream threw, or an Error when the worker died (out of memory, terminated).
 */
function inWorker(
  deps: Deps,
  run: { job: QueuedJob; key: string },
  q: { running?: Worker },
  report: (p: { sessionsDone: number; bytes: number }) => Promise<void>,
): Promise<{ sessionsDone: number; bytes: number }> {
  const workerData: ExportWorkerData = {
    config: deps.config,
    ownerUrl: deps.db.urls.owner,
    appUrl: deps.db.urls.app,
    clockOffsetMs: deps.clock.now().getTime() - Date.now(),
    ...run,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./exportWorker.ts', import.meta.url), {
      workerData,
      resourceLimits: {
        maxOldGenerationSizeMb: EXPORT_MAX_OLD_GENERATION_MB,
        maxYoungGenerationSizeMb: EXPORT_MAX_YOUNG_GENERATION_MB,
      },
    });
    q.running = worker;
    let outcome: { ok: { sessionsDone: number; bytes: number } } | { err: Error } | undefined;
    worker.on('message', (m: ExportWorkerMessage) => {
      if (m.type === 'progress') {
        report(m).then(
          () => worker.postMessage({ type: 'ack' } satisfies ExportParentMessage),
          (err: unknown) => worker.postMessage({ type: 'ack', error: serialize(err) } satisfies ExportParentMessage),
        );
      } else if (m.type === 'done') outcome ??= { ok: { sessionsDone: m.sessionsDone, bytes: m.bytes } };
      else outcome ??= { err: errorOf(m.error) };
    });
    worker.on('error', (err: Error) => {
      outcome ??= { err };
    });
    worker.on('exit', (code) => {
      q.running = undefined;
      if (outcome && 'ok' in outcome && code === 0) resolve(outcome.ok);
      else reject(outcome && 'err' in outcome ? outcome.err : new Error(`export worker exited with code ${code}`));
    });
  });
}

/** The sweep: deletes expired export files. Returns how many. */
export async function expireExports(deps: Deps): Promise<number> {
  const rows = await withUser(deps.db.sweep, null, (tx) => repo.expiredExports(tx));
  for (const r of rows) {
    if (r.object_key) await deps.storage.objectStore.delete(r.object_key);
    await withUser(deps.db.sweep, null, (tx) => repo.markExportExpired(tx, r.id));
  }
  return rows.length;
}

/** The sweep: jobs with no heartbeat for 10 minutes (their process died) are failed. */
export async function failStaleExports(deps: Deps): Promise<number> {
  return withUser(deps.db.sweep, null, (tx) => repo.failStaleExports(tx));
}
