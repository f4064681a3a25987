/**
 * The job side's one starter, for composition roots (server/main.ts, server/jobs/main.ts,
 * standalone/start.ts): the queue worker (transcription) and the lifecycle scheduler
 * (retention, deletions, exports, and the media sweep, scheduled only there). Nothing else
 * in server/jobs is imported from outside it.
 */
import type { Deps } from '../core/context.ts';
import { log, errorFields } from '../core/logger.ts';
import { sweepErased } from '../services/sessions.ts';
import { startJobs } from './runner.ts';
import { startLifecycleScheduler } from './sweep.ts';

export interface BackgroundOptions {
  /** Works the job queue in this process (JOBS=on in the API or npm start; always in server/jobs/main.ts). */
  readonly queue: boolean;
  /** Runs the lifecycle scheduler; several processes may, the schedule in Postgres picks one per run. */
  readonly scheduler: boolean;
}

export interface Background {
  /**
   * Removes erased recordings' media now, after an erasure, instead of waiting for the
   * next lifecycle sweep. Never throws (a failure is logged; the sweep retries).
   */
  sweepErasedNow(): void;
  /** Stops the scheduler (waiting for a sweep in progress), then hands running jobs back to the queue. */
  stop(): Promise<void>;
}

/**
 * Starts what `opts` asks for on `deps`.
 * @throws when the queue's schema cannot be migrated (database unreachable).
 */
export async function startBackground(deps: Deps, opts: BackgroundOptions): Promise<Background> {
  const jobs = opts.queue ? await startJobs(deps, { ownerUrl: deps.db.urls.owner }) : undefined;
  const scheduler = opts.scheduler ? startLifecycleScheduler(deps) : undefined;
  let stopping: Promise<void> | undefined;
  return {
    sweepErasedNow() {
      sweepErased(deps).catch((err: unknown) => log.error('media sweep failed', errorFields(err)));
    },
    stop() {
      stopping ??= (async () => {
        await scheduler?.close();
        await jobs?.stop();
      })();
      return stopping;
    },
  };
}
