/**
 * Start-up shared by `npm start` and the tests: secrets, database (embedded when
 * DATABASE_URL is unset), migrations, mailer, metrics, then the HTTP server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { Secrets } from './crypto/secrets.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/pool.ts';
import { createMailer } from './mail/mailer.ts';
import { createMetrics } from './metrics.ts';
import { createApp } from './app.ts';
import { log } from './logger.ts';
import { systemClock, type Clock, type Deps } from './context.ts';

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
  const metrics = createMetrics(secrets);
  const mailer = createMailer(config.smtpUrl, config.mailFrom, config.dataDir, (kind) => metrics.mailFailures.inc({ kind }));
  log.info(config.smtpUrl ? 'mail goes to SMTP' : 'mail is written to the outbox folder', { dir: mailer.destination });
  const deps: Deps = { config, db, secrets, mailer, metrics, clock: opts.clock ?? systemClock };
  const app = createApp(deps);
  const handle = app.callback();
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
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
        mailer.close();
        await db.close();
        await embedded?.stop();
      })();
      return closing;
    },
  };
}
