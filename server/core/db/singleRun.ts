/**
 * Timers that must run once across every process of a deployment (several API instances,
 * several job workers) run under a Postgres advisory lock: the first process to ask runs,
 * the others skip this round. The lock is session-level on a connection held for the run
 * only, so a process that dies mid-run frees it at once.
 */
import type pg from 'pg';

/** Advisory-lock class of the product's single-run timers (the fleet's node locks use 15015 too, keys 0 and node hashes). */
const CLASS = 15016;

/** The single-run timers, each with its own key. */
export const SINGLE_RUN = {
  /** The lifecycle sweep (server/jobs/sweep.ts). */
  lifecycleSweep: 1,
  /** Job-queue maintenance: expired leases handed back, runs without a job queued (server/jobs/runner.ts). */
  queueMaintenance: 2,
  /** Private mode: ended sessions waiting for no transcription sealed to their org's key (server/jobs/runner.ts). */
  privateSeal: 3,
} as const;

/**
 * Runs `fn` if no other process holds `key` now; returns undefined when another one does.
 * `fn` gets the locked connection (use it or the pool; the lock is held until `fn` settles).
 * @throws what `fn` throws, or when no connection can be had.
 */
export async function runAlone<T>(
  pool: pg.Pool,
  key: (typeof SINGLE_RUN)[keyof typeof SINGLE_RUN],
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T | undefined> {
  const client = await pool.connect();
  let locked = false;
  try {
    const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [CLASS, key]);
    locked = r.rows[0]?.ok === true;
    if (!locked) return undefined;
    return await fn(client);
  } finally {
    if (locked) await client.query('select pg_advisory_unlock($1, $2)', [CLASS, key]).catch(() => undefined);
    client.release();
  }
}
