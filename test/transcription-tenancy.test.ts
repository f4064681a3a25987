// Transcription tables at the database: as the API's own role, a member of org B can
// neither read nor write org A's settings, runs or transcripts, nor drive org A's runs
// through the worker functions; the trigger queues a run only when the org wants one.
// Every check runs in a transaction that is rolled back.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { asTenant, openTwoTenants, type TwoTenants } from './helpers/db.ts';

let tenants: TwoTenants;
let owner: pg.Client;
let app: pg.Client;
const ids = { userA: '', userB: '', orgA: '', orgB: '', sessionA: '', runA: '' };

before(async () => {
  tenants = await openTwoTenants();
  ({ owner, app } = tenants);
  Object.assign(ids, tenants.ids);
  await owner.query(`insert into transcription_settings (organization_id, auto, language) values ($1, true, 'en')`, [
    ids.orgA,
  ]);
  const s = await owner.query<{ id: string }>(
    `insert into recording_sessions (organization_id, title, created_by, guest_token_hash)
     values ($1, 'A talk', $2, $3) returning id`,
    [ids.orgA, ids.userA, randomBytes(32)],
  );
  ids.sessionA = s.rows[0]!.id;
  // Ending the session (as the SFU does) queues a run in the org's language.
  await owner.query(`update recording_sessions set status = 'ended', ended_at = now() where id = $1`, [ids.sessionA]);
  const r = await owner.query<{ id: string; language: string; reason: string }>(
    `select id, language, reason from transcription_runs where session_id = $1`,
    [ids.sessionA],
  );
  assert.equal(r.rows.length, 1);
  assert.deepEqual({ language: r.rows[0]!.language, reason: r.rows[0]!.reason }, { language: 'en', reason: 'auto' });
  ids.runA = r.rows[0]!.id;
  await owner.query(
    `insert into transcripts (run_id, organization_id, session_id, object_key, model, segment_count,
                              speaker_count, audio_seconds, speech_seconds)
     values ($1, $2, $3, 'orgs/x', 'm', 1, 1, 1, 1)`,
    [ids.runA, ids.orgA, ids.sessionA],
  );
});

after(async () => {
  await tenants.close();
});

/** As the API role, with this tenant and user, always rolled back. */
const asApp = <T>(orgId: string | null, userId: string | null, fn: () => Promise<T>): Promise<T> =>
  asTenant(app, orgId, userId, fn);

const count = async (table: string) =>
  (await app.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]?.n;

test("org A's member sees org A's settings, runs and transcripts", async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    for (const t of ['transcription_settings', 'transcription_runs', 'transcripts']) assert.equal(await count(t), 1, t);
  });
});

test("a member of org B sees none of org A's transcription rows, whatever tenant they claim", async () => {
  for (const org of [ids.orgB, ids.orgA, null]) {
    await asApp(org, ids.userB, async () => {
      for (const t of ['transcription_settings', 'transcription_runs', 'transcripts'])
        assert.equal(await count(t), 0, `${t} with tenant ${org}`);
    });
  }
});

test("a member of org B cannot write org A's settings or runs", async () => {
  /** Runs one statement that must fail, inside a savepoint so the next can run. */
  const refused = async (sql: string, args: unknown[], why: RegExp) => {
    await app.query('savepoint s');
    await assert.rejects(app.query(sql, args), why, sql);
    await app.query('rollback to savepoint s');
  };
  await asApp(ids.orgB, ids.userB, async () => {
    await refused(
      `insert into transcription_settings (organization_id, auto) values ($1, false)`,
      [ids.orgA],
      /row-level security/,
    );
  });
  await asApp(ids.orgA, ids.userB, async () => {
    await refused(
      `insert into transcription_settings (organization_id, auto) values ($1, false)`,
      [ids.orgB],
      /row-level security/,
    );
    const upd = await app.query(`update transcription_settings set auto = false where organization_id = $1`, [
      ids.orgA,
    ]);
    assert.equal(upd.rowCount, 0);
    await refused(
      `insert into transcription_runs (organization_id, session_id, reason) values ($1, $2, 'rerun')`,
      [ids.orgA, ids.sessionA],
      /permission denied/,
    );
    await refused(`delete from transcripts`, [], /permission denied/);
    await refused(`select app.transcription_rerun($1)`, [ids.sessionA], /not_found/);
  });
});

test("org B's tenant cannot drive org A's run through the worker functions", async () => {
  const { jobs } = tenants;
  await asTenant(jobs, ids.orgB, null, async () => {
    for (const [sql, args] of [
      ['select * from app.transcription_claim($1, $2, 60)', [ids.runA, 'w']],
      ['select * from app.transcription_source($1)', [ids.runA]],
      ['select app.transcription_heartbeat($1, $2, 1, 60, null, null)', [ids.runA, 'w']],
      ['select app.transcription_fail($1, $2, 1, $3, $4, true)', [ids.runA, 'w', 'x', 'y']],
    ] as const) {
      await jobs.query('savepoint s');
      await assert.rejects(jobs.query(sql, [...args]), /not_found/, sql);
      await jobs.query('rollback to savepoint s');
    }
  });
  await asTenant(jobs, ids.orgA, null, async () => {
    const claim = await jobs.query<{ attempt: number }>('select * from app.transcription_claim($1, $2, 60)', [
      ids.runA,
      'w',
    ]);
    assert.equal(claim.rows[0]?.attempt, 1, 'its own tenant can');
  });
});

test("queue maintenance is the owner's alone", async () => {
  await asApp(ids.orgA, ids.userA, async () => {
    await app.query('savepoint s');
    await assert.rejects(app.query('select app.transcription_requeue_expired(null)'), /permission denied/);
    await app.query('rollback to savepoint s');
    await assert.rejects(app.query('select app.transcription_reconcile_jobs(5)'), /permission denied/);
  });
});

test('with automatic transcription off, ending a session queues nothing', async () => {
  await owner.query('begin');
  try {
    await owner.query(`update transcription_settings set auto = false where organization_id = $1`, [ids.orgA]);
    const s = await owner.query<{ id: string }>(
      `insert into recording_sessions (organization_id, title, guest_token_hash) values ($1, 'quiet', $2) returning id`,
      [ids.orgA, randomBytes(32)],
    );
    await owner.query(`update recording_sessions set status = 'ended' where id = $1`, [s.rows[0]!.id]);
    const n = await owner.query<{ n: number }>(
      `select count(*)::int as n from transcription_runs where session_id = $1`,
      [s.rows[0]!.id],
    );
    assert.equal(n.rows[0]?.n, 0);
  } finally {
    await owner.query('rollback');
  }
});
