// Cross-tenant checks of the webhook tables and functions, on the database roles themselves:
// the API role with user A's proof sees and changes nothing of org B's endpoints, deliveries
// or attempts, cannot queue an event for B's endpoint, and a member (not admin) of A sees
// none of A's; the job role acting for A gets nothing of B's from the delivery functions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { asTenant, dutyUrl, openTwoTenants, type TwoTenants } from './helpers/db.ts';

let t: TwoTenants;
const ids = { endpointA: '', endpointB: '', deliveryB: '', memberA: '' };

async function seedEndpoint(orgId: string): Promise<string> {
  const r = await t.owner.query<{ id: string }>(
    `insert into webhook_endpoints (organization_id, url, events, wrapped_key, secret_sealed)
     values ($1, 'https://hooks.example.com/x', '{member.added}', '{"version":1,"provider":"local","keyId":"k","ciphertext":"AAAA"}', '\\x00')
     returning id`,
    [orgId],
  );
  return r.rows[0]?.id ?? '';
}

before(async () => {
  t = await openTwoTenants();
  ids.endpointA = await seedEndpoint(t.ids.orgA);
  ids.endpointB = await seedEndpoint(t.ids.orgB);
  // An event in B: a new member of B (the trigger fills the outbox) and one attempt of it.
  const u = await t.owner.query<{ id: string }>(
    `insert into users (email) values ('c@example.com'), ('m@example.com') returning id`,
  );
  await t.owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [
    t.ids.orgB,
    u.rows[0]?.id,
  ]);
  ids.memberA = u.rows[1]?.id ?? '';
  await t.owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [
    t.ids.orgA,
    ids.memberA,
  ]);
  const d = await t.owner.query<{ id: string }>(
    `select id::text from webhook_deliveries where endpoint_id = $1 and event_type = 'member.added'`,
    [ids.endpointB],
  );
  ids.deliveryB = d.rows[0]?.id ?? '';
  assert.ok(ids.deliveryB, 'the membership trigger queued a delivery for B');
  await t.owner.query(
    `insert into webhook_attempts (organization_id, delivery_id, attempt, status, latency_ms) values ($1, $2, 1, 500, 10)`,
    [t.ids.orgB, ids.deliveryB],
  );
});
after(() => t.close());

async function denied(sql: string, values: unknown[]): Promise<boolean> {
  await t.app.query('savepoint s');
  try {
    const r = await t.app.query(sql, values);
    await t.app.query('release savepoint s');
    return r.rowCount === 0;
  } catch (err) {
    await t.app.query('rollback to savepoint s');
    const code = (err as { code?: string }).code;
    return code === '42501';
  }
}

test('the API role with user A proven reads and writes nothing of org B', async () => {
  await asTenant(t.app, t.ids.orgA, t.ids.userA, async () => {
    const own = await t.app.query('select id from webhook_endpoints');
    assert.deepEqual(
      own.rows.map((r: { id: string }) => r.id),
      [ids.endpointA],
    );
    assert.equal(
      (await t.app.query('select 1 from webhook_deliveries where organization_id = $1', [t.ids.orgB])).rowCount,
      0,
    );
    assert.equal((await t.app.query('select 1 from webhook_attempts')).rowCount, 0);
    assert.ok(
      await denied(`update webhook_endpoints set url = 'https://evil.example/' where id = $1`, [ids.endpointB]),
    );
    assert.ok(await denied(`delete from webhook_endpoints where id = $1`, [ids.endpointB]));
    // Queue an event for B's endpoint: under B's org, or under A's org pointing at B's endpoint.
    assert.ok(
      await denied(
        `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload) values ($1, $2, 'webhook.test', '{}')`,
        [t.ids.orgB, ids.endpointB],
      ),
    );
    assert.ok(
      await denied(
        `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload) values ($1, $2, 'webhook.test', '{}')`,
        [t.ids.orgA, ids.endpointB],
      ),
    );
    // Only test events: the API cannot forge a real one, even for its own endpoint.
    assert.ok(
      await denied(
        `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload) values ($1, $2, 'recording.ready', '{}')`,
        [t.ids.orgA, ids.endpointA],
      ),
    );
    assert.ok(
      await denied(
        `insert into webhook_endpoints (organization_id, url, events, wrapped_key, secret_sealed)
         values ($1, 'https://x.example/', '{member.added}', '{}', '\\x00')`,
        [t.ids.orgB],
      ),
    );
  });
  const stillB = await t.owner.query<{ url: string }>('select url from webhook_endpoints where id = $1', [
    ids.endpointB,
  ]);
  assert.equal(stillB.rows[0]?.url, 'https://hooks.example.com/x');
});

test('a member who is not an admin sees none of the org’s endpoints or deliveries', async () => {
  await asTenant(t.app, t.ids.orgA, ids.memberA, async () => {
    assert.equal((await t.app.query('select 1 from webhook_endpoints')).rowCount, 0);
    assert.equal((await t.app.query('select 1 from webhook_deliveries')).rowCount, 0);
    assert.ok(
      await denied(
        `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload) values ($1, $2, 'webhook.test', '{}')`,
        [t.ids.orgA, ids.endpointA],
      ),
    );
  });
});

test('no proof: the API role cannot run the delivery functions', async () => {
  for (const sql of [
    `select * from app.webhook_next('${ids.endpointB}')`,
    `select app.webhook_record_attempt(${ids.deliveryB}, 1, 200, 1, null, true, 0, 5)`,
    `select * from app.webhook_admin_emails('${ids.endpointB}')`,
  ]) {
    await t.app.query('begin');
    try {
      await assert.rejects(t.app.query(sql), (e: { code?: string }) => e.code === '42501', sql);
    } finally {
      await t.app.query('rollback');
    }
  }
});

test('the job role acting for A gets nothing of B from the delivery functions', async () => {
  await asTenant(t.jobs, t.ids.orgA, null, async () => {
    assert.equal((await t.jobs.query('select * from app.webhook_next($1)', [ids.endpointB])).rowCount, 0);
    assert.equal((await t.jobs.query('select * from app.webhook_admin_emails($1)', [ids.endpointB])).rowCount, 0);
    await t.jobs.query('savepoint s');
    await assert.rejects(
      t.jobs.query('select app.webhook_record_attempt($1, 1, 200, 1, null, true, 0, 5)', [ids.deliveryB]),
      /not_found/,
    );
    await t.jobs.query('rollback to savepoint s');
  });
  // Acting for B, the same calls find B's head delivery (the functions work; the boundary is the org).
  await asTenant(t.jobs, t.ids.orgB, null, async () => {
    const next = await t.jobs.query<{ delivery_id: string }>('select delivery_id::text from app.webhook_next($1)', [
      ids.endpointB,
    ]);
    assert.equal(next.rows[0]?.delivery_id, ids.deliveryB);
  });
  const d = await t.owner.query<{ state: string; attempts: number }>(
    'select state, attempts from webhook_deliveries where id = $1',
    [ids.deliveryB],
  );
  assert.deepEqual(d.rows[0], { state: 'pending', attempts: 0 });
});

test('deleting an organisation with endpoints and members leaves no webhook rows (its members leave no events)', async () => {
  const o = await t.owner.query<{ id: string }>(`insert into organizations (name) values ('Gone') returning id`);
  const orgId = o.rows[0]?.id ?? '';
  const endpoint = await seedEndpoint(orgId);
  await t.owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner')`, [
    orgId,
    t.ids.userA,
  ]);
  const queued = await t.owner.query('select 1 from webhook_deliveries where endpoint_id = $1', [endpoint]);
  assert.equal(queued.rowCount, 1, 'member.added was queued');
  await t.owner.query('delete from organizations where id = $1', [orgId]);
  const left = await t.owner.query('select 1 from webhook_deliveries where organization_id = $1', [orgId]);
  assert.equal(left.rowCount, 0);
});

test('the lifecycle sweep keeps 30 days of finished deliveries and every pending one', async () => {
  const mk = async (state: string, daysAgo: number) => {
    const r = await t.owner.query<{ id: string }>(
      `insert into webhook_deliveries (organization_id, endpoint_id, event_type, payload, state, finished_at, created_at)
       values ($1, $2, 'webhook.test', '{}', $3, case when $3 <> 'pending' then now() - make_interval(days => $4) end,
               now() - make_interval(days => $4)) returning id::text`,
      [t.ids.orgA, ids.endpointA, state, daysAgo],
    );
    return r.rows[0]?.id ?? '';
  };
  const old = await mk('delivered', 31);
  const oldFailed = await mk('failed', 40);
  const recent = await mk('delivered', 29);
  const pendingOld = await mk('pending', 60);
  const sweep = new pg.Client({ connectionString: await dutyUrl(t.db.ownerUrl, 'recorder_sweep') });
  await sweep.connect();
  try {
    const n = await sweep.query<{ n: number }>('select app.webhook_prune_log() as n');
    assert.equal(n.rows[0]?.n, 2);
  } finally {
    await sweep.end();
  }
  const left = await t.owner.query<{ id: string }>(
    'select id::text from webhook_deliveries where id = any($1::bigint[])',
    [[old, oldFailed, recent, pendingOld]],
  );
  assert.deepEqual(left.rows.map((r) => r.id).sort(), [recent, pendingOld].sort());
});
