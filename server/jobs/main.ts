/**
 * `node server/jobs/main.ts`: a job worker on its own, e.g. on a GPU host next to the
 * models. It needs the same DATABASE_URL (owner: the queue's schema), SERVER_SECRET, key
 * provider and object storage settings as the API; embedded Postgres belongs to `npm start`.
 * SIGTERM/SIGINT: running jobs are handed back to the queue, then the process exits.
 */
import { parseConfigOrExit } from '../core/config.ts';
import { configureLogger, log } from '../core/logger.ts';
import { exitOnSignals, exitStartupFailed } from '../core/process.ts';
import { Secrets } from '../core/crypto/secrets.ts';
import { migrate } from '../core/db/migrate.ts';
import { openDatabase } from '../core/db/pool.ts';
import { createMailer } from '../core/mail/mailer.ts';
import { createMetrics } from '../core/metrics.ts';
import { openStorage } from '../core/storage.ts';
import { withKeyReload } from '../core/keyring.ts';
import { systemClock, type Deps } from '../core/context.ts';
import { startJobs } from './runner.ts';
import { createOpsServer, listen } from '../core/opsServer.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);
const ownerUrl = config.databaseUrl;
if (!ownerUrl) {
  process.stderr.write('the jobs worker needs DATABASE_URL (the database the API uses)\n');
  process.exit(2);
}

try {
  const secrets = Secrets.load(config.serverSecret, config.dataDir);
  const appUrl = await migrate({ ownerUrl, appUrl: config.databaseAppUrl, secrets, log: (m) => log.debug(m) });
  const db = openDatabase(ownerUrl, appUrl, Math.min(config.databasePoolSize, config.jobs.concurrency * 2 + 2));
  const metrics = createMetrics(secrets, { orgSeriesMax: config.metricsOrgSeriesMax });
  const mailer = createMailer(config.smtpUrl, config.mailFrom, config.dataDir, (kind) =>
    metrics.mailFailures.inc({ kind }),
  );
  // A rotated local KEK (npm run keys:rotate) is picked up without a restart.
  const storage = withKeyReload(config, openStorage(config));
  const deps: Deps = { config, db, secrets, mailer, metrics, clock: systemClock, storage };
  const jobs = await startJobs(deps, { ownerUrl });
  // Prometheus scrapes job durations, failures and queue gauges here (ops/prometheus).
  const server = createOpsServer(metrics);
  await listen(server, config.jobs.metricsPort, config.host);
  log.info('jobs process ready', { pid: process.pid, port: config.jobs.metricsPort });
  exitOnSignals(async () => {
    server.close();
    // Running jobs are handed back to the queue for another worker.
    await jobs.stop();
    await mailer.close();
    storage.close();
    await db.close();
  });
} catch (err) {
  exitStartupFailed(err);
}
