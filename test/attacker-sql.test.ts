// An attacker holding the API role's connection string (one SQL injection, one leaked
// DATABASE_APP_URL). With no session token: every table reads nothing or is refused, every
// write is refused, every function the role may execute refuses or returns nothing, and no
// grace period can be shortened; settings the role sets itself prove nothing. With a valid
// session token of user A: nothing of org B, and no session for anyone else.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { openTwoTenants, sessionTokenFor, type TwoTenants } from './helpers/db.ts';
import { ARGON2_PARAMS, generateKey, keyHash } from '../server/core/crypto/apiKeys.ts';

let t: TwoTenants;
let owner: pg.Client;
let app: pg.Client;
const ids = { userA: '', userB: '', orgA: '', orgB: '', sessionB: '' };
let tokenA = '';
/** API keys of A (admin) and B (admin): prefix and the raw argon2id hash app.begin_request_key takes. */
interface SeededKey {
  id: string;
  prefix: string;
  hash: Buffer;
}
const keys: Record<'a' | 'b', SeededKey> = {
  a: { id: '', prefix: '', hash: Buffer.alloc(0) },
  b: { id: '', prefix: '', hash: Buffer.alloc(0) },
};

async function seedKey(orgId: string, userId: string): Promise<SeededKey> {
  const k = generateKey();
  const hash = await keyHash(k.secret, k.salt, ARGON2_PARAMS);
  const r = await owner.query<{ id: string }>(
    `insert into api_keys (organization_id, name, prefix, role, salt, argon2_memory_kib, argon2_iterations,
                           argon2_parallelism, verifier, created_by)
     values ($1, 'seed', $2, 'admin', $3, $4, $5, $6, sha256($7), $8) returning id`,
    [
      orgId,
      k.prefix,
      k.salt,
      ARGON2_PARAMS.memoryKib,
      ARGON2_PARAMS.iterations,
      ARGON2_PARAMS.parallelism,
      hash,
      userId,
    ],
  );
  return { id: r.rows[0]!.id, prefix: k.prefix, hash };
}

before(async () => {
  t = await openTwoTenants();
  ({ owner, app } = t);
  Object.assign(ids, t.ids);
  await owner.query(`update app.context_key set code_key = gen_random_bytes(32) where code_key is null`);
  const s = await owner.query<{ id: string }>(
    `insert into recording_sessions (organization_id, title, created_by, guest_token_hash, wrapped_key)
     values ($1, 'B talk', $2, gen_random_bytes(32), '{"provider":"local","keyId":"k","ciphertext":"AAAA"}')
     returning id`,
    [ids.orgB, ids.userB],
  );
  ids.sessionB = s.rows[0]!.id;
  await owner.query(`insert into audit_log (organization_id, actor_user_id, action) values ($1, $2, 'seed')`, [
    ids.orgB,
    ids.userB,
  ]);
  await owner.query(
    `update organizations set deletion_scheduled_at = now(), deletion_due_at = now() + interval '7 days' where id = $1`,
    [ids.orgB],
  );
  await owner.query(
    `update users set deletion_requested_at = now(), deletion_due_at = now() + interval '30 days' where id = $1`,
    [ids.userB],
  );
  keys.b = await seedKey(ids.orgB, ids.userB);
  keys.a = await seedKey(ids.orgA, ids.userA);
  await sessionTokenFor(owner, ids.userB);
  tokenA = await sessionTokenFor(owner, ids.userA);
});
after(() => t.close());

/** Every table the database has, schema-qualified. */
async function allTables(): Promise<string[]> {
  const { rows } = await owner.query<{ t: string }>(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname in ('public', 'app', 'graphile_worker') order by 1`,
  );
  return rows.map((r) => r.t);
}

/** Runs `sql` in a savepoint; 'denied' for a permission or RLS refusal, else the rows. */
async function attempt(sql: string, values: unknown[] = []): Promise<'denied' | pg.QueryResult> {
  await app.query('savepoint a');
  try {
    const r = await app.query(sql, values);
    await app.query('release savepoint a');
    return r;
  } catch (err) {
    await app.query('rollback to savepoint a');
    const e = err as { code?: string; message?: string };
    if (e.code === '42501' || /^[a-z_]+: /.test(e.message ?? '')) return 'denied';
    throw err;
  }
}

/** The state of org B and user B that no attack may change. */
async function bState(): Promise<string> {
  const { rows } = await owner.query(
    `select (select row(name, deletion_due_at)::text from organizations where id = $1) o,
            (select row(deletion_due_at, restore_token_hash)::text from users where id = $2) u,
            (select row(wrapped_key, key_erased_at, title)::text from recording_sessions where id = $3) s,
            (select count(*) from auth_sessions where user_id = $2) sessions,
            (select count(*) from audit_log where organization_id = $1) audit,
            (select count(*) from memberships where organization_id = $1) members,
            (select json_agg(row(id, revoked_at, last_used_at, verifier)) from api_keys where organization_id = $1) keys,
            (select offset_s from app.clock_offset) clock`,
    [ids.orgB, ids.userB, ids.sessionB],
  );
  return JSON.stringify(rows[0]);
}

/** Forged context: every setting the role can set, pointing at B. */
async function forge(): Promise<void> {
  for (const [k, v] of [
    ['app.org_id', ids.orgB],
    ['app.user_id', ids.userB],
    ['app.ctx_user', ids.userB],
    ['app.ctx_org', ids.orgB],
    ['app.ctx_session', ids.userB],
    ['app.ctx_sig', 'AAAA'],
    ['app.lifecycle', 'on'],
  ])
    await app.query('select set_config($1, $2, true)', [k, v]);
}

async function sampleRow(table: string): Promise<Record<string, unknown> | undefined> {
  return (await owner.query(`select * from ${table} limit 1`)).rows[0] as Record<string, unknown> | undefined;
}

async function everyTableClosed(label: string, orgScoped: boolean): Promise<void> {
  for (const table of await allTables()) {
    const r = await attempt(`select * from ${table}`);
    if (r !== 'denied') {
      const leaked = r.rows.filter((row: Record<string, unknown>) => {
        if (!orgScoped) return true;
        return (
          row.organization_id === ids.orgB ||
          (table === 'public.organizations' && row.id === ids.orgB) ||
          (table === 'public.users' && row.id === ids.userB) ||
          row.user_id === ids.userB
        );
      });
      assert.equal(leaked.length, 0, `${label}: ${table} returned ${leaked.length} row(s)`);
    }
    const row = await sampleRow(table);
    const ins = await attempt(
      `insert into ${table} overriding system value select * from json_populate_record(null::${table}, $1::json)`,
      [JSON.stringify(row ?? {})],
    );
    if (ins !== 'denied') assert.fail(`${label}: insert into ${table} was not refused`);
    const del = await attempt(`delete from ${table}`);
    assert.ok(del === 'denied' || del.rowCount === 0, `${label}: delete from ${table} removed rows`);
  }
}

test('no token: every table reads nothing and refuses writes, even with forged settings', async () => {
  const before = await bState();
  await app.query('begin');
  try {
    await forge();
    await everyTableClosed('no token', false);
    for (const sql of [
      `update organizations set deletion_due_at = now() - interval '1 day'`,
      `update users set deletion_due_at = now() - interval '1 day'`,
      `update auth_sessions set revoked_at = null`,
      `update recording_sessions set wrapped_key = null`,
    ]) {
      const r = await attempt(sql);
      assert.ok(r === 'denied' || r.rowCount === 0, sql);
    }
  } finally {
    await app.query('rollback');
  }
  assert.equal(await bState(), before);
});

/** Every function in schema app the API role may execute, with its argument types. */
async function executableFunctions(): Promise<{ fn: string; name: string; args: string[] }[]> {
  const { rows } = await app.query<{ fn: string; name: string; args: string[] }>(
    `select p.oid::regprocedure::text as fn, p.proname as name,
            array(select format_type(t, null) from unnest(p.proargtypes) t) as args
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'app' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
        and has_function_privilege(p.oid, 'execute') order by 1`,
  );
  return rows;
}

/**
 * Arguments aimed at B: uuids are B's ids in turn, times far in the future, the rest junk
 * (sign-in with B's address is tried on its own below).
 */
function argsFor(types: string[], uuid: string): unknown[] {
  return types.map((ty) =>
    ty === 'uuid'
      ? uuid
      : ty.startsWith('timestamp')
        ? '2100-01-01T00:00:00Z'
        : ty === 'text'
          ? 'zz-attack'
          : ty === 'bytea'
            ? randomBytes(32)
            : ty === 'integer' || ty === 'bigint' || ty === 'real'
              ? 1
              : ty === 'boolean'
                ? true
                : ty === 'jsonb'
                  ? '{}'
                  : null,
  );
}

/** True when a result carries nothing: no rows, or only NULLs / false / empty arrays. */
function empty(r: pg.QueryResult): boolean {
  return r.rows.every((row: Record<string, unknown>) =>
    Object.values(row).every((v) => v === null || v === false || (Array.isArray(v) && v.length === 0)),
  );
}

async function everyFunctionRefuses(label: string, allowed: (fn: string, r: pg.QueryResult) => boolean) {
  const fns = await executableFunctions();
  assert.ok(fns.length >= 15, `${label}: found ${fns.length} executable functions`);
  for (const f of fns) {
    for (const target of [ids.orgB, ids.userB, ids.sessionB]) {
      const placeholders = f.args.map((ty, i) => `$${i + 1}::${ty}`).join(', ');
      const r = await attempt(`select * from app.${f.name}(${placeholders})`, argsFor(f.args, target));
      if (r === 'denied' || empty(r) || allowed(f.fn, r)) continue;
      assert.fail(`${label}: ${f.fn} answered ${JSON.stringify(r.rows)} for ${target}`);
    }
  }
}

// Answers that carry nothing of B: a policy helper saying "no", a sealed code (the API
// role cannot open it), a rate-limit count, the caller's own new organization.
const harmless = (fn: string, r: pg.QueryResult): boolean =>
  (/^app\.signin_verify\(/.test(fn) && r.rows.every((x: { status?: string }) => x.status === 'invalid')) ||
  /^app\.(signin_issue_code|rate_limit_hit|create_organization|billing_entitled|billing_current_subscription)\(/.test(
    fn,
  ) ||
  (/^app\.(is_member|is_admin|acting_for_org|privileged_role)\(/.test(fn) &&
    r.rows.every((x) => Object.values(x).every((v) => v === false)));

test('no token: every function the role may execute refuses or returns nothing, and no grace period moves', async () => {
  const before = await bState();
  await app.query('begin');
  try {
    await forge();
    await everyFunctionRefuses('no token', harmless);
    for (const [sql, values] of [
      [`select * from app.org_deletion_finish($1, '{}')`, [ids.orgB]],
      [`select * from app.purge_account($1)`, [ids.userB]],
      [`select * from app.lifecycle_erase_session($1, 'session.erased_by_retention')`, [ids.sessionB]],
      [`select * from app.org_deletion_erase_keys($1)`, [ids.orgB]],
      [`select * from app.lifecycle_accounts_due(10)`, []],
      [`update app.clock_offset set offset_s = 86400 * 60`, []],
    ] as const)
      assert.equal(await attempt(sql, [...values]), 'denied', sql);
  } finally {
    await app.query('rollback');
  }
  assert.equal(await bState(), before, "B's org, account, recording and sessions are unchanged");
});

test('a valid token of A: nothing of B is reachable, and no session for anyone else', async () => {
  const before = await bState();
  await app.query('begin');
  try {
    const proven = await app.query('select * from app.begin_request($1, $2, 604800)', [tokenA, ids.orgB]);
    assert.equal(proven.rows[0]?.org_role, null, 'A is not a member of B');
    await everyTableClosed('token of A', true);
    // A's own answers (their id, their memberships) are fine; none may carry anything of B.
    const ofB = [ids.orgB, ids.userB, ids.sessionB, 'b@example.com', 'B talk'];
    await everyFunctionRefuses(
      'token of A',
      (fn, r) => harmless(fn, r) || !ofB.some((x) => JSON.stringify(r.rows).includes(x)),
    );
    const forged = await attempt(
      `insert into auth_sessions (user_id, token_hash, expires_at) values ($1, sha256('x'), now() + interval '1 day')`,
      [ids.userB],
    );
    assert.equal(forged, 'denied');
    const verify = await app.query(
      `select status from app.signin_verify('b@example.com', '123456', $1, $1, null, null, 5, 86400, true)`,
      [randomBytes(32).toString('base64url')],
    );
    assert.equal(verify.rows[0]?.status, 'invalid', 'a guessed code creates nothing');
    const restored = await app.query(`select * from app.signin_restore($1, $1, null, null, 86400)`, [
      randomBytes(32).toString('base64url'),
    ]);
    assert.equal(restored.rowCount, 0);
  } finally {
    await app.query('rollback');
  }
  await app.query('begin');
  try {
    await app.query('select * from app.begin_request($1, $2, 604800)', [tokenA, ids.orgA]);
    const own = await app.query('select id from organizations');
    assert.deepEqual(
      own.rows.map((r: { id: string }) => r.id),
      [ids.orgA],
      'the proof works: A sees A',
    );
    // A copied signature does not carry over to another transaction.
    const ctx = (
      await app.query(
        `select current_setting('app.ctx_user') u, current_setting('app.ctx_org') o,
                current_setting('app.ctx_session') s, current_setting('app.ctx_sig') g`,
      )
    ).rows[0] as { u: string; o: string; s: string; g: string };
    await app.query('commit');
    await app.query('begin');
    for (const [k, v] of [
      ['app.ctx_user', ctx.u],
      ['app.ctx_org', ctx.o],
      ['app.ctx_session', ctx.s],
      ['app.ctx_sig', ctx.g],
    ])
      await app.query('select set_config($1, $2, true)', [k, v]);
    assert.equal(
      (await app.query('select count(*)::int n from organizations')).rows[0].n,
      0,
      'a replayed context is void',
    );
  } finally {
    await app.query('rollback');
  }
  assert.equal(await bState(), before);
});

test("API keys: a wrong hash proves nothing, A's key reaches nothing of B, and a key cannot act as a person", async () => {
  const before = await bState();
  await app.query('begin');
  try {
    // B's prefix is public; without the secret's hash no context is set.
    const guessed = await app.query('select * from app.begin_request_key($1, $2, $3)', [
      keys.b.prefix,
      randomBytes(32),
      ids.orgB,
    ]);
    assert.equal(guessed.rowCount, 0);
    assert.equal((await app.query('select app.current_api_key_id() k, app.current_org_id() o')).rows[0].k, null);
    // The salt lookup reveals nothing to prove with, and never the verifier.
    const salt = await app.query('select * from app.api_key_salt($1)', [keys.b.prefix]);
    assert.deepEqual(Object.keys(salt.rows[0] ?? {}).sort(), ['iterations', 'memory_kib', 'parallelism', 'salt']);
    assert.equal(await attempt('select verifier from api_keys'), 'denied');
    assert.equal(await attempt('select salt from api_keys'), 'denied');
    // A's key addressed at B: no org, so nothing of B.
    const proven = await app.query('select * from app.begin_request_key($1, $2, $3)', [
      keys.a.prefix,
      keys.a.hash,
      ids.orgB,
    ]);
    assert.equal(proven.rows[0]?.org_role, null, "A's key is not B's");
    await everyTableClosed('key of A at B', true);
  } finally {
    await app.query('rollback');
  }
  await app.query('begin');
  try {
    const proven = await app.query('select * from app.begin_request_key($1, $2, $3)', [
      keys.a.prefix,
      keys.a.hash,
      ids.orgA,
    ]);
    assert.equal(proven.rows[0]?.org_role, 'admin');
    const own = await app.query('select id from organizations');
    assert.deepEqual(
      own.rows.map((r: { id: string }) => r.id),
      [ids.orgA],
      "the proof works: A's key sees A",
    );
    await everyTableClosed('key of A', true);
    // Not a person: no user, no keys to see or mint, no members to change.
    assert.equal((await app.query('select app.current_user_id() u')).rows[0].u, null);
    assert.equal((await app.query('select count(*)::int n from api_keys')).rows[0].n, 0, 'a key sees no keys');
    const minted = await attempt(
      `insert into api_keys (organization_id, name, prefix, role, salt, argon2_memory_kib, argon2_iterations,
                             argon2_parallelism, verifier, created_by)
       values ($1, 'minted', 'zzzzzzzzzzzz', 'admin', gen_random_bytes(16), 19456, 2, 1, gen_random_bytes(32), $2)`,
      [ids.orgA, ids.userA],
    );
    assert.equal(minted, 'denied', 'a key cannot create a key');
    const demoted = await attempt(`update memberships set role = 'member' where organization_id = $1`, [ids.orgA]);
    assert.ok(demoted === 'denied' || demoted.rowCount === 0, 'a key cannot change members');
    const removed = await attempt('delete from memberships where organization_id = $1', [ids.orgA]);
    assert.ok(removed === 'denied' || removed.rowCount === 0, 'a key cannot remove members');
    const invited = await attempt(
      `insert into invitations (organization_id, email, role, token_hash, expires_at)
       values ($1, 'x@example.com', 'owner', gen_random_bytes(32), now() + interval '1 day')`,
      [ids.orgA],
    );
    assert.equal(invited, 'denied', 'a key cannot invite');
    assert.equal(await attempt('select * from app.schedule_org_deletion()'), 'denied', 'a key cannot delete the org');
    // What a key writes names the key, whoever the statement claims.
    const forged = await app.query(
      `insert into audit_log (organization_id, actor_user_id, actor_email, action) values ($1, $2, 'a@example.com', 'forged')
       returning actor_user_id, actor_email, actor_api_key_id`,
      [ids.orgA, ids.userA],
    );
    assert.deepEqual(forged.rows[0], { actor_user_id: null, actor_email: null, actor_api_key_id: keys.a.id });
  } finally {
    await app.query('rollback');
  }
  // Revoked: the same hash proves nothing any more.
  await owner.query('update api_keys set revoked_at = now() where id = $1', [keys.a.id]);
  try {
    await app.query('begin');
    const r = await app.query('select * from app.begin_request_key($1, $2, $3)', [
      keys.a.prefix,
      keys.a.hash,
      ids.orgA,
    ]);
    assert.equal(r.rowCount, 0, 'a revoked key proves nothing');
    await app.query('rollback');
  } finally {
    await owner.query('update api_keys set revoked_at = null where id = $1', [keys.a.id]);
  }
  assert.equal(await bState(), before, "B's keys are unchanged and unused");
});
