/**
 * The API process (`node server/main.ts`, as systemd and compose run it with SFU=off and
 * JOBS=off): the HTTP API, the lifecycle scheduler, and the job worker unless JOBS=off. The
 * SFU runs in its own process (`node sfu/main.ts`); `npm start` (standalone/main.ts) runs all
 * three in one. DATABASE_URL unset: the embedded Postgres, as with `npm start`.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database, exit.
 */
import { parseConfigOrExit } from './core/config.ts';
import { configureLogger, log } from './core/logger.ts';
import { exitOnSignals, exitStartupFailed } from './core/process.ts';
import { openDeps } from './core/deps.ts';
import { startApi } from './api.ts';
import { startBackground } from './jobs/index.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);
if (config.sfu.mode === 'on') log.warn('SFU=on is ignored by server/main.ts: run node sfu/main.ts (or npm start)');

try {
  const opened = await openDeps(config, { embedded: 'start', migrate: true });
  const { deps } = opened;
  const api = await startApi(deps);
  const background = await startBackground(deps, { queue: config.jobs.mode === 'on', scheduler: true });
  // An erased recording's stored media goes now, not at the next sweep.
  deps.onSessionErased = () => Promise.resolve(background.sweepErasedNow());
  log.info('listening', { url: api.url, port: config.port });
  exitOnSignals(async () => {
    await api.stopAccepting();
    // The scheduler finishes its sweep; running jobs are handed back to the queue.
    await background.stop();
    await api.stopExports();
    await opened.close();
  });
} catch (err) {
  exitStartupFailed(err);
}
