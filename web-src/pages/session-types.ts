/** The session detail as `GET /api/orgs/:orgId/sessions/:id` answers it. */

/** One recorded track. */
export interface Track {
  id: string;
  take: number;
  participant_id: string;
  participant: string;
  kind: 'audio' | 'video';
  mime_type: string;
  started_at: string;
  ended_at: string | null;
  chunks: number;
  bytes: number;
  lost_chunks: number;
  download_url: string;
}

/** Consent a participant gave in the green room. */
export interface Consent {
  version: string;
  at: string;
}

/** One participant of the session. */
export interface Participant {
  id: string;
  display_name: string;
  role: 'host' | 'guest';
  joined_at: string | null;
  left_at: string | null;
  consent?: Consent | null;
}

/** The session with its takes, tracks and timeline. */
export interface SessionDetail {
  id: string;
  title: string;
  status: 'open' | 'ended';
  created_at: string;
  ended_at: string | null;
  live_available?: boolean;
  live_unavailable_reason?: string | null;
  /** Private mode: when the key was sealed to the org key (the page then decrypts in the browser). */
  private_sealed_at?: string | null;
  /** When a crash cut the recording (null: it was not). */
  interrupted_at?: string | null;
  participants: Participant[];
  takes: { seq: number; started_at: string; stopped_at: string | null }[];
  tracks: Track[];
  timeline: { at: string; kind: string; participant_id: string | null; details?: Record<string, unknown> }[];
}

/** One line of the transcript. */
export interface Segment {
  start: number;
  end: number;
  speaker: string;
  participant_id?: string;
  track_id?: string;
  take?: number;
  text: string;
}

/** `GET …/transcript`. */
export interface TranscriptAnswer {
  status: string;
  run: { status: string; progress: number; error: { message: string } | null } | null;
  transcript: { segments: Segment[] } | null;
}
