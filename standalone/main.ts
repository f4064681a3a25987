/**
 * `npm start`: runs the product on embedded defaults unless configured otherwise.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database, exit.
 */
import { parseConfigOrExit } from '../server/core/config.ts';
import { configureLogger, log } from '../server/core/logger.ts';
import { exitOnSignals, exitStartupFailed } from '../server/core/process.ts';
import { start } from './start.ts';

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
