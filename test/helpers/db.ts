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

/**
 * Runs `fn` on `client` (connected as the API's role) inside a transaction with the given
 * tenant and user set the way withTenant sets them, then always rolls back.
 */
export async function asTenant<T>(
  client: pg.Client,
  orgId: string | null,
  userId: string | null,
  fn: () => Promise<T>,
): Promise<T> {
  await client.query('begin');
  try {
    await client.query("select set_config('app.org_id', $1, true), set_config('app.user_id', $2, true)", [
      orgId ?? '',
      userId ?? '',
    ]);
    return await fn();
  } finally {
    await client.query('rollback');
  }
}

export interface TwoTenants {
  db: TestDatabase;
  /** Connected as the owner (seeding, checking what really is in the tables). */
  owner: pg.Client;
  /** Connected as the API's own role: subject to row-level security. */
  app: pg.Client;
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
    ids,
    async close() {
      await app.end();
      await owner.end();
      await db.drop();
    },
  };
}
