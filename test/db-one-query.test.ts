// A transaction's client runs one query at a time: overlapping queries on it (Promise.all
// over one client) are refused at once, instead of being queued by pg with a deprecation
// warning (an error from pg 9) in an order nobody chose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { ConcurrentQueryError, withUser } from '../server/core/db/pool.ts';

let db: TestDatabase;
let pool: pg.Pool;
before(async () => {
  db = await freshDatabase();
  pool = new pg.Pool({ connectionString: db.appUrl, max: 2 });
});
after(async () => {
  await pool.end();
  await db.drop();
});

test('two queries at once on a transaction client are refused', async () => {
  await assert.rejects(
    withUser(pool, null, (tx) => Promise.all([tx.query('select 1'), tx.query('select 2')])),
    ConcurrentQueryError,
  );
});

test('the same queries one after another run', async () => {
  const rows = await withUser(pool, null, async (tx) => {
    const a = await tx.query<{ n: number }>('select 1 as n');
    const b = await tx.query<{ n: number }>('select 2 as n');
    return [a.rows[0]?.n, b.rows[0]?.n];
  });
  assert.deepEqual(rows, [1, 2]);
});
