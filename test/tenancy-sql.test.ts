// Cross-tenant access is impossible at the database: as the API's own role, a member of
// org A can neither read nor write org B's rows, whatever the SQL says. Each check runs in
// a transaction that is always rolled back.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { asTenant, openTwoTenants, type TwoTenants } from './helpers/db.ts';

let tenants: TwoTenants;
let owner: pg.Client;
let app: pg.Client;
const ids = { userA: '', userB: '', orgA: '', orgB: '' };

before(async () => {
  tenants = await openTwoTenants();
  ({ owner, app } = tenants);
  Object.assign(ids, tenants.ids);
  for (const [org, user] of [
    [ids.orgA, ids.userA],
    [ids.orgB, ids.userB],
  ] as const) {
    await owner.query(
      `insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
       values ($1, 'x@example.com', 'member', $2, $3, now() + interval '1 day')`,
      [org, randomBytes(32), user],
    );
    await owner.query(`insert into audit_log (organization_id, actor_user_id, action) values ($1, $2, 'test.seed')`, [
      org,
      user,
    ]);
  }
});

after(async () => {
  await tenants.close();
});

/** As the API role, with this tenant and user, always rolled back. */
const asApp = <T>(orgId: string | null, userId: string | null, fn: () => Promise<T>): Promise<T> =>
  asTenant(app, orgId, userId, fn);

async function tenantTables(): Promise<string[]> {
  const { rows } = await owner.query<{ t: string }>(`
    select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r','p') and n.nspname = 'public'
       and exists (select 1 from pg_attribute a
                    where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped)
     order by 1`);
  return rows.map((r) => r.t);
}

test('the seed is real: the owner sees rows of both orgs in every seeded tenant table', async () => {
  for (const t of ['memberships', 'invitations', 'audit_log']) {
    const { rows } = await owner.query(`select count(distinct organization_id)::int as n from ${t}`);
    assert.equal(rows[0].n, 2, t);
  }
});

test('a member of A sees their own org rows but none of B in any tenant table', async () => {
  const tables = await tenantTables();
  assert.ok(tables.includes('memberships') && tables.includes('invitations') && tables.includes('audit_log'));
  await asApp(ids.orgA, ids.userA, async () => {
    const own = await app.query('select count(*)::int as n from memberships');
    assert.equal(own.rows[0].n, 1, 'A sees its own membership');
    for (const t of tables) {
      const { rows } = await app.query(`select count(*)::int as n from ${t} where organization_id = $1`, [ids.orgB]);
      assert.equal(rows[0].n, 0, `${t} leaked org B rows`);
    }
    const orgs = await app.query('select id from organizations');
    assert.deepEqual(
      orgs.rows.map((r: { id: string }) => r.id),
      [ids.orgA],
    );
  });
});

test('pointing app.org_id at B does not help a user who is not a member of B', async () => {
  await asApp(ids.orgB, ids.userA, async () => {
    for (const t of ['organizations', 'memberships', 'invitations', 'audit_log']) {
      const { rows } = await app.query(`select count(*)::int as n from ${t}`);
      assert.equal(rows[0].n, 0, `${t} visible to a non-member`);
    }
  });
});

test('a member of A cannot update or delete B rows (zero rows affected)', async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    assert.equal((await app.query(`update organizations set name = 'pwned' where id = $1`, [ids.orgB])).rowCount, 0);
    assert.equal(
      (await app.query(`update memberships set role = 'member' where organization_id = $1`, [ids.orgB])).rowCount,
      0,
    );
    assert.equal((await app.query(`delete from memberships where organization_id = $1`, [ids.orgB])).rowCount, 0);
    assert.equal(
      (await app.query(`update invitations set revoked_at = now() where organization_id = $1`, [ids.orgB])).rowCount,
      0,
    );
    assert.equal((await app.query(`delete from invitations where organization_id = $1`, [ids.orgB])).rowCount, 0);
  });
  const check = await owner.query(`select name from organizations where id = $1`, [ids.orgB]);
  assert.equal(check.rows[0].name, 'B');
});

test('a member of A cannot insert rows into B', async () => {
  for (const [sql, params] of [
    [
      `insert into invitations (organization_id, email, role, token_hash, expires_at)
       values ($1, 'y@example.com', 'member', $2, now() + interval '1 day')`,
      [ids.orgB, randomBytes(32)],
    ],
    [`insert into audit_log (organization_id, action) values ($1, 'forged')`, [ids.orgB]],
  ] as const) {
    await asApp(ids.orgA, ids.userA, async () => {
      await assert.rejects(app.query(sql, [...params]), (err: { code?: string }) => err.code === '42501');
    });
  }
  await asApp(ids.orgA, ids.userA, async () => {
    // Direct membership inserts are not granted at all: joining goes through invitations.
    await assert.rejects(
      app.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner')`, [
        ids.orgB,
        ids.userA,
      ]),
      (err: { code?: string }) => err.code === '42501',
    );
  });
});

test('a plain member cannot read the audit log or invitations of their own org', async () => {
  await owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [
    ids.orgA,
    ids.userB,
  ]);
  try {
    await asApp(ids.orgA, ids.userB, async () => {
      assert.equal((await app.query('select count(*)::int as n from audit_log')).rows[0].n, 0);
      assert.equal((await app.query('select count(*)::int as n from invitations')).rows[0].n, 0);
      assert.equal(
        (await app.query('select count(*)::int as n from memberships')).rows[0].n,
        2,
        'members see the member list',
      );
    });
  } finally {
    await owner.query(`delete from memberships where organization_id = $1 and user_id = $2`, [ids.orgA, ids.userB]);
  }
});

test('the last owner cannot be demoted or removed, even in raw SQL', async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`update memberships set role = 'admin' where organization_id = $1 and user_id = $2`, [
        ids.orgA,
        ids.userA,
      ]),
      /last_owner/,
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`delete from memberships where organization_id = $1 and user_id = $2`, [ids.orgA, ids.userA]),
      /last_owner/,
    );
  });
});
