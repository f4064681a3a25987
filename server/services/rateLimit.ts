/**
 * Fixed-window rate limits kept in Postgres, so every API process shares them. Subjects
 * (addresses, client IPs) are stored only as HMACs.
 */
import { withUser } from '../core/db/pool.ts';
import { rateLimitHit } from '../repositories/signin.ts';
import { tooManyRequests } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';

/**
 * Counts one hit for `kind:subject` and throws when it exceeds `limit` in the current window.
 * @throws AppError 429 `rate_limited` with Retry-After.
 */
export async function consume(deps: Deps, kind: string, subject: string, limit: number): Promise<void> {
  const bucket = `${kind}:${deps.secrets.hmac('rate-limit', subject).toString('base64url')}`;
  // The window comes from the database's clock (app.rate_limit_hit); the API role cannot
  // read, reset or delete the counters.
  const windowS = deps.config.rateLimits.windowS;
  const r = await withUser(deps.db.app, null, (tx) => rateLimitHit(tx, bucket, windowS));
  if (r.hits > limit)
    throw tooManyRequests(Math.max(1, (r.window_start.getTime() + windowS * 1000 - deps.clock.now().getTime()) / 1000));
}
