/**
 * Brings a database to the current schema: roles, node-pg-migrate migrations (as the
 * owner), then every file in sql/ (functions, policies, grants; idempotent) in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Secrets } from '../crypto/secrets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MIGRATIONS_DIR = path.join(root, 'migrations');
export const SQL_DIR = path.join(root, 'sql');

/** The group role holding the API's grants. */
export const APP_GROUP_ROLE = 'recorder_app';
/** The login role used when DATABASE_APP_URL is not given. */
export const DERIVED_APP_LOGIN = 'recorder_api';

/** The app connection URL derived from the owner URL: same server and database, the derived login role. */
export function derivedAppUrl(ownerUrl: string, secrets: Secrets): string {
  const url = new URL(ownerUrl);
  url.username = DERIVED_APP_LOGIN;
  url.password = secrets.key('db-app-password').toString('base64url');
  return url.toString();
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsupported role name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

async function ensureRole(client: pg.ClientBase, role: string, options: string, password?: string): Promise<void> {
  const exists = await client.query('select 1 from pg_roles where rolname = $1', [role]);
  if (exists.rowCount === 0) {
    try {
      await client.query(`create role ${ident(role)} ${options}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42710' && (err as { code?: string }).code !== '23505') throw err; // created concurrently
    }
  }
  await client.query(`alter role ${ident(role)} ${options}`);
  if (password !== undefined) {
    // Role DDL takes no bind parameters; the password is our own base64url string.
    if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error('derived password has unexpected characters');
    await client.query(`alter role ${ident(role)} password '${password}'`);
  }
}

export interface MigrateOptions {
  ownerUrl: string;
  /** DATABASE_APP_URL, or undefined to create and use the derived login role. */
  appUrl: string | undefined;
  secrets: Secrets;
  log?: (msg: string) => void;
}

/**
 * Migrates and returns the app connection URL to use.
 * @throws when the owner cannot bypass RLS (policies' helper functions need it) or the app
 * login role can.
 */
export async function migrate(opts: MigrateOptions): Promise<string> {
  const client = new pg.Client({ connectionString: opts.ownerUrl, application_name: 'recorder-migrate' });
  await client.connect();
  try {
    const me = await client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'select rolsuper, rolbypassrls from pg_roles where rolname = current_user',
    );
    const owner = me.rows[0];
    if (!owner || !(owner.rolsuper || owner.rolbypassrls)) {
      throw new Error(
        'the DATABASE_URL role must be superuser or have BYPASSRLS (it owns the tables and the security-definer functions)',
      );
    }
    // Serialise concurrent migrators (several API processes starting at once).
    await client.query('select pg_advisory_lock(7342001)');
    try {
      await ensureRole(client, APP_GROUP_ROLE, 'nologin nosuperuser nobypassrls nocreatedb nocreaterole');
      let appUrl = opts.appUrl;
      let login: string;
      if (appUrl) {
        login = decodeURIComponent(new URL(appUrl).username);
      } else {
        appUrl = derivedAppUrl(opts.ownerUrl, opts.secrets);
        login = DERIVED_APP_LOGIN;
        await ensureRole(
          client,
          login,
          'login nosuperuser nobypassrls nocreatedb nocreaterole inherit',
          new URL(appUrl).password,
        );
      }
      const check = await client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
        'select rolsuper, rolbypassrls from pg_roles where rolname = $1',
        [login],
      );
      const appRole = check.rows[0];
      if (!appRole) throw new Error(`the app login role ${login} does not exist`);
      if (appRole.rolsuper || appRole.rolbypassrls)
        throw new Error(
          `the app login role ${login} can bypass row-level security; give the API a role without SUPERUSER or BYPASSRLS`,
        );

      await runner({
        dbClient: client,
        dir: MIGRATIONS_DIR,
        direction: 'up',
        migrationsTable: 'pgmigrations',
        count: Infinity,
        noLock: true,
        checkOrder: true,
        log: (msg: string) => opts.log?.(msg),
      });
      const files = fs
        .readdirSync(SQL_DIR)
        .filter((f) => f.endsWith('.sql'))
        .sort();
      await client.query('begin');
      try {
        for (const f of files) await client.query(fs.readFileSync(path.join(SQL_DIR, f), 'utf8'));
        await client.query(`grant ${ident(APP_GROUP_ROLE)} to ${ident(login)}`);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw err;
      }
      return appUrl;
    } finally {
      await client.query('select pg_advisory_unlock(7342001)');
    }
  } finally {
    await client.end();
  }
}
