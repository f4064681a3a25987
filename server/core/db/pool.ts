/**
 * Database access: the pools and the transaction helpers every repository runs inside.
 *
 * - `app` connects as a role that owns nothing and cannot bypass RLS; all request work. Who
 *   it acts for is proven inside each request's one transaction ({@link withRequest}).
 * - `sfu`, `jobs`, `sweep`: the duty roles (sql/099_duties.sql), each with only its functions.
 * - `owner` is the migration owner; used only by migrations and the operator's CLIs.
 *
 * Tenant work runs only inside {@link withTenant}: BEGIN, the proof or the duty's org,
 * run, COMMIT/ROLLBACK, release. A guard throws when code inside a tenant transaction queries
 * through the pool instead of its transaction client (the bug that silently skips RLS).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { parse as parseUrl } from 'pg-connection-string';

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
  /** The request path: a role that owns nothing; who it acts for is proven per transaction. */
  readonly app: pg.Pool;
  readonly owner: pg.Pool;
  /** SFU capture (sfu_* functions), for the org a join token names. */
  readonly sfu: pg.Pool;
  /** Job workers (transcription, exports), for the org a job payload names. */
  readonly jobs: pg.Pool;
  /** Lifecycle and billing sweeps, Stripe webhooks: the cross-tenant functions. */
  readonly sweep: pg.Pool;
  /** The URLs the pools were opened with (an export's worker thread opens its own). */
  readonly urls: { readonly owner: string; readonly app: string };
  close(): Promise<void>;
}

/**
 * Opens the pools. `appUrl` must name a role without BYPASSRLS (checked at migration). The
 * duty pools log in as the roles migrate() created, with the passwords it keeps in the
 * owner-only app.role_passwords (read through the owner pool when a connection opens).
 */
export function openDatabase(
  ownerUrl: string,
  appUrl: string,
  poolSize: number,
  /** Embedded mode: the duty roles' passwords from DATA_DIR/secrets (not the owner-only table). */
  dutyPasswords?: Readonly<Record<'recorder_sfu' | 'recorder_jobs' | 'recorder_sweep', string>>,
): Database {
  const app = guarded(new pg.Pool({ connectionString: appUrl, max: poolSize, application_name: 'recorder-api' }));
  const owner = guarded(new pg.Pool({ connectionString: ownerUrl, max: 3, application_name: 'recorder-admin' }));
  const passwords = new Map<string, Promise<string>>();
  const duty = (role: string, max: number) => {
    // Discrete fields, not a connection string: pg lets a URL's (empty) password override the function.
    const { user: _owner, password: _password, ...where } = parseUrl(ownerUrl);
    return guarded(
      new pg.Pool({
        ...(where as pg.PoolConfig),
        user: role,
        max,
        application_name: `recorder-${role.replace(/^recorder_/, '')}`,
        password: () => {
          const given = dutyPasswords?.[role as keyof typeof dutyPasswords];
          if (given) return Promise.resolve(given);
          let p = passwords.get(role);
          if (!p) {
            p = owner
              .query<{ password: string }>('select password from app.role_passwords where role = $1', [role])
              .then((r) => {
                const pw = r.rows[0]?.password;
                if (!pw) throw new Error(`no password for ${role}: run the migrations`);
                return pw;
              });
            p.catch(() => passwords.delete(role));
            passwords.set(role, p);
          }
          return p;
        },
      }),
    );
  };
  const sfu = duty('recorder_sfu', Math.max(2, Math.ceil(poolSize / 2)));
  const jobs = duty('recorder_jobs', Math.max(2, Math.ceil(poolSize / 2)));
  const sweep = duty('recorder_sweep', 3);
  return {
    app,
    owner,
    sfu,
    jobs,
    sweep,
    urls: { owner: ownerUrl, app: appUrl },
    async close() {
      await Promise.all([app.end(), sfu.end(), jobs.end(), sweep.end()]);
      await owner.end();
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

/** What a request presents to the database: its session token, or an API key's proof, and the org it addresses. */
export type RequestProof = SessionProof | KeyProof;

/** A session cookie's token (app.begin_request). */
export interface SessionProof {
  token: string;
  orgId: string | null;
  /** The configured idle timeout of a session (the database caps it). */
  idleS: number;
}

/** A bearer API key: its public prefix and the raw argon2id hash of its secret (app.begin_request_key). */
export interface KeyProof {
  keyPrefix: string;
  keyHash: Buffer;
  orgId: string | null;
}

/** Who the database says is asking (app.begin_request), with their role in the addressed org. */
export interface ProvenUser {
  userId: string;
  email: string;
  displayName: string | null;
  authSessionId: string;
  role: 'owner' | 'admin' | 'member' | null;
  /** Set when the proof was an API key: then the "user" is the key (userId = authSessionId = its id). */
  apiKey?: { id: string; name: string; prefix: string; orgId: string };
}

interface RequestTx {
  pool: pg.Pool;
  proof: RequestProof | null;
  client: pg.PoolClient | undefined;
  proven: ProvenUser | undefined;
  /** A query failed in the open transaction: it is rolled back and the next use starts afresh. */
  failed: boolean;
  /** The request's middleware returned: later work (a streamed body) opens its own transaction. */
  done: boolean;
}

const inRequest = new AsyncLocalStorage<RequestTx>();

let barrier: (() => Promise<void>) | undefined;

/**
 * Tests only: awaited before every transaction begins, so a move of the owner-only clock
 * override (app.clock_offset) has landed before the next transaction reads app.now().
 */
export function setTransactionBarrier(fn: (() => Promise<void>) | undefined): void {
  barrier = fn;
}

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * BEGIN and the proof in one round trip (a simple query of two statements). Its values are
 * inlined, so each is checked against a strict pattern first (a token is base64url, an org a
 * uuid, the idle time an integer); anything else is refused before it reaches SQL.
 */
async function beginProven(client: pg.PoolClient, proof: RequestProof): Promise<ProvenUser | undefined> {
  if ('keyPrefix' in proof) return beginProvenKey(client, proof);
  if (!TOKEN.test(proof.token) || (proof.orgId !== null && !UUID.test(proof.orgId)) || !Number.isInteger(proof.idleS))
    throw new Error('malformed request proof');
  const org = proof.orgId === null ? 'null' : `'${proof.orgId}'::uuid`;
  const results = (await client.query(
    `begin; select user_id, email, display_name, auth_session_id, org_role
              from app.begin_request('${proof.token}', ${org}, ${proof.idleS})`,
  )) as unknown as pg.QueryResult<ProvenRow>[];
  return provenFrom(results[1]?.rows[0]);
}

const KEY_PREFIX = /^[a-z0-9]{12}$/;

/** The same for an API key: the prefix is checked, the hash inlined as hex. */
async function beginProvenKey(client: pg.PoolClient, proof: KeyProof): Promise<ProvenUser | undefined> {
  if (
    !KEY_PREFIX.test(proof.keyPrefix) ||
    proof.keyHash.length !== 32 ||
    (proof.orgId !== null && !UUID.test(proof.orgId))
  )
    throw new Error('malformed request proof');
  const org = proof.orgId === null ? 'null' : `'${proof.orgId}'::uuid`;
  const results = (await client.query(
    `begin; select api_key_id, key_name, key_prefix, organization_id, org_role
              from app.begin_request_key('${proof.keyPrefix}', '\\x${proof.keyHash.toString('hex')}'::bytea, ${org})`,
  )) as unknown as pg.QueryResult<ProvenKeyRow>[];
  const r = results[1]?.rows[0];
  return r
    ? {
        userId: r.api_key_id,
        email: '',
        displayName: r.key_name,
        authSessionId: r.api_key_id,
        role: r.org_role,
        apiKey: { id: r.api_key_id, name: r.key_name, prefix: r.key_prefix, orgId: r.organization_id },
      }
    : undefined;
}

interface ProvenKeyRow {
  api_key_id: string;
  key_name: string;
  key_prefix: string;
  organization_id: string;
  org_role: ProvenUser['role'];
}

interface ProvenRow {
  user_id: string;
  email: string;
  display_name: string | null;
  auth_session_id: string;
  org_role: ProvenUser['role'];
}

function provenFrom(r: ProvenRow | undefined): ProvenUser | undefined {
  return r
    ? {
        userId: r.user_id,
        email: r.email,
        displayName: r.display_name,
        authSessionId: r.auth_session_id,
        role: r.org_role,
      }
    : undefined;
}

async function openProven(pool: pg.Pool, proof: RequestProof | null) {
  await barrier?.();
  const client = await pool.connect();
  try {
    const proven = proof ? await beginProven(client, proof) : (await client.query('begin'), undefined);
    return { client, proven };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    client.release();
    throw err;
  }
}

async function finish(client: pg.PoolClient, commit: boolean): Promise<void> {
  try {
    await client.query(commit ? 'commit' : 'rollback');
  } finally {
    client.release();
  }
}

/**
 * One request, one transaction: with a session token, opens the transaction at once and
 * proves the token inside it (app.begin_request sets the verified user and org); every
 * {@link withTenant} / {@link withUser} on `pool` during `fn` runs in that transaction. It
 * commits when `fn` ends (also when `fn` throws an error of its own after the database work
 * succeeded, as separate transactions did); a failed query rolls it back, and the next use
 * proves again in a fresh one. Without a token nothing is opened up front.
 */
export async function withRequest<T>(
  pool: pg.Pool,
  proof: RequestProof | null,
  fn: (proven: ProvenUser | undefined) => Promise<T>,
): Promise<T> {
  const req: RequestTx = { pool, proof, client: undefined, proven: undefined, failed: false, done: false };
  if (proof) {
    const opened = await openProven(pool, proof);
    req.client = opened.client;
    req.proven = opened.proven;
  }
  try {
    return await inRequest.run(req, () => fn(req.proven));
  } finally {
    req.done = true;
    const client = req.client;
    req.client = undefined;
    if (client) await finish(client, !req.failed);
  }
}

/**
 * Runs `fn`, a network round trip (KMS, Stripe, object storage), with no pooled connection
 * held for the request (CONVENTIONS rule 5): the request's transaction so far is committed
 * (rolled back if a query failed) and its connection released; the request's next query
 * proves the token again in a fresh transaction. Outside a request it just runs `fn`.
 */
export async function outsideTransaction<T>(fn: () => Promise<T>): Promise<T> {
  const req = inRequest.getStore();
  if (req?.client && !req.done && !inTransaction.getStore()) {
    const client = req.client;
    const failed = req.failed;
    req.client = undefined;
    req.failed = false;
    await finish(client, !failed);
  }
  return fn();
}

/** The user the current request proved, if any. */
export function provenUser(): ProvenUser | undefined {
  return inRequest.getStore()?.proven;
}

async function runIn<T>(client: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction.run({ client }, () => fn(oneQueryAtATime(client)));
}

/**
 * Runs `fn` in a transaction on `pool`.
 *
 * - The request pool (`db.app`) inside {@link withRequest}: the request's own transaction,
 *   with the proof in it; `scope` must agree with what was proven. Outside a request the
 *   transaction has no user and no org (sign-in functions, guest links).
 * - A duty pool (`db.sfu`, `db.jobs`, `db.sweep`): its own transaction with `app.org_id`
 *   set to `scope.orgId` (taken as given only for those roles: sql/010_functions.sql).
 *
 * Commits when `fn` resolves, rolls back when it throws (and rethrows).
 */
export async function withTenant<T>(
  pool: pg.Pool,
  scope: TenantScope,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (inTransaction.getStore()) throw new TenantGuardError();
  const req = inRequest.getStore();
  if (req && req.pool === pool) {
    if (req.proof && req.proven) {
      if (scope.userId && scope.userId !== req.proven.userId) throw new ScopeMismatchError();
      if (scope.orgId && (scope.orgId !== req.proof.orgId || !req.proven.role)) throw new ScopeMismatchError();
    }
    if (!req.done && req.proof) {
      if (req.failed && req.client) {
        const old = req.client;
        req.client = undefined;
        req.failed = false;
        await finish(old, false);
      }
      if (!req.client) {
        const opened = await openProven(pool, req.proof);
        req.client = opened.client;
      }
      try {
        return await runIn(req.client, fn);
      } catch (err) {
        req.failed = true;
        throw err;
      }
    }
    if (req.proof) {
      // After the response was handed over (a streamed body): a transaction of its own, proven again.
      const opened = await openProven(pool, req.proof);
      let ok = false;
      try {
        const result = await runIn(opened.client, fn);
        ok = true;
        return result;
      } finally {
        await finish(opened.client, ok);
      }
    }
  }
  await barrier?.();
  const client = await pool.connect();
  try {
    await client.query('begin');
    // Honoured only for the duty roles; the request path's context comes from its proof.
    if (scope.orgId) await client.query("select set_config('app.org_id', $1::text, true)", [scope.orgId]);
    const result = await runIn(client, fn);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Thrown when code asks the request pool for another user or org than the request proved. */
export class ScopeMismatchError extends Error {
  constructor() {
    super('a transaction on the request pool asked for another user or org than the request proved');
    this.name = 'ScopeMismatchError';
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
  const res = await db.query<R>({ name: statementName(sql), text: sql, values: values as unknown[] });
  return res.rows;
}

const names = new Map<string, string>();

/**
 * Repository statements are prepared once per connection (named by a hash of their text):
 * parsing and planning, which RLS policies make costlier, then happen once, not per request.
 */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `r_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
    names.set(sql, name);
  }
  return name;
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
  const res = await db.query({ name: statementName(sql), text: sql, values: values as unknown[] });
  return res.rowCount ?? 0;
}
