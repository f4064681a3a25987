// One request, one transaction: queries of a request share the transaction its proof opened;
// a network round trip (outsideTransaction) holds no pooled connection, and the next query
// proves the token again; the proven user is what the database says, not what code asks for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openTwoTenants, sessionTokenFor, type TwoTenants } from './helpers/db.ts';
import { outsideTransaction, ScopeMismatchError, withRequest, withUser } from '../server/core/db/pool.ts';

let t: TwoTenants;
let pool: pg.Pool;
let token = '';
before(async () => {
  t = await openTwoTenants();
  token = await sessionTokenFor(t.owner, t.ids.userA);
  pool = new pg.Pool({ connectionString: t.db.appUrl, max: 2 });
});
after(async () => {
  await pool.end();
  await t.close();
});

const me = (tx: pg.PoolClient) =>
  tx.query<{ u: string | null; pid: number }>('select app.current_user_id() as u, pg_backend_pid() as pid');

test('queries of a request run in its one proven transaction; a round trip outside releases it', async () => {
  await withRequest(pool, { token, orgId: t.ids.orgA, idleS: 3600 }, async (proven) => {
    assert.equal(proven?.userId, t.ids.userA);
    assert.equal(proven?.role, 'owner');
    const first = (await withUser(pool, t.ids.userA, me)).rows[0];
    const second = (await withUser(pool, null, me)).rows[0];
    assert.equal(first?.u, t.ids.userA);
    assert.equal(second?.pid, first?.pid, 'the same connection and transaction');
    const idleInside = await outsideTransaction(() => Promise.resolve(pool.idleCount));
    assert.equal(idleInside, pool.totalCount, 'no connection held during the round trip');
    const third = (await withUser(pool, null, me)).rows[0];
    assert.equal(third?.u, t.ids.userA, 'proven again after the round trip');
    await assert.rejects(withUser(pool, t.ids.userB, me), ScopeMismatchError, 'code cannot ask for another user');
  });
  assert.equal(pool.idleCount, pool.totalCount, 'released at the end');
});

test('a wrong token proves nothing', async () => {
  await withRequest(pool, { token: 'x'.repeat(43), orgId: t.ids.orgA, idleS: 3600 }, async (proven) => {
    assert.equal(proven, undefined);
    assert.equal((await withUser(pool, null, me)).rows[0]?.u, null);
  });
});
