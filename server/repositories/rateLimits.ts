/** SQL for fixed-window rate-limit counters shared by every API process. */
import { one, exec, type Queryable } from '../core/db/pool.ts';

/** Adds one hit to `bucket` in the window starting at `windowStart`; returns the new count. */
export async function hit(db: Queryable, bucket: string, windowStart: Date): Promise<number> {
  const row = await one<{ count: number }>(
    db,
    `insert into rate_limits (bucket, window_start, count) values ($1::text, $2::timestamptz, 1)
     on conflict (bucket, window_start) do update set count = rate_limits.count + 1
     returning count`,
    [bucket, windowStart],
  );
  return row.count;
}

/** Deletes windows that ended before `before`. */
export function purgeRateLimits(db: Queryable, before: Date): Promise<number> {
  return exec(db, `delete from rate_limits where window_start < $1::timestamptz`, [before]);
}
