/**
 * Crash recovery at SFU start-up. A SIGKILL (or a power cut) leaves a recording session
 * `open` with its take, tracks and participants unfinished. Before this process accepts
 * browsers, every such take is closed at its last sealed chunk and the session marked
 * interrupted, with a `session.interrupted` event on its timeline (sql/055_studio.sql
 * `app.recover_interrupted_sessions`, the SFU role). The session stays open for a grace
 * period: browsers reconnect, and recording resumes in a new take when the host is back;
 * otherwise sfu/start.ts ends it, which queues its transcript. One SFU node per database
 * is assumed: with several nodes, the node registry (DESIGN.md, scale-out) must scope this
 * to the dead node's sessions.
 */
import type pg from 'pg';
import { log } from '../../server/core/logger.ts';

/** A session recovered by {@link recoverInterruptedSessions}. */
export interface RecoveredSession {
  sessionId: string;
  orgId: string;
  /** The take that was recording (null: interrupted earlier, still waiting for its people). */
  take: number | null;
  recoveredTo: Date | null;
}

/** Closes what a crashed SFU process left recording; logs and returns each session (pool: the SFU role's). */
export async function recoverInterruptedSessions(pool: pg.Pool): Promise<RecoveredSession[]> {
  const r = await pool.query<{
    session_id: string;
    organization_id: string;
    take_seq: number | null;
    recovered_to: Date | null;
  }>('select session_id, organization_id, take_seq, recovered_to from app.recover_interrupted_sessions()');
  const out = r.rows.map((x) => ({
    sessionId: x.session_id,
    orgId: x.organization_id,
    take: x.take_seq,
    recoveredTo: x.recovered_to,
  }));
  for (const s of out)
    if (s.recoveredTo)
      log.warn('recording interrupted by a crash: take closed at its last sealed chunk; waiting for reconnects', {
        session_id: s.sessionId,
        take: s.take,
        recovered_to: s.recoveredTo.toISOString(),
      });
  return out;
}
