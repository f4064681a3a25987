/**
 * The dependencies every service receives, built once by an entry point (or by a test),
 * and the clock they read time through.
 */
import type { Config } from './config.ts';
import type { Database } from './db/pool.ts';
import type { Secrets } from './crypto/secrets.ts';
import type { Mailer } from './mail/mailer.ts';
import type { Metrics } from './metrics.ts';
import type { Storage } from './storage.ts';

/** Injectable clock: services read time only through it, so time rules are testable. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface Deps {
  readonly config: Config;
  readonly db: Database;
  readonly secrets: Secrets;
  readonly mailer: Mailer;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Key provider (wraps session data keys) and object store (sealed media). */
  readonly storage: Storage;
  /** Called after a recording's key is erased, e.g. to end its live room on this node. */
  onSessionErased?: (sessionId: string) => Promise<void>;
  /** Live sessions on this node, set by the composition root when it started the SFU. */
  live?: LiveSessions;
}

/** What the API needs of a media server running in the same process. */
export interface LiveSessions {
  /** Ends a session's live room: recording flushed, everyone told it ended (not an error). */
  endRoom(sessionId: string): Promise<void>;
}
