/**
 * `node server/jobs/main.ts`: a job worker on its own, e.g. on a GPU host next to the
 * models. It needs the same DATABASE_URL (owner: the queue's schema), SERVER_SECRET, key
 * provider and object storage settings as the API; embedded Postgres belongs to `npm start`.
 * SIGTERM/SIGINT: running jobs are handed back to the queue, then the process exits.
 */
import { parseConfigOrExit } from '../core/config.ts';
import { configureLogger, log } from '../core/logger.ts';
import { exitOnSignals, exitStartupFailed } from '../core/process.ts';
import { openDeps } from '../core/deps.ts';
import { createOpsServer, listen } from '../core/opsServer.ts';
import { startBackground } from './index.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);
if (!config.databaseUrl) {
  process.stderr.write('the jobs worker needs DATABASE_URL (the database the API uses)\n');
  process.exit(2);
}

try {
  const opened = await openDeps(config, {
    migrate: true,
    poolSize: Math.min(config.databasePoolSize, config.jobs.concurrency * 2 + 2),
  });
  const { deps } = opened;
  // The lifecycle scheduler runs in the API process (server/main.ts); this one works the queue.
  const background = await startBackground(deps, { queue: true, scheduler: false });
  // Prometheus scrapes job durations, failures and queue gauges here (ops/prometheus).
  const server = createOpsServer(deps.metrics);
  await listen(server, config.jobs.metricsPort, config.host);
  log.info('jobs process ready', { pid: process.pid, port: config.jobs.metricsPort });
  exitOnSignals(async () => {
    server.close();
    // Running jobs are handed back to the queue for another worker.
    await background.stop();
    await opened.close();
  });
} catch (err) {
  exitStartupFailed(err);
}
