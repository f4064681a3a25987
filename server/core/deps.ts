/**
 * The one place that opens a process's dependencies from its Config: every entry point
 * (standalone/start.ts for `npm start` and the tests, server/main.ts, server/jobs/main.ts,
 * sfu/main.ts, scripts/keys-rotate.ts, bench/export.ts) calls {@link openDeps}, so they all
 * get the same secrets, pools, metrics, mailer, clock and storage (key reload after
 * rotation, an organisation's own KMS key). test/architecture.test.ts checks that they do.
 */
import type { Config } from './config.ts';
import { Secrets } from './crypto/secrets.ts';
import { startEmbeddedPostgres, embeddedOwnerUrl, type EmbeddedDatabase } from './db/embedded.ts';
import { derivedAppUrl, migrate } from './db/migrate.ts';
import { embeddedAppUrl, embeddedRolePasswords } from './db/roleSecrets.ts';
import { openDatabase, type Database } from './db/pool.ts';
import { createMailer } from './mail/mailer.ts';
import { createMetrics } from './metrics.ts';
import { openStorage, type Storage } from './storage.ts';
import { orgKmsKeyLookup, withKeyReload } from './keyring.ts';
import { log } from './logger.ts';
import { systemClock, type Clock, type Deps } from './context.ts';

export interface OpenDepsOptions {
  /**
   * What to do when DATABASE_URL is unset: `'start'` starts the embedded Postgres in
   * `<DATA_DIR>/postgres` (npm start, the tests, the API process), `'attach'` connects to
   * the one a running `npm start` holds on EMBEDDED_PG_PORT (scripts). Default: neither,
   * and a missing DATABASE_URL throws.
   */
  readonly embedded?: 'start' | 'attach';
  /** Applies migrations/ and sql/ before opening the pools (API and jobs). Default false. */
  readonly migrate?: boolean;
  /** Size of the app pool. Default DATABASE_POOL_SIZE. */
  readonly poolSize?: number;
  /** The clock services read time through. Default the system clock. */
  readonly clock?: Clock;
}

/** A process's dependencies and how to close them. */
export interface OpenedDeps {
  readonly deps: Deps;
  /** Closes mailer, storage, pools and the embedded database this call started. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens everything a process needs from `config` (see {@link OpenDepsOptions}).
 * @throws when DATABASE_URL is unset and `embedded` is not set, when the embedded
 * database cannot start, when migration fails, or when a key file is malformed.
 */
export async function openDeps(config: Config, opts: OpenDepsOptions = {}): Promise<OpenedDeps> {
  const secrets = Secrets.load(config.serverSecret, config.dataDir);
  let embedded: EmbeddedDatabase | undefined;
  let ownerUrl = config.databaseUrl;
  if (!ownerUrl && opts.embedded === 'start') {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, secrets);
    ownerUrl = embedded.url;
    log.info('embedded postgres started', { dir: `${config.dataDir}/postgres`, port: config.embeddedPgPort });
  } else if (!ownerUrl && opts.embedded === 'attach') {
    ownerUrl = embeddedOwnerUrl(config.embeddedPgPort, config.dataDir);
  }
  if (!ownerUrl) throw new Error('DATABASE_URL is not set');
  try {
    // Embedded (no DATABASE_URL): every role's password is random, in its own file under
    // DATA_DIR/secrets. An operator's database: the two URLs given, duty roles from the owner.
    const rolePasswords = config.databaseUrl ? undefined : embeddedRolePasswords(config.dataDir);
    let appUrl = rolePasswords
      ? embeddedAppUrl(ownerUrl, rolePasswords.recorder_api)
      : (config.databaseAppUrl ?? derivedAppUrl(ownerUrl, secrets));
    if (opts.migrate) {
      appUrl = await migrate({
        ownerUrl,
        appUrl: config.databaseAppUrl,
        secrets,
        rolePasswords,
        log: (m) => log.debug(m),
      });
      log.info('database migrated');
    }
    const db = openDatabase(ownerUrl, appUrl, opts.poolSize ?? config.databasePoolSize, rolePasswords);
    const metrics = createMetrics(secrets, { orgSeriesMax: config.metricsOrgSeriesMax });
    const mailer = createMailer(config.smtpUrl, config.mailFrom, config.dataDir, (kind) =>
      metrics.mailFailures.inc({ kind }),
    );
    log.info(config.smtpUrl ? 'mail goes to SMTP' : 'mail is written to the outbox folder', {
      dir: mailer.destination,
    });
    const storage = openKeyedStorage(config, db);
    const deps: Deps = { config, db, secrets, mailer, metrics, clock: opts.clock ?? systemClock, storage };
    let closing: Promise<void> | undefined;
    return {
      deps,
      close() {
        closing ??= (async () => {
          await mailer.close();
          storage.close();
          await db.close();
          await embedded?.stop();
        })();
        return closing;
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/**
 * The storage of {@link openDeps} on its own, for a thread that opens its own pools (an
 * export's worker): a rotated local KEK is picked up without a restart (keyring.ts), and an
 * organisation's own KMS key is looked up through `db.jobs` (any org's, outside a request
 * too: the request path's role sees only its proven org's).
 */
export function openKeyedStorage(config: Config, db: Database): Storage {
  return withKeyReload(config, openStorage(config, { kmsKeyIdFor: orgKmsKeyLookup(() => db.jobs) }));
}
