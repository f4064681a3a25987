/**
 * The API process (`node server/main.ts`, as systemd and compose run it, with SFU=off and
 * JOBS=off). Until the API has its own start-up it runs the one-process start; `npm start`
 * is standalone/main.ts.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database, exit.
 */
import { parseConfigOrExit } from './core/config.ts';
import { configureLogger, log } from './core/logger.ts';
import { exitOnSignals, exitStartupFailed } from './core/process.ts';
import { start } from '../standalone/start.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);

try {
  const running = await start(config);
  log.info('listening', { url: running.url, port: config.port });
  log.info(`open ${config.publicUrl} in a browser`);
  exitOnSignals(() => running.close());
} catch (err) {
  exitStartupFailed(err);
}
