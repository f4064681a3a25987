/**
 * Start-up shared by `npm start` and the tests: secrets, database (embedded when
 * DATABASE_URL is unset), migrations, mailer, metrics, then the HTTP server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../server/core/config.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../server/core/db/embedded.ts';
import { migrate } from '../server/core/db/migrate.ts';
import { openDatabase } from '../server/core/db/pool.ts';
import { createMailer } from '../server/core/mail/mailer.ts';
import { createMetrics } from '../server/core/metrics.ts';
import { createApp } from '../server/app.ts';
import { startBilling, STRIPE_WEBHOOK_PATH } from '../server/billing/stripe.ts';
import { billingRoutes } from '../server/routes/billing/index.ts';
import { log, errorFields } from '../server/core/logger.ts';
import { openStorage } from '../server/core/storage.ts';
import { sessionRoutes } from '../server/routes/sessions/index.ts';
import { startSfu } from '../sfu/start.ts';
import { startJobs } from '../server/jobs/runner.ts';
import { transcriptRoutes } from '../server/routes/transcripts/index.ts';
import { sweepErased } from '../server/services/sessions.ts';
import { lifecycleRoutes } from '../server/routes/lifecycle/index.ts';
import { startLifecycleScheduler } from '../server/jobs/sweep.ts';
import { withKeyReload, orgKmsKeyLookup } from '../server/core/keyring.ts';
import { stopExports } from '../server/services/export.ts';
import { ensureWebBundles } from '../server/web/bundle.ts';
import { systemClock, type Clock, type Deps } from '../server/core/context.ts';

export interface Running {
  readonly deps: Deps;
  readonly server: http.Server;
  readonly url: string;
  /** Stops accepting, finishes in-flight requests, closes pools and the embedded database. */
  close(): Promise<void>;
}

export async function start(config: Config, opts: { clock?: Clock } = {}): Promise<Running> {
  const secrets = Secrets.load(config.serverSecret, config.dataDir);
  let embedded: EmbeddedDatabase | undefined;
  let ownerUrl = config.databaseUrl;
  if (!ownerUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, secrets);
    ownerUrl = embedded.url;
    log.info('embedded postgres started', { dir: `${config.dataDir}/postgres`, port: config.embeddedPgPort });
  }
  const appUrl = await migrate({ ownerUrl, appUrl: config.databaseAppUrl, secrets, log: (m) => log.debug(m) });
  log.info('database migrated');
  const db = openDatabase(ownerUrl, appUrl, config.databasePoolSize);
  const metrics = createMetrics(secrets, { orgSeriesMax: config.metricsOrgSeriesMax });
  const mailer = createMailer(config.smtpUrl, config.mailFrom, config.dataDir, (kind) =>
    metrics.mailFailures.inc({ kind }),
  );
  log.info(config.smtpUrl ? 'mail goes to SMTP' : 'mail is written to the outbox folder', { dir: mailer.destination });
  // Key rotation (npm run keys:rotate) is picked up without a restart; orgs may bring their own KMS key.
  const storage = withKeyReload(config, openStorage(config, { kmsKeyIdFor: orgKmsKeyLookup(() => db.app) }));
  const deps: Deps = { config, db, secrets, mailer, metrics, clock: opts.clock ?? systemClock, storage };
  const billing = await startBilling(deps);
  const app = createApp(deps, {
    routers: [billingRoutes(deps, billing), sessionRoutes(deps), transcriptRoutes(deps), lifecycleRoutes(deps)],
    rawBodyPaths: [STRIPE_WEBHOOK_PATH],
  });
  await ensureWebBundles();
  const handle = app.callback();
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const sfu = await startSfu(config, deps, server);
  // The job worker (transcription) in this process unless JOBS=off (then server/jobs/main.ts elsewhere).
  const jobs = config.jobs.mode === 'on' ? await startJobs(deps, { ownerUrl }) : undefined;
  // Erased recordings: end a live room at once; the sweep removes their stored media.
  const sweep = () =>
    sweepErased(deps).catch((err: unknown) => {
      log.error('media sweep failed', errorFields(err));
      return 0;
    });
  deps.onSessionErased = async (sessionId) => {
    await sfu?.endRoom(sessionId);
    void sweep();
  };
  const sweepTimer = setInterval(() => void sweep(), 60_000);
  sweepTimer.unref();
  // Retention, org and account deletion, audit purge, expired exports (server/jobs/sweep.ts).
  const lifecycle = startLifecycleScheduler(deps);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    deps,
    server,
    url,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        clearInterval(sweepTimer);
        await lifecycle.close();
        // Live rooms finish writing what they captured before the database closes.
        await sfu?.close();
        // Running jobs are handed back to the queue for another worker.
        await jobs?.stop();
        // A running export's worker thread is stopped (the sweep marks its job interrupted).
        await stopExports(deps);
        await mailer.close();
        storage.close();
        await db.close();
        await embedded?.stop();
      })();
      return closing;
    },
  };
}
