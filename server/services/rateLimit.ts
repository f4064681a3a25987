/**
 * Fixed-window rate limits kept in Postgres, so every API process shares them. Subjects
 * (addresses, client IPs) are stored only as HMACs.
 */
import { withUser } from '../core/db/pool.ts';
import { hit } from '../repositories/rateLimits.ts';
import { tooManyRequests } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';

/**
 * Counts one hit for `kind:subject` and throws when it exceeds `limit` in the current window.
 * @throws AppError 429 `rate_limited` with Retry-After.
 */
export async function consume(deps: Deps, kind: string, subject: string, limit: number): Promise<void> {
  const windowMs = deps.config.rateLimits.windowS * 1000;
  const now = deps.clock.now().getTime();
  const start = new Date(Math.floor(now / windowMs) * windowMs);
  const bucket = `${kind}:${deps.secrets.hmac('rate-limit', subject).toString('base64url')}`;
  const count = await withUser(deps.db.app, null, (tx) => hit(tx, bucket, start));
  if (count > limit) throw tooManyRequests((start.getTime() + windowMs - now) / 1000);
}
