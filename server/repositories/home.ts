/** SQL for the dashboard's home: the proven user's sessions across their organisations. */
import { many, type Queryable } from '../core/db/pool.ts';

export interface HomeSessionRow {
  id: string;
  organization_id: string;
  organization_name: string;
  title: string;
  status: 'open' | 'ended';
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  recording: boolean;
  track_count: number;
  run_status: 'queued' | 'running' | 'done' | 'failed' | null;
  has_transcript: boolean;
}

/** Newest first, at most `limit` (app.my_home_sessions: only the proven user's orgs). */
export function homeSessions(db: Queryable, limit: number): Promise<HomeSessionRow[]> {
  return many<HomeSessionRow>(db, `select * from app.my_home_sessions($1::int)`, [limit]);
}
