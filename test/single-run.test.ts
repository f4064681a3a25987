// Timers that must run once across processes (the lifecycle sweep, job-queue maintenance)
// run under an advisory lock: while one process runs, another skips its round, and the lock
// is free again as soon as the run ends or its connection dies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { runAlone, SINGLE_RUN } from '../server/core/db/singleRun.ts';

let db: TestDatabase;
// Two pools: two processes of one deployment.
let first: pg.Pool;
let second: pg.Pool;
before(async () => {
  db = await freshDatabase();
  first = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
  second = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
});
after(async () => {
  await first.end();
  await second.end();
  await db.drop();
});

test('one process runs, the other skips while it does, then runs the next round', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const running = runAlone(first, SINGLE_RUN.lifecycleSweep, async () => {
    await held;
    return 'first';
  });
  // Wait until the first run holds the lock.
  for (let i = 0; i < 50; i++) {
    const r = await second.query<{ n: number }>(
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 15016 and objid = 1 and granted",
    );
    if (r.rows[0]?.n === 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(
    await runAlone(second, SINGLE_RUN.lifecycleSweep, () => Promise.resolve('second')),
    undefined,
    'skipped',
  );
  // Another timer's key is not blocked by this one.
  assert.equal(await runAlone(second, SINGLE_RUN.queueMaintenance, () => Promise.resolve('other')), 'other');
  release();
  assert.equal(await running, 'first');
  assert.equal(
    await runAlone(second, SINGLE_RUN.lifecycleSweep, () => Promise.resolve('second')),
    'second',
    'free again',
  );
});

test('a run that throws frees the lock', async () => {
  await assert.rejects(
    runAlone(first, SINGLE_RUN.queueMaintenance, () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await runAlone(second, SINGLE_RUN.queueMaintenance, () => Promise.resolve(1)), 1);
});
