/**
 * The dashboard's home: the sessions of all my organisations, newest first, each with its
 * state and what to do next. The database picks the rows (app.my_home_sessions: only the
 * proven user's memberships); this names their state.
 */
import type { Deps } from '../core/context.ts';
import { withUser } from '../core/db/pool.ts';
import type { SignedInUser } from '../context.ts';
import * as repo from '../repositories/home.ts';

export type HomeState = 'live' | 'recording' | 'ended' | 'transcribing' | 'ready' | 'failed';
export type NextAction = 'join' | 'open' | 'wait' | 'view_transcript' | 'retry_transcript';

export interface HomeSession {
  id: string;
  org_id: string;
  org_name: string;
  title: string;
  state: HomeState;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  track_count: number;
  next_action: NextAction;
}

/** A session's state as the home page names it. */
export function stateOf(
  r: Pick<repo.HomeSessionRow, 'status' | 'recording' | 'run_status' | 'has_transcript'>,
): HomeState {
  if (r.status === 'open') return r.recording ? 'recording' : 'live';
  if (r.run_status === 'queued' || r.run_status === 'running') return 'transcribing';
  if (r.run_status === 'failed') return 'failed';
  if (r.has_transcript) return 'ready';
  return 'ended';
}

const NEXT: Record<HomeState, NextAction> = {
  live: 'join',
  recording: 'join',
  transcribing: 'wait',
  ready: 'view_transcript',
  failed: 'retry_transcript',
  ended: 'open',
};

/** The user's sessions, newest first, at most `limit`. */
export async function homeSessions(deps: Deps, user: SignedInUser, limit: number): Promise<HomeSession[]> {
  const rows = await withUser(deps.db.app, user.id, (tx) => repo.homeSessions(tx, limit));
  return rows.map((r) => {
    const state = stateOf(r);
    return {
      id: r.id,
      org_id: r.organization_id,
      org_name: r.organization_name,
      title: r.title,
      state,
      created_at: r.created_at.toISOString(),
      started_at: r.started_at?.toISOString() ?? null,
      ended_at: r.ended_at?.toISOString() ?? null,
      track_count: r.track_count,
      next_action: NEXT[state],
    };
  });
}
