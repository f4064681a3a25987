/**
 * A database of the test file's own, cloned from the migrated template, plus direct
 * connections as the owner and as the API's role (for SQL-level RLS tests).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { derivedAppUrl } from '../../server/core/db/migrate.ts';
import { Secrets } from '../../server/core/crypto/secrets.ts';
import { TEST_SECRET, TEMPLATE_DB } from './constants.ts';

export interface TestDatabase {
  ownerUrl: string;
  appUrl: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is unset: run the tests with `npm test`');
  return url;
}

/** Creates `t_<random>` from the template. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  // CREATE DATABASE ... TEMPLATE fails while another file is cloning the template; retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`create database ${name} template ${TEMPLATE_DB}`);
      break;
    } catch (err) {
      if (attempt > 50 || (err as { code?: string }).code !== '55006') throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  const owner = new URL(adminUrl());
  owner.pathname = `/${name}`;
  const ownerUrl = owner.toString();
  return {
    ownerUrl,
    appUrl: derivedAppUrl(ownerUrl, Secrets.load(TEST_SECRET, '/nonexistent')),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

let minter: pg.Client | undefined;
const tokens = new Map<string, string>();

/**
 * A live session token for `userId` (created once per user through `owner`), the secret
 * app.begin_request needs to act as that user.
 */
export async function sessionTokenFor(owner: pg.Client, userId: string): Promise<string> {
  const known = tokens.get(userId);
  if (known) return known;
  const token = randomBytes(32).toString('base64url');
  await owner.query(
    `insert into auth_sessions (user_id, token_hash, expires_at)
     values ($1, sha256(convert_to($2, 'UTF8')), now() + interval '30 days')`,
    [userId, token],
  );
  tokens.set(userId, token);
  return token;
}

/**
 * Runs `fn` on `client` inside a transaction, then always rolls back. With a user: the
 * request path's proof (app.begin_request with a session token of that user, addressing
 * `orgId`), the only way the API role gets a user. Without one: `app.org_id` is set, which
 * only the duty roles (SFU, jobs) honour.
 */
export async function asTenant<T>(
  client: pg.Client,
  orgId: string | null,
  userId: string | null,
  fn: () => Promise<T>,
): Promise<T> {
  const token = userId ? await sessionTokenFor(ownerForTokens(), userId) : undefined;
  await client.query('begin');
  try {
    if (token) await client.query('select * from app.begin_request($1, $2, 604800)', [token, orgId]);
    else await client.query("select set_config('app.org_id', $1, true)", [orgId ?? '']);
    return await fn();
  } finally {
    await client.query('rollback');
  }
}

function ownerForTokens(): pg.Client {
  if (!minter) throw new Error('asTenant with a user needs openTwoTenants() first (its owner connection mints tokens)');
  return minter;
}

/** The connection URL of a duty role (sql/099_duties.sql), with the password migrate() stored. */
export async function dutyUrl(
  ownerUrl: string,
  role: 'recorder_sfu' | 'recorder_jobs' | 'recorder_sweep',
): Promise<string> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    const r = await c.query<{ password: string }>('select password from app.role_passwords where role = $1', [role]);
    const url = new URL(ownerUrl);
    url.username = role;
    url.password = r.rows[0]?.password ?? '';
    return url.toString();
  } finally {
    await c.end();
  }
}

export interface TwoTenants {
  db: TestDatabase;
  /** Connected as the owner (seeding, checking what really is in the tables). */
  owner: pg.Client;
  /** Connected as the API's own role: subject to row-level security. */
  app: pg.Client;
  /** Connected as the SFU's duty role (the sfu_* write path only). */
  sfu: pg.Client;
  /** Connected as the job workers' duty role. */
  jobs: pg.Client;
  /** a@example.com owns org A, b@example.com owns org B. */
  ids: { userA: string; userB: string; orgA: string; orgB: string };
  close(): Promise<void>;
}

/** A fresh database with two organizations, each with its own owner: the cross-tenant fixture. */
export async function openTwoTenants(): Promise<TwoTenants> {
  const db = await freshDatabase();
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  const sfu = new pg.Client({ connectionString: await dutyUrl(db.ownerUrl, 'recorder_sfu') });
  await sfu.connect();
  const jobs = new pg.Client({ connectionString: await dutyUrl(db.ownerUrl, 'recorder_jobs') });
  await jobs.connect();
  minter = owner;
  tokens.clear();
  const u = await owner.query<{ id: string }>(
    `insert into users (email) values ('a@example.com'), ('b@example.com') returning id`,
  );
  const o = await owner.query<{ id: string }>(`insert into organizations (name) values ('A'), ('B') returning id`);
  const ids = { userA: u.rows[0]!.id, userB: u.rows[1]!.id, orgA: o.rows[0]!.id, orgB: o.rows[1]!.id };
  await owner.query(
    `insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner'), ($3, $4, 'owner')`,
    [ids.orgA, ids.userA, ids.orgB, ids.userB],
  );
  return {
    db,
    owner,
    app,
    sfu,
    jobs,
    ids,
    async close() {
      await sfu.end();
      await jobs.end();
      await app.end();
      await owner.end();
      await db.drop();
    },
  };
}
