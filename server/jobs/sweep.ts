/**
 * The lifecycle sweep and its schedule. One sweep, every LIFECYCLE_SWEEP_INTERVAL_S
 * (default hourly): retention erasure, org deletion reminders and deletions, account purges,
 * the audit purge (12 months after an org's deletion), expired exports, interrupted export
 * jobs, then the media sweep. The schedule lives in Postgres (lifecycle_schedule), so with
 * several processes exactly one claims each run (and an advisory lock keeps a long run from
 * overlapping the next, server/core/db/singleRun.ts), and GET .../retention can say when the
 * next one happens. What is due is decided by the database's clock (app.now(), which the
 * test clock moves); deps.clock only dates the certificates and the schedule.
 */
import { withUser } from '../core/db/pool.ts';
import { runAlone, SINGLE_RUN } from '../core/db/singleRun.ts';
import * as repo from '../repositories/lifecycle.ts';
import { eraseExpired, SWEEP } from '../services/retention.ts';
import { deleteDueOrgs, sendReminders } from '../services/orgDeletion.ts';
import { purgeDue } from '../services/accounts.ts';
import { expireExports, failStaleExports } from '../services/export.ts';
import { sweepErased } from '../services/sessions.ts';
import { sweepErasedTranscripts } from '../services/transcripts.ts';
import { sealPrivateSessions } from '../services/privateMode.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import * as webhookRepo from '../repositories/webhooks.ts';

/** How long audit entries of a deleted org are kept (app.purge_orphaned_audit). */
export const AUDIT_KEEP_DAYS = 365;
/** How often each process checks whether a sweep is due (real time). */
const TICK_MS = 30_000;

export interface SweepResult {
  retention_erased: number;
  reminders_sent: number;
  orgs_deleted: number;
  accounts_purged: number;
  audit_purged: number;
  exports_expired: number;
  exports_interrupted: number;
  media_swept: number;
  webhook_log_pruned: number;
  private_sealed: number;
}

const running = new WeakMap<Deps, Promise<SweepResult>>();

/**
 * Runs one sweep now (whatever the schedule says), at `deps.clock.now()`. Calls in one
 * process are serialised; each step is idempotent, so two processes overlapping is safe.
 */
export function runLifecycleSweep(deps: Deps): Promise<SweepResult> {
  const previous = running.get(deps) ?? Promise.resolve(undefined);
  const next = previous.catch(() => undefined).then(() => sweepOnce(deps));
  running.set(deps, next);
  return next;
}

async function step(name: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    log.error('lifecycle sweep step failed', { step: name, ...errorFields(err) });
    return 0;
  }
}

async function sweepOnce(deps: Deps): Promise<SweepResult> {
  const now = deps.clock.now();
  const result: SweepResult = {
    exports_interrupted: await step('exports_interrupted', () => failStaleExports(deps)),
    retention_erased: await step('retention', () => eraseExpired(deps, now)),
    reminders_sent: await step('reminders', () => sendReminders(deps)),
    orgs_deleted: await step('org_deletion', () => deleteDueOrgs(deps, now)),
    accounts_purged: await step('account_purge', () => purgeDue(deps)),
    audit_purged: await step('audit_purge', () => withUser(deps.db.sweep, null, (tx) => repo.purgeOrphanedAudit(tx))),
    exports_expired: await step('exports_expired', () => expireExports(deps)),
    webhook_log_pruned: await step('webhook_log', () =>
      withUser(deps.db.sweep, null, (tx) => webhookRepo.pruneLog(tx)),
    ),
    private_sealed: await step('private_mode', async () => {
      // 50 at a time until none is left (or only ones that fail, logged, for the next sweep).
      let total = 0;
      for (let n = await sealPrivateSessions(deps); n > 0; n = await sealPrivateSessions(deps)) total += n;
      return total;
    }),
    media_swept: await step('media', async () => {
      let total = 0;
      for (let n = await sweepErased(deps); n > 0; n = await sweepErased(deps)) total += n;
      for (let n = await sweepErasedTranscripts(deps); n > 0; n = await sweepErasedTranscripts(deps)) total += n;
      return total;
    }),
  };
  log.info('lifecycle sweep', { ...result });
  return result;
}

/** The running scheduler; close() stops it and waits for a sweep in progress. */
export interface LifecycleScheduler {
  /** Checks the schedule now and runs the sweep when due (what the timer does). */
  tick(): Promise<SweepResult | undefined>;
  close(): Promise<void>;
}

/** Starts the scheduler: every TICK_MS, claims the sweep when its time has come. */
export function startLifecycleScheduler(deps: Deps): LifecycleScheduler {
  const intervalMs = deps.config.lifecycle.sweepIntervalS * 1000;
  let current: Promise<unknown> = Promise.resolve();
  let closed = false;
  const tick = async (): Promise<SweepResult | undefined> => {
    const now = deps.clock.now();
    const claimed = await withUser(deps.db.sweep, null, async (tx) => {
      await repo.ensureSweepSchedule(tx, SWEEP, new Date(now.getTime() + intervalMs));
      return repo.claimSweep(tx, SWEEP, now, new Date(now.getTime() + intervalMs));
    });
    if (!claimed) return undefined;
    // The schedule gives each run to one process; the lock keeps a run that outlasts its
    // interval from overlapping the next one, claimed elsewhere.
    return runAlone(deps.db.sweep, SINGLE_RUN.lifecycleSweep, async () => {
      const r = await runLifecycleSweep(deps);
      await withUser(deps.db.sweep, null, (tx) => repo.recordSweepResult(tx, SWEEP, { ...r }));
      return r;
    });
  };
  const timer = setInterval(
    () => {
      if (closed) return;
      current = tick().catch((err: unknown) => log.error('lifecycle sweep failed', errorFields(err)));
    },
    Math.min(TICK_MS, intervalMs),
  );
  timer.unref();
  // The first schedule row, so the next sweep's time is known from the start.
  current = withUser(deps.db.sweep, null, (tx) =>
    repo.ensureSweepSchedule(tx, SWEEP, new Date(deps.clock.now().getTime() + intervalMs)),
  ).catch((err: unknown) => log.error('lifecycle schedule failed', errorFields(err)));
  return {
    tick,
    async close() {
      closed = true;
      clearInterval(timer);
      await current;
    },
  };
}
