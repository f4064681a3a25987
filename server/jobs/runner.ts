/**
 * The job worker: graphile-worker over the owner connection, in-process for `npm start` or
 * alone in server/jobs/main.ts (GPU hosts).
 *
 * Why graphile-worker rather than pg-boss: a Postgres trigger can queue a job with
 * `graphile_worker.add_job()` in the very transaction that ends a session (the SFU ends
 * sessions through app.sfu_end_session()), so a session can never end without its job, or
 * get a job without ending; new jobs reach idle workers at once through LISTEN/NOTIFY; and
 * jobs are claimed with `FOR UPDATE SKIP LOCKED` and retried with exponential back-off.
 *
 * graphile-worker only frees jobs of a crashed worker after 4 hours. Our runs carry their
 * own lease (transcription_runs.lease_expires_at, renewed by the attempt every third of
 * TRANSCRIBE_LEASE_S); every worker sweeps for lapsed leases and hands those runs back,
 * unlocking their jobs, so a killed or pre-empted worker's run is retried within a lease.
 */
import pg from 'pg';
import { runAlone, SINGLE_RUN } from '../core/db/singleRun.ts';
import { Logger, run, runMigrations, type Runner } from 'graphile-worker';
import * as repo from '../repositories/transcripts.ts';
import { reconcileJobs as reconcileWebhookJobs } from '../repositories/webhooks.ts';
import { deliverEndpoint, WEBHOOK_TASK } from '../services/webhookDelivery.ts';
import { log, errorFields } from '../core/logger.ts';
import { closeEngine } from '../transcription/engine.ts';
import { runTranscribeJob, TRANSCRIBE_TASK } from './transcribe.ts';
import { sealPrivateSessions } from '../services/privateMode.ts';
import type { Deps } from '../core/context.ts';

export interface JobsRunner {
  /** Stops taking jobs; running ones are aborted and handed back to the queue. Safe to call twice. */
  stop(): Promise<void>;
}

export interface JobsOptions {
  /** The owner connection string (the queue's schema belongs to the owner). */
  ownerUrl: string;
}

/** Endpoints delivered at once per process (each endpoint's queue is worked by one at a time). */
const WEBHOOK_CONCURRENCY = 4;

// graphile-worker's messages may name job ids and payloads; only their level reaches our log.
const queueLogger = new Logger(() => (level) => {
  if (level === 'error') log.error('job queue reported an error', { job: 'queue' });
  else if (level === 'warning') log.warn('job queue reported a warning', { job: 'queue' });
});

/**
 * Migrates the queue's schema, queues runs that have no job yet, and starts working the queue.
 * @throws when the database cannot be reached.
 */
export async function startJobs(deps: Deps, opts: JobsOptions): Promise<JobsRunner> {
  const { concurrency, pollIntervalMs } = deps.config.jobs;
  const { leaseS, maxAttempts } = deps.config.transcription;
  const pool = new pg.Pool({
    connectionString: opts.ownerUrl,
    max: concurrency + WEBHOOK_CONCURRENCY + 4,
    application_name: 'recorder-jobs',
  });
  // An idle or checked-out client that loses its connection must not crash the process;
  // the pool replaces it and the queue retries.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  await runMigrations({ pgPool: pool, logger: queueLogger });
  /** Queue worker ids of this process's jobs in progress, and every id this process used. */
  const active = new Set<string>();
  const used = new Set<string>();
  // Every worker process ticks; one at a time does the work (an advisory lock), so two
  // workers never hand back the same run twice or queue the same job twice.
  const maintain = async () => {
    try {
      await runAlone(pool, SINGLE_RUN.queueMaintenance, async (client) => {
        const requeued = await repo.requeueExpired(client, [...active]);
        if (requeued > 0)
          log.warn('transcription runs whose worker stopped were handed back to the queue', {
            job: TRANSCRIBE_TASK,
            count: requeued,
          });
        await repo.reconcileJobs(client, maxAttempts);
        await reconcileWebhookJobs(client);
      });
    } catch (err) {
      log.warn('job queue maintenance failed', errorFields(err));
    }
  };
  await maintain();
  const runner: Runner = await run({
    pgPool: pool,
    concurrency,
    pollInterval: pollIntervalMs,
    noHandleSignals: true,
    gracefulShutdownAbortTimeout: 2000,
    logger: queueLogger,
    taskList: {
      [TRANSCRIBE_TASK]: async (payload, helpers) => {
        const workerId = helpers.job.locked_by ?? `pid-${process.pid}`;
        active.add(workerId);
        used.add(workerId);
        try {
          await runTranscribeJob(deps, payload, {
            workerId,
            attempts: helpers.job.attempts,
            maxAttempts: helpers.job.max_attempts,
            signal: helpers.abortSignal,
          });
        } finally {
          active.delete(workerId);
        }
      },
    },
  });
  // Webhook deliveries on workers of their own: a long transcription never holds them up.
  const webhookRunner: Runner = await run({
    pgPool: pool,
    concurrency: WEBHOOK_CONCURRENCY,
    pollInterval: pollIntervalMs,
    noHandleSignals: true,
    gracefulShutdownAbortTimeout: 2000,
    logger: queueLogger,
    taskList: {
      [WEBHOOK_TASK]: (payload, helpers) => deliverEndpoint(deps, payload, helpers.abortSignal),
    },
  });
  const timer = setInterval(() => void maintain(), Math.max(500, (leaseS * 1000) / 2));
  timer.unref();
  // Private mode: a session that ended with no transcription to wait for is sealed to its
  // org's key within seconds, not at the next lifecycle sweep (which still catches any left).
  const sealEveryS = deps.config.lifecycle.privateSealIntervalS;
  const sealTimer =
    sealEveryS > 0
      ? setInterval(() => {
          runAlone(pool, SINGLE_RUN.privateSeal, () => sealPrivateSessions(deps)).catch((err: unknown) =>
            log.warn('private-mode sealing failed', errorFields(err)),
          );
        }, sealEveryS * 1000)
      : undefined;
  sealTimer?.unref();
  deps.metrics.setJobQueueSource(async () =>
    (await repo.queueStats(pool)).map((s) => ({
      queue: s.queue,
      queued: s.queued,
      running: s.running,
      oldestQueuedAgeSeconds: s.oldest_s,
    })),
  );
  log.info('job worker started', { worker: concurrency, mode: deps.config.transcription.device });
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        clearInterval(sealTimer);
        deps.metrics.setJobQueueSource(undefined);
        await Promise.all(
          [runner, webhookRunner].map((r) =>
            r.stop('shutdown').catch((err: unknown) => log.warn('job worker did not stop cleanly', errorFields(err))),
          ),
        );
        // Hand back what this process held: jobs it handed back (runs marked queued) are free
        // at once, not after graphile-worker's 4-hour lock expiry.
        if (used.size > 0)
          await pool
            .query('select graphile_worker.force_unlock_workers($1::text[])', [[...used]])
            .catch(() => undefined);
        await closeEngine().catch(() => undefined);
        await pool.end();
      })();
      return stopping;
    },
  };
}
