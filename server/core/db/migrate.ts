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
import { embeddedAppUrl, type EmbeddedLoginRole } from './roleSecrets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MIGRATIONS_DIR = path.join(root, 'migrations');
export const SQL_DIR = path.join(root, 'sql');

/** The group role holding the API's grants. */
export const APP_GROUP_ROLE = 'recorder_app';
/**
 * Login roles for the cross-tenant duties, created from the owner connection: SFU capture,
 * job workers (transcription, exports), lifecycle and billing sweeps (sql/099_duties.sql).
 */
export const DUTY_ROLES = ['recorder_sfu', 'recorder_jobs', 'recorder_sweep'] as const;
export type DutyRole = (typeof DUTY_ROLES)[number];
/** The login role used when DATABASE_APP_URL is not given. */
export const DERIVED_APP_LOGIN = 'recorder_api';

/**
 * The app connection URL when an operator gives DATABASE_URL without DATABASE_APP_URL: same
 * server and database, `recorder_api` with a password derived (one-way) from SERVER_SECRET,
 * which every process of the deployment shares. Embedded mode uses a random password of its
 * own instead (roleSecrets.ts).
 */
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

const FLAGS: Record<string, [keyof RoleFlags, boolean]> = {
  login: ['rolcanlogin', true],
  nologin: ['rolcanlogin', false],
  superuser: ['rolsuper', true],
  nosuperuser: ['rolsuper', false],
  bypassrls: ['rolbypassrls', true],
  nobypassrls: ['rolbypassrls', false],
  createdb: ['rolcreatedb', true],
  nocreatedb: ['rolcreatedb', false],
  createrole: ['rolcreaterole', true],
  nocreaterole: ['rolcreaterole', false],
  inherit: ['rolinherit', true],
  noinherit: ['rolinherit', false],
};
interface RoleFlags {
  rolcanlogin: boolean;
  rolsuper: boolean;
  rolbypassrls: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolinherit: boolean;
}

/**
 * Creates the role, or brings its attributes to `options`. Roles are shared by every
 * database of the cluster (several test databases migrate at once), so nothing is altered
 * that already matches: concurrent ALTER ROLEs fail with "tuple concurrently updated".
 * `password` is set only when `setPassword` says the stored one changed.
 */
async function ensureRole(
  client: pg.ClientBase,
  role: string,
  options: string,
  password?: string,
  setPassword = true,
): Promise<void> {
  const found = await client.query<RoleFlags>(
    `select rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolinherit
       from pg_roles where rolname = $1`,
    [role],
  );
  let created = false;
  if (found.rowCount === 0) {
    try {
      await client.query(`create role ${ident(role)} ${options}`);
      created = true;
    } catch (err) {
      // created concurrently
      if ((err as { code?: string }).code !== '42710' && (err as { code?: string }).code !== '23505') throw err;
    }
  }
  const have = found.rows[0];
  const differs =
    !created &&
    (!have ||
      options.split(/\s+/).some((o) => {
        const f = FLAGS[o];
        return f !== undefined && have[f[0]] !== f[1];
      }));
  if (differs) await client.query(`alter role ${ident(role)} ${options}`);
  if (password !== undefined && (created || setPassword)) {
    // Role DDL takes no bind parameters; the password is our own base64url or hex string.
    if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error('role password has unexpected characters');
    await client.query(`alter role ${ident(role)} password '${password}'`);
  }
}

export interface MigrateOptions {
  ownerUrl: string;
  /** DATABASE_APP_URL, or undefined to create and use the derived login role. */
  appUrl: string | undefined;
  secrets: Secrets;
  /**
   * Embedded mode: every login role's password, random and kept in DATA_DIR/secrets. Set,
   * `appUrl` is ignored, `recorder_api` and the duty roles get these passwords on every run
   * (a data folder made before switches on its next start), and none is kept in
   * app.role_passwords. Unset (an operator's DATABASE_URL): `recorder_api` as derivedAppUrl()
   * says, duty roles with random passwords in the owner-only app.role_passwords.
   */
  rolePasswords?: Readonly<Record<EmbeddedLoginRole, string>>;
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
      // The duty roles exist before sql/ grants to them; they get their login after the migrations.
      for (const duty of DUTY_ROLES) await ensureRole(client, duty, 'nosuperuser nobypassrls nocreatedb nocreaterole');
      let appUrl = opts.rolePasswords ? undefined : opts.appUrl;
      let login: string;
      if (opts.rolePasswords) {
        appUrl = embeddedAppUrl(opts.ownerUrl, opts.rolePasswords.recorder_api);
        login = DERIVED_APP_LOGIN;
        await ensureRole(
          client,
          login,
          'login nosuperuser nobypassrls nocreatedb nocreaterole inherit',
          opts.rolePasswords.recorder_api,
        );
      } else if (appUrl) {
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
      // Each duty role logs in with a password of its own: random, made once, kept in the
      // owner-only app.role_passwords (processes holding DATABASE_URL read it from there).
      for (const duty of DUTY_ROLES) {
        if (opts.rolePasswords) {
          // Embedded: the password is the file's; a copy once kept in the database goes.
          await client.query('delete from app.role_passwords where role = $1', [duty]);
          await ensureRole(
            client,
            duty,
            'login nosuperuser nobypassrls nocreatedb nocreaterole inherit',
            opts.rolePasswords[duty],
          );
          continue;
        }
        const fresh = await client.query(
          `insert into app.role_passwords (role, password)
           values ($1, encode(gen_random_bytes(32), 'hex')) on conflict do nothing`,
          [duty],
        );
        const pw = await client.query<{ password: string }>('select password from app.role_passwords where role = $1', [
          duty,
        ]);
        const login = await client.query<{ rolcanlogin: boolean }>(
          'select rolcanlogin from pg_roles where rolname = $1',
          [duty],
        );
        // A database that made a new password (or a role that could not log in yet) sets it;
        // a clone of a migrated database keeps the one the role already has.
        await ensureRole(
          client,
          duty,
          'login nosuperuser nobypassrls nocreatedb nocreaterole inherit',
          pw.rows[0]?.password ?? '',
          fresh.rowCount === 1 || !login.rows[0]?.rolcanlogin,
        );
      }
      // Sign-in codes are drawn by the database and sealed to the API process under this key.
      await client.query('update app.context_key set code_key = $1 where id', [opts.secrets.key('login-code')]);
      const files = fs
        .readdirSync(SQL_DIR)
        .filter((f) => f.endsWith('.sql'))
        .sort();
      await client.query('begin');
      try {
        for (const f of files) await client.query(fs.readFileSync(path.join(SQL_DIR, f), 'utf8'));
        await client.query(`grant ${ident(APP_GROUP_ROLE)} to ${ident(login)}, ${ident('recorder_jobs')}`);
        // The request path's login must hold none of the duty roles.
        const duties = await client.query<{ rolname: string }>(
          `select g.rolname
             from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
            where u.rolname = $1 and g.rolname = any($2::text[])`,
          [login, DUTY_ROLES],
        );
        if (duties.rowCount)
          throw new Error(`the app login role ${login} is a member of ${duties.rows.map((r) => r.rolname).join(', ')}`);
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
