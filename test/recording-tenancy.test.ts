// Recording tables at the database: as the API/SFU role, org A can neither read nor write
// org B's sessions, participants, takes, tracks, chunks or timeline; and the SFU's
// security-definer write path refuses a session that is not in the transaction's org.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { asTenant, openTwoTenants, type TwoTenants } from './helpers/db.ts';

let tenants: TwoTenants;
let owner: pg.Client;
let app: pg.Client;
const ids = { userA: '', userB: '', orgA: '', orgB: '', sessionB: '', participantB: '', takeB: '', trackB: '' };
const RECORDING_TABLES = [
  'recording_sessions',
  'participants',
  'recording_takes',
  'tracks',
  'chunks',
  'session_events',
  'participant_consents',
];

before(async () => {
  tenants = await openTwoTenants();
  ({ owner, app } = tenants);
  Object.assign(ids, tenants.ids);
  const one = async (sql: string, params: unknown[] = []) =>
    (await owner.query<{ id: string }>(sql, params)).rows[0]!.id;
  // Org B's session, recorded through the SFU's own functions with B as the tenant.
  ids.sessionB = await one(
    `insert into recording_sessions (organization_id, title, created_by, guest_token_hash, wrapped_key)
     values ($1, 'B talk', $2, $3, '{}'::jsonb) returning id`,
    [ids.orgB, ids.userB, randomBytes(32)],
  );
  ids.participantB = await one(
    `insert into participants (organization_id, session_id, user_id, display_name, role)
     values ($1, $2, $3, 'Bee', 'host') returning id`,
    [ids.orgB, ids.sessionB, ids.userB],
  );
  await owner.query(
    `insert into participant_consents (participant_id, organization_id, session_id, text_version) values ($1, $2, $3, 'v1')`,
    [ids.participantB, ids.orgB, ids.sessionB],
  );
  // The SFU's own role (recorder_sfu), which acts for the org a join token names.
  const { sfu } = tenants;
  await sfu.query('begin');
  await sfu.query("select set_config('app.org_id', $1, true)", [ids.orgB]);
  const take = await sfu.query<{ take_id: string }>('select take_id from app.sfu_start_take($1, $2, now())', [
    ids.sessionB,
    ids.participantB,
  ]);
  ids.takeB = take.rows[0]!.take_id;
  const track = await sfu.query<{ id: string }>(
    `select app.sfu_open_track($1, $2, $3, 'audio', 'audio/opus', 48000, 100, 'p1', now()) as id`,
    [ids.sessionB, ids.takeB, ids.participantB],
  );
  ids.trackB = track.rows[0]!.id;
  await sfu.query(`select app.sfu_add_chunk($1, $2, 0, 'orgs/b/x.chunk', 10, $3, 1, now(), now(), 1, 1, 1, 1)`, [
    ids.sessionB,
    ids.trackB,
    randomBytes(32),
  ]);
  await sfu.query('commit');
});

after(async () => {
  await tenants.close();
});

/** As the API role, with this tenant and user, always rolled back. */
const asApp = <T>(orgId: string | null, userId: string | null, fn: () => Promise<T>): Promise<T> =>
  asTenant(app, orgId, userId, fn);

test('the seed is real: B has a row in every recording table, and B sees them', async () => {
  for (const t of RECORDING_TABLES) {
    const { rows } = await owner.query(`select count(*)::int as n from ${t} where organization_id = $1`, [ids.orgB]);
    assert.ok(rows[0].n >= 1, `${t} seeded`);
  }
  await asApp(ids.orgB, ids.userB, async () => {
    for (const t of RECORDING_TABLES)
      assert.ok((await app.query(`select count(*)::int as n from ${t}`)).rows[0].n >= 1, `B sees its ${t}`);
  });
});

test("a member of A reads none of B's recording rows, even pointing app.org_id at B", async () => {
  for (const [org, label] of [
    [ids.orgA, 'A context'],
    [ids.orgB, 'B context, not a member'],
  ] as const) {
    await asApp(org, ids.userA, async () => {
      for (const t of RECORDING_TABLES) {
        const { rows } = await app.query(`select count(*)::int as n from ${t} where organization_id = $1`, [ids.orgB]);
        assert.equal(rows[0].n, 0, `${t} leaked in ${label}`);
      }
    });
  }
});

test("a member of A cannot change, delete or add to B's recordings", async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    assert.equal(
      (await app.query(`update recording_sessions set title = 'x', wrapped_key = null where id = $1`, [ids.sessionB]))
        .rowCount,
      0,
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`delete from chunks where track_id = $1`, [ids.trackB]),
      (e: { code?: string }) => e.code === '42501',
      'no delete grant on chunks',
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`insert into recording_sessions (organization_id, title, guest_token_hash) values ($1, 'forged', $2)`, [
        ids.orgB,
        randomBytes(32),
      ]),
      (e: { code?: string }) => e.code === '42501',
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`insert into session_events (organization_id, session_id, kind) values ($1, $2, 'forged')`, [
        ids.orgB,
        ids.sessionB,
      ]),
      (e: { code?: string }) => e.code === '42501',
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(
        `insert into participant_consents (participant_id, organization_id, session_id, text_version) values ($1, $2, $3, 'forged')`,
        [ids.participantB, ids.orgB, ids.sessionB],
      ),
      (e: { code?: string }) => e.code === '42501',
      'consent is written only through the join functions',
    );
  });
  await asApp(ids.orgA, ids.userA, async () => {
    await assert.rejects(
      app.query(`select app.host_record_consent($1, 'v1')`, [ids.participantB]),
      /not_found/,
      "A cannot record consent for B's participant",
    );
  });
  const still = await owner.query(
    `select title, wrapped_key is not null as has_key from recording_sessions where id = $1`,
    [ids.sessionB],
  );
  assert.deepEqual(still.rows[0], { title: 'B talk', has_key: true });
});

test("the SFU write path refuses B's session under A's tenant (a token for A cannot touch B)", async () => {
  const calls: [string, unknown[]][] = [
    ['select * from app.sfu_session($1)', [ids.sessionB]],
    ['select app.sfu_start_take($1, null, now())', [ids.sessionB]],
    [`select app.sfu_resume_track($1, $2, 'p3')`, [ids.sessionB, ids.trackB]],
    [
      `select app.sfu_open_track($1, $2, $3, 'audio', 'audio/opus', 48000, 100, 'p2', now())`,
      [ids.sessionB, ids.takeB, ids.participantB],
    ],
    [
      `select app.sfu_add_chunk($1, $2, 1, 'orgs/b/y.chunk', 10, $3, 1, now(), now(), 1, 1, 1, 1)`,
      [ids.sessionB, ids.trackB, randomBytes(32)],
    ],
    ['select app.sfu_close_track($1, $2, now(), 0)', [ids.sessionB, ids.trackB]],
    ['select app.sfu_end_session($1, null)', [ids.sessionB]],
    ['select app.sfu_participant_presence($1, $2, true)', [ids.sessionB, ids.participantB]],
  ];
  for (const [sql, params] of calls) {
    await asTenant(tenants.sfu, ids.orgA, null, async () => {
      await assert.rejects(tenants.sfu.query(sql, params), /not_found/, sql);
    });
  }
  const chunks = await owner.query(`select count(*)::int as n from chunks where track_id = $1`, [ids.trackB]);
  assert.equal(chunks.rows[0].n, 1, 'no chunk was added to B');
  const s = await owner.query(`select status from recording_sessions where id = $1`, [ids.sessionB]);
  assert.equal(s.rows[0].status, 'open', "B's session was not ended");
});

test('a guest link admits only to its own session', async () => {
  await assert.rejects(
    app.query(`select * from app.guest_join($1, $2, 'Mallory')`, [ids.sessionB, randomBytes(32)]),
    /invalid_link/,
  );
  const n = await owner.query(`select count(*)::int as n from participants where session_id = $1`, [ids.sessionB]);
  assert.equal(n.rows[0].n, 1);
});
