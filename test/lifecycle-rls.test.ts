// The lifecycle's tenant tables (deletion_certificates, export_jobs) at the database: as
// the API's own role, a member of org A reads and writes only A's rows, whatever the SQL
// says; plain members do not see exports; and the cross-tenant admin functions of key
// rotation are not the API role's to call. Each check runs in a rolled-back transaction.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { asTenant, openTwoTenants, type TwoTenants } from './helpers/db.ts';

let tenants: TwoTenants;
let owner: pg.Client;
let app: pg.Client;
const ids = { userA: '', userB: '', memberA: '', orgA: '', orgB: '', sessionA: '', sessionB: '' };

before(async () => {
  tenants = await openTwoTenants();
  ({ owner, app } = tenants);
  Object.assign(ids, tenants.ids);
  const m = await owner.query<{ id: string }>(`insert into users (email) values ('m@example.com') returning id`);
  ids.memberA = m.rows[0]!.id;
  await owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [
    ids.orgA,
    ids.memberA,
  ]);
  for (const [org, user, key] of [
    [ids.orgA, ids.userA, 'sessionA'],
    [ids.orgB, ids.userB, 'sessionB'],
  ] as const) {
    const s = await owner.query<{ id: string }>(
      `insert into recording_sessions (organization_id, title, created_by, guest_token_hash,
                                       wrapped_key, key_erased_at)
       values ($1, 'S', $2, gen_random_bytes(32), null, now()) returning id`,
      [org, user],
    );
    ids[key] = s.rows[0]?.id ?? '';
    await owner.query(
      `insert into deletion_certificates (id, organization_id, session_id, reason, statement, signature)
       values ($1, $2, $3, 'deleted', '{}', 'sig')`,
      [randomUUID(), org, ids[key]],
    );
    await owner.query(
      `insert into export_jobs (organization_id, requested_by, recipient_kind) values ($1, $2, 'passphrase')`,
      [org, user],
    );
  }
});

after(async () => {
  await tenants.close();
});

/** As the API role, with this tenant and user, always rolled back. */
const asApp = <T>(orgId: string | null, userId: string | null, fn: () => Promise<T>): Promise<T> =>
  asTenant(app, orgId, userId, fn);

const count = async (sql: string, values: unknown[] = []) =>
  (await app.query<{ n: number }>(sql, values)).rows[0]?.n ?? -1;

test('the seed is real: the owner sees both orgs in both tables', async () => {
  for (const t of ['deletion_certificates', 'export_jobs'])
    assert.equal((await owner.query(`select count(distinct organization_id)::int as n from ${t}`)).rows[0].n, 2, t);
});

test("a member of A sees A's certificates; an admin of A sees A's exports; neither sees B's, even pointing at B", async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    assert.equal(await count('select count(*)::int as n from deletion_certificates'), 1);
    assert.equal(await count('select count(*)::int as n from export_jobs'), 1);
    assert.equal(
      await count('select count(*)::int as n from deletion_certificates where organization_id = $1', [ids.orgB]),
      0,
    );
    assert.equal(await count('select count(*)::int as n from export_jobs where organization_id = $1', [ids.orgB]), 0);
  });
  await asApp(ids.orgB, ids.userA, async () => {
    assert.equal(await count('select count(*)::int as n from deletion_certificates'), 0);
    assert.equal(await count('select count(*)::int as n from export_jobs'), 0);
  });
  await asApp(ids.orgA, ids.memberA, async () => {
    assert.equal(await count('select count(*)::int as n from deletion_certificates'), 1, 'members see certificates');
    assert.equal(await count('select count(*)::int as n from export_jobs'), 0, 'plain members do not see exports');
  });
});

test("a member of A cannot write B's lifecycle rows", async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(
        `insert into export_jobs (organization_id, requested_by, recipient_kind) values ($1, $2, 'passphrase')`,
        [ids.orgB, ids.userA],
      ),
      /row-level security/,
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(
        `insert into deletion_certificates (id, organization_id, session_id, reason, statement, signature)
         values ($1, $2, $3, 'deleted', '{}', 'x')`,
        [randomUUID(), ids.orgB, ids.sessionB],
      ),
      /row-level security/,
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    assert.equal(
      (await app.query(`update export_jobs set status = 'failed' where organization_id = $1`, [ids.orgB])).rowCount,
      0,
    );
    await assert.rejects(app.query(`delete from deletion_certificates`), /permission denied/);
  });
});

test("the API role cannot call the operator's rotation functions nor swap an org's KMS key", async () => {
  for (const sql of [
    'select * from app.rotation_key_usage()',
    `select app.set_org_kms_key('${ids.orgB}', 'arn:x')`,
    `select app.rotation_store('${ids.sessionB}', '{}', '{}')`,
  ]) {
    await asApp(ids.orgA, ids.userA, async () => {
      await assert.rejects(app.query(sql), /permission denied/);
    });
  }
});

test('only an owner of the current org schedules its deletion; the app role cannot forge the lifecycle bypass', async () => {
  await asApp(ids.orgA, ids.memberA, async () => {
    await assert.rejects(app.query('select * from app.schedule_org_deletion()'), /owner_required/);
  });
  await asApp(ids.orgB, ids.userA, async () => {
    await assert.rejects(app.query('select * from app.schedule_org_deletion()'), /owner_required/);
  });
  await owner.query(
    `update organizations set deletion_scheduled_at = now(), deletion_due_at = now() + interval '7 days' where id = $1`,
    [ids.orgA],
  );
  try {
    await asApp(ids.orgA, ids.userA, async () => {
      await app.query(`select set_config('app.lifecycle', 'on', true)`);
      await assert.rejects(
        app.query(`update organizations set name = 'x' where id = $1`, [ids.orgA]),
        /org_pending_deletion/,
      );
    });
  } finally {
    await owner.query(`update organizations set deletion_scheduled_at = null, deletion_due_at = null where id = $1`, [
      ids.orgA,
    ]);
  }
});
