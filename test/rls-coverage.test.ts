// Every table that holds organization_id must have row-level security enabled AND forced,
// and the API's role must be unable to bypass it. New tables cannot forget this.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';

let db: TestDatabase;
let owner: pg.Client;
before(async () => {
  db = await freshDatabase();
  owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
});
after(async () => {
  await owner.end();
  await db.drop();
});

test('every table with organization_id (and organizations itself) has enabled and forced RLS with policies', async () => {
  const { rows } = await owner.query<{ table: string; enabled: boolean; forced: boolean; policies: number }>(`
    select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
           (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
       and (c.relname = 'organizations' or exists (
         select 1 from pg_attribute a
          where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped))
     order by 1`);
  assert.ok(rows.length >= 4, `expected the tenant tables, found ${rows.map((r) => r.table).join(', ')}`);
  const missing = rows
    .filter((r) => !r.enabled || !r.forced || r.policies === 0)
    .map((r) => `${r.table} (enabled=${r.enabled}, forced=${r.forced}, policies=${r.policies})`);
  assert.deepEqual(missing, [], `tables without enabled+forced RLS: ${missing.join('; ')}`);
});

test('the API role is not superuser, cannot bypass RLS and owns nothing', async () => {
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  try {
    const me = await app.query<{ rolsuper: boolean; rolbypassrls: boolean; owned: number }>(`
      select r.rolsuper, r.rolbypassrls,
             (select count(*)::int from pg_class c where c.relowner = r.oid)
             + (select count(*)::int from pg_proc p where p.proowner = r.oid) as owned
        from pg_roles r where r.rolname = current_user`);
    assert.equal(me.rows[0]?.rolsuper, false);
    assert.equal(me.rows[0]?.rolbypassrls, false);
    assert.equal(me.rows[0]?.owned, 0);
    // Group roles it inherits must not bypass RLS either.
    const groups = await app.query<{ rolname: string }>(
      `select g.rolname
         from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
        where u.rolname = current_user and (g.rolsuper or g.rolbypassrls)`,
    );
    assert.deepEqual(groups.rows, []);
  } finally {
    await app.end();
  }
});

test('with no tenant set, the API role sees no tenant rows at all', async () => {
  await owner.query(`insert into organizations (name) values ('Visible to nobody')`);
  const app = new pg.Client({ connectionString: db.appUrl });
  await app.connect();
  try {
    const { rows } = await app.query('select count(*)::int as n from organizations');
    assert.equal(rows[0].n, 0);
  } finally {
    await app.end();
  }
});
