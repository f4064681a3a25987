/**
 * Database access: two pools and the transaction helpers every repository runs inside.
 *
 * - `app` connects as a role that owns nothing and cannot bypass RLS; all request work.
 * - `owner` is the migration owner; used only by migrations and the named admin jobs.
 *
 * Tenant work runs only inside {@link withTenant}: BEGIN, set_config(..., true), run,
 * COMMIT/ROLLBACK, release. A guard throws when code inside a tenant transaction queries
 * through the pool instead of its transaction client (the bug that silently skips RLS).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

export type Queryable = Pick<pg.PoolClient, 'query'>;
export type SqlValue =
  string | number | boolean | null | Date | Buffer | readonly string[] | readonly number[] | Record<string, unknown>;

const inTransaction = new AsyncLocalStorage<{ client: pg.PoolClient }>();

/** Thrown when a query bypasses the transaction that is in progress. */
export class TenantGuardError extends Error {
  constructor() {
    super('query issued through a pool while a tenant transaction is open; use the transaction client');
    this.name = 'TenantGuardError';
  }
}

/**
 * Thrown when a transaction's client is asked for a query while another is still running
 * on it (e.g. `Promise.all` over one client): pg queues such queries with a deprecation
 * warning today and refuses them from pg 9, and their order inside the transaction is luck.
 */
export class ConcurrentQueryError extends Error {
  constructor() {
    super('a query was issued on a transaction client while another was still running; await each query in turn');
    this.name = 'ConcurrentQueryError';
  }
}

/** The transaction's client as handed to callers: its `query` refuses to overlap another. */
function oneQueryAtATime(client: pg.PoolClient): pg.PoolClient {
  let busy = false;
  const query = (...args: unknown[]): unknown => {
    if (busy) throw new ConcurrentQueryError();
    busy = true;
    const pending = (client.query as (...a: unknown[]) => Promise<unknown>).apply(client, args);
    return pending.finally(() => {
      busy = false;
    });
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') return query;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Thrown by {@link one} / {@link maybeOne} when the row count is not what the caller promised. */
export class RowCountError extends Error {
  constructor(expected: string, got: number) {
    super(`expected ${expected} row(s), got ${got}`);
    this.name = 'RowCountError';
  }
}

export interface Database {
  readonly app: pg.Pool;
  readonly owner: pg.Pool;
  /** The URLs the pools were opened with (an export's worker thread opens its own). */
  readonly urls: { readonly owner: string; readonly app: string };
  close(): Promise<void>;
}

/** Opens both pools. `appUrl` must name a role without BYPASSRLS (checked at migration). */
export function openDatabase(ownerUrl: string, appUrl: string, poolSize: number): Database {
  const app = guarded(new pg.Pool({ connectionString: appUrl, max: poolSize, application_name: 'recorder-api' }));
  const owner = guarded(new pg.Pool({ connectionString: ownerUrl, max: 3, application_name: 'recorder-admin' }));
  return {
    app,
    owner,
    urls: { owner: ownerUrl, app: appUrl },
    async close() {
      await Promise.all([app.end(), owner.end()]);
    },
  };
}

function guarded(pool: pg.Pool): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  Object.defineProperty(pool, 'query', {
    value: (...args: unknown[]) => {
      if (inTransaction.getStore()) throw new TenantGuardError();
      return query(...args);
    },
  });
  pool.on('error', () => {
    // An idle client lost its connection (server restart); the pool replaces it.
  });
  return pool;
}

export interface TenantScope {
  orgId: string | null;
  userId: string | null;
}

/**
 * Runs `fn` in one transaction on `pool` with `app.org_id` / `app.user_id` set for that
 * transaction only. Commits when `fn` resolves, rolls back when it throws (and rethrows).
 */
export async function withTenant<T>(
  pool: pg.Pool,
  scope: TenantScope,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (inTransaction.getStore()) throw new TenantGuardError();
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query("select set_config('app.org_id', $1::text, true), set_config('app.user_id', $2::text, true)", [
      scope.orgId ?? '',
      scope.userId ?? '',
    ]);
    const result = await inTransaction.run({ client }, () => fn(oneQueryAtATime(client)));
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A transaction with no tenant: user-scoped tables and security-definer functions only. */
export function withUser<T>(pool: pg.Pool, userId: string | null, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTenant(pool, { orgId: null, userId }, fn);
}

/** Runs a statement and returns all rows. */
export async function many<R extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  values: readonly unknown[] = [],
): Promise<R[]> {
  const res = await db.query<R>(sql, values as unknown[]);
  return res.rows;
}

/** Runs a statement that must return exactly one row. @throws RowCountError */
export async function one<R extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  values: readonly unknown[] = [],
): Promise<R> {
  const rows = await many<R>(db, sql, values);
  if (rows.length !== 1 || !rows[0]) throw new RowCountError('1', rows.length);
  return rows[0];
}

/** Runs a statement that returns zero or one row. @throws RowCountError on more. */
export async function maybeOne<R extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  values: readonly unknown[] = [],
): Promise<R | undefined> {
  const rows = await many<R>(db, sql, values);
  if (rows.length > 1) throw new RowCountError('0 or 1', rows.length);
  return rows[0];
}

/** Runs a statement for its effect; returns the affected row count. */
export async function exec(db: Queryable, sql: string, values: readonly unknown[] = []): Promise<number> {
  const res = await db.query(sql, values as unknown[]);
  return res.rowCount ?? 0;
}
