/** SQL for the studio: consent, guest join with rejoin, what a guest sees, ending a session. */
import { exec, many, maybeOne, one, type Queryable } from '../core/db/pool.ts';

/** A guest's join, as app.guest_join_studio (sql/055_studio.sql) answers it. */
export interface GuestJoinRow {
  participant_id: string;
  organization_id: string;
  session_title: string;
  organization_name: string;
  consent_version: string | null;
}

/**
 * Guest join by link (no tenant context: the link's token is the credential), recording
 * `consent` when given; `rejoin` returns that same participant.
 * @throws P0001 `invalid_link`, `session_ended`, `invalid_rejoin`.
 */
export function guestJoin(
  db: Queryable,
  a: { sessionId: string; tokenHash: Buffer; name: string; consent: string | null; rejoin: string | null },
): Promise<GuestJoinRow> {
  return one<GuestJoinRow>(
    db,
    'select participant_id, organization_id, session_title, organization_name, consent_version from app.guest_join_studio($1::uuid, $2::bytea, $3::text, $4::text, $5::uuid)',
    [a.sessionId, a.tokenHash, a.name, a.consent, a.rejoin],
  );
}

/** The session and organisation a guest link leads to. @throws P0001 `invalid_link`. */
export function guestSessionInfo(
  db: Queryable,
  sessionId: string,
  tokenHash: Buffer,
): Promise<{ session_title: string; organization_name: string; status: 'open' | 'ended' }> {
  return one(db, 'select session_title, organization_name, status from app.guest_session_info($1::uuid, $2::bytea)', [
    sessionId,
    tokenHash,
  ]);
}

/** The host participant this member already has in the session, if any (a rejoin). */
export function findHostParticipant(
  db: Queryable,
  sessionId: string,
  userId: string,
): Promise<{ id: string } | undefined> {
  return maybeOne(
    db,
    `select id from participants where session_id = $1::uuid and user_id = $2::uuid and role = 'host' order by created_at limit 1`,
    [sessionId, userId],
  );
}

/** Records the current member's consent as a host participant (first time wins). */
export async function recordHostConsent(db: Queryable, participantId: string, version: string): Promise<void> {
  await exec(db, 'select app.host_record_consent($1::uuid, $2::text)', [participantId, version]);
}

/** The consent version a participant accepted, or undefined. */
export async function consentOf(db: Queryable, participantId: string): Promise<string | undefined> {
  const r = await maybeOne<{ text_version: string }>(
    db,
    'select text_version from participant_consents where participant_id = $1::uuid',
    [participantId],
  );
  return r?.text_version;
}

export interface ConsentRow {
  participant_id: string;
  text_version: string;
  consented_at: Date;
}

/** Every consent given in a session. */
export function listConsents(db: Queryable, sessionId: string): Promise<ConsentRow[]> {
  return many<ConsentRow>(
    db,
    'select participant_id, text_version, consented_at from participant_consents where session_id = $1::uuid',
    [sessionId],
  );
}

/** Ends an open session from the API (the session page); true when it was open. */
export async function endSession(db: Queryable, orgId: string, sessionId: string): Promise<boolean> {
  const r = await maybeOne<{ id: string }>(
    db,
    `update recording_sessions set status = 'ended', ended_at = now() where organization_id = $1::uuid and id = $2::uuid and status = 'open' and deleted_at is null returning id`,
    [orgId, sessionId],
  );
  if (r)
    await exec(
      db,
      `insert into session_events (organization_id, session_id, kind, details) values ($1::uuid, $2::uuid, 'session.ended', '{"via":"api"}'::jsonb)`,
      [orgId, sessionId],
    );
  return r !== undefined;
}

/** When the SFU process died while this session recorded (null: never). */
export async function interruptedAt(db: Queryable, sessionId: string): Promise<Date | null> {
  const r = await maybeOne<{ interrupted_at: Date | null }>(
    db,
    'select interrupted_at from recording_sessions where id = $1::uuid',
    [sessionId],
  );
  return r?.interrupted_at ?? null;
}
