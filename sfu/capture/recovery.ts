/**
 * Crash recovery at SFU start-up. A SIGKILL (or a power cut) leaves a recording session
 * `open` with its take, tracks and participants unfinished. Before this process accepts
 * browsers, every such session is closed at its last sealed chunk, ended, and marked
 * interrupted, with a `session.interrupted` event on its timeline
 * (sql/055_studio.sql `app.recover_interrupted_sessions`, the owner's admin path); ending it
 * queues its transcript. One SFU node per database is assumed: with several nodes, the
 * node registry (DESIGN.md, scale-out) must scope this to the dead node's sessions.
 */
import type pg from 'pg';
import { log } from '../../server/core/logger.ts';

/** A session recovered by {@link recoverInterruptedSessions}. */
export interface RecoveredSession {
  sessionId: string;
  orgId: string;
  take: number;
  recoveredTo: Date;
}

/** Closes what a crashed SFU process left recording; logs and returns each session. */
export async function recoverInterruptedSessions(owner: pg.Pool): Promise<RecoveredSession[]> {
  const r = await owner.query<{ session_id: string; organization_id: string; take_seq: number; recovered_to: Date }>(
    'select session_id, organization_id, take_seq, recovered_to from app.recover_interrupted_sessions()',
  );
  const out = r.rows.map((x) => ({
    sessionId: x.session_id,
    orgId: x.organization_id,
    take: x.take_seq,
    recoveredTo: x.recovered_to,
  }));
  for (const s of out)
    log.warn('recording interrupted by a crash: session ended at its last sealed chunk', {
      session_id: s.sessionId,
      take: s.take,
      recovered_to: s.recoveredTo.toISOString(),
    });
  return out;
}
