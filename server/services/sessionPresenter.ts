/**
 * A recording session as JSON: its participants, takes, tracks and timeline, the one mapping
 * that the session page's API (services/sessions.ts getSession) and the export's
 * session.json (services/archive.ts) share. Each puts its own head on it (the API's counts,
 * the export's erasure time) and its own link on each track (a download URL, a file name).
 */
import type { EventRow, ParticipantRow, TakeRow, TrackRow } from '../repositories/sessions.ts';
import type { ConsentRow } from '../repositories/studio.ts';

/** What the presenter reads: the session's rows as the repository lists them. */
export interface SessionDetailRows {
  participants: readonly ParticipantRow[];
  takes: readonly TakeRow[];
  tracks: readonly TrackRow[];
  events: readonly EventRow[];
  /** Consents to be recorded (repositories/studio.ts); when given, each participant shows its own. */
  consents?: readonly ConsentRow[];
}

/** Per-use choices. */
export interface SessionDetailOptions<L extends object> {
  /** Adds each track's participant name (`participant`, after `participant_id`). The API does; the export does not. */
  participantNames: boolean;
  /** The fields that end each track's object: where to get its file. */
  trackLink: (t: TrackRow) => L;
}

/**
 * Participants, takes, tracks and timeline, in this order and with these keys
 * (the export's file format depends on them).
 */
export function presentSessionDetail<L extends object>(d: SessionDetailRows, opts: SessionDetailOptions<L>) {
  return {
    participants: d.participants.map((p) => ({
      id: p.id,
      display_name: p.display_name,
      role: p.role,
      user_id: p.user_id,
      joined_at: p.joined_at?.toISOString() ?? null,
      left_at: p.left_at?.toISOString() ?? null,
      ...(d.consents ? { consent: consentOf(d.consents, p.id) } : {}),
    })),
    takes: d.takes.map((t) => ({
      seq: t.seq,
      started_at: t.started_at.toISOString(),
      stopped_at: t.stopped_at?.toISOString() ?? null,
    })),
    tracks: d.tracks.map((t) => ({
      id: t.id,
      take: t.take_seq,
      participant_id: t.participant_id,
      ...(opts.participantNames ? { participant: t.display_name } : {}),
      kind: t.kind,
      mime_type: t.mime_type,
      started_at: t.started_at.toISOString(),
      ended_at: t.ended_at?.toISOString() ?? null,
      chunks: t.chunk_count,
      bytes: Number(t.byte_count),
      lost_chunks: t.lost_chunks,
      ...opts.trackLink(t),
    })),
    timeline: d.events.map((e) => ({
      at: e.at.toISOString(),
      kind: e.kind,
      participant_id: e.participant_id,
      track_id: e.track_id,
      details: e.details,
    })),
  };
}

/** A participant's consent as `{version, at}`, or null when they gave none. */
function consentOf(consents: readonly ConsentRow[], participantId: string): { version: string; at: string } | null {
  const c = consents.find((x) => x.participant_id === participantId);
  return c ? { version: c.text_version, at: c.consented_at.toISOString() } : null;
}
