/**
 * The studio's use cases on the API side: what a guest sees before joining (who records,
 * what is stored, whether live sessions are available), joining with consent and rejoining
 * as the same participant, and ending a live session from the session page.
 */
import { withTenant, withUser } from '../core/db/pool.ts';
import { sha256 } from '../core/crypto/secrets.ts';
import { signJoinToken, signRejoinSecret, verifyRejoinSecret, JoinTokenError } from '../../lib/tokens.ts';
import * as repo from '../repositories/studio.ts';
import * as sessions from '../repositories/sessions.ts';
import * as audit from '../repositories/audit.ts';
import { AppError, notFound } from '../core/errors.ts';
import { consume } from './rateLimit.ts';
import { liveAvailable, placeForGuest } from './fleet.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';

/** The version of the consent text below; stored with each consent. Change both together. */
export const CONSENT_VERSION = 'v1';

/** The consent text a participant is shown, naming the organisation that records. */
export function consentText(organizationName: string): string {
  return (
    `${organizationName} records this session. Your microphone audio and camera video are recorded ` +
    `as separate tracks, stored encrypted, and may be transcribed. The organisation keeps them under ` +
    `its retention policy and can delete them at any time. You can leave at any moment.`
  );
}

/**
 * Whether browsers can hold a live session now: some SFU node of the fleet is up and takes
 * sessions (at most a couple of seconds stale). With `reason` for the pages to show.
 */
export async function liveStatus(
  deps: Deps,
): Promise<{ live_available: boolean; live_unavailable_reason: string | null }> {
  const available = await liveAvailable(deps);
  return {
    live_available: available,
    live_unavailable_reason: available
      ? null
      : 'Live sessions are unavailable on this server: no media server (mediasoup worker) is running.',
  };
}

/** What the guest link shows before joining. @throws AppError 404 `invalid_link`. */
export async function guestInfo(deps: Deps, clientIp: string, sessionId: string, token: string) {
  await consume(deps, 'guest-join', clientIp, 120);
  const row = await withUser(deps.db.app, null, (tx) => repo.guestSessionInfo(tx, sessionId, sha256(token)));
  return {
    title: row.session_title,
    organization_name: row.organization_name,
    status: row.status,
    ...(await liveStatus(deps)),
    consent: { version: CONSENT_VERSION, text: consentText(row.organization_name) },
  };
}

function rejoinPid(deps: Deps, sessionId: string, rejoin: string | undefined): string | null {
  if (!rejoin) return null;
  try {
    return verifyRejoinSecret(deps.secrets.key('join-token'), sessionId, rejoin);
  } catch (err) {
    if (err instanceof JoinTokenError) throw new AppError(403, 'invalid_rejoin', 'This rejoin secret is not valid.');
    throw err;
  }
}

/**
 * A guest joins by link (no account: the link's token is the credential), consenting with
 * the text version shown, or rejoins with the `rejoin` secret of an earlier join and gets
 * the same participant back. Without consent the join succeeds but the SFU records nothing.
 */
export async function guestJoin(
  deps: Deps,
  clientIp: string,
  b: { session_id: string; token: string; display_name: string; consent?: { version: string }; rejoin?: string },
) {
  await consume(deps, 'guest-join', clientIp, 60);
  const rejoin = rejoinPid(deps, b.session_id, b.rejoin);
  if (b.consent && b.consent.version !== CONSENT_VERSION)
    throw new AppError(409, 'consent_outdated', 'The consent text changed: reload the page and read it again.');
  const row = await withUser(deps.db.app, null, (tx) =>
    repo.guestJoin(tx, {
      sessionId: b.session_id,
      tokenHash: sha256(b.token),
      name: b.display_name,
      consent: b.consent?.version ?? null,
      rejoin,
    }),
  );
  const node = await placeForGuest(deps, b.session_id, b.token);
  const exp = Math.floor(deps.clock.now().getTime() / 1000) + deps.config.sfu.joinTokenTtlS;
  const key = deps.secrets.key('join-token');
  return {
    token: signJoinToken(key, {
      sid: b.session_id,
      oid: row.organization_id,
      pid: row.participant_id,
      role: 'guest',
      name: b.display_name,
      exp,
      node: node.nodeId,
      ...(row.consent_version ? { consent: row.consent_version } : {}),
    }),
    sfu_url: node.signalUrl,
    sfu_node: node.nodeId,
    participant_id: row.participant_id,
    title: row.session_title,
    organization_name: row.organization_name,
    role: 'guest' as const,
    consent: row.consent_version ? { version: row.consent_version } : null,
    rejoin: signRejoinSecret(key, b.session_id, row.participant_id),
    ...(await liveStatus(deps)),
  };
}

/**
 * The host's participant for a join: the one this member already has in the session (a
 * reload rejoins as the same participant), else a new one; consent recorded when given.
 */
export async function hostParticipant(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  name: string,
  consent: { version: string } | undefined,
): Promise<{ pid: string; title: string; consent: string | undefined }> {
  if (consent && consent.version !== CONSENT_VERSION)
    throw new AppError(409, 'consent_outdated', 'The consent text changed: reload the page and read it again.');
  return withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => {
    const s = await sessions.findSession(tx, orgId, sessionId);
    if (!s) throw notFound('session_not_found', 'No such session.');
    if (s.status !== 'open') throw new AppError(409, 'session_ended', 'This session has ended.');
    const pid =
      (await repo.findHostParticipant(tx, sessionId, user.id))?.id ??
      (await sessions.insertHostParticipant(tx, orgId, sessionId, user.id, name)).id;
    if (consent) await repo.recordHostConsent(tx, pid, consent.version);
    return { pid, title: s.title, consent: await repo.consentOf(tx, pid) };
  });
}

/**
 * Ends a session from the session page: a live room on this node closes for everyone (its
 * recording flushed first), then the session is marked ended and the end audited.
 * @throws AppError 404 `session_not_found`.
 */
export async function endSession(deps: Deps, user: SignedInUser, orgId: string, sessionId: string) {
  const scope = { orgId, userId: user.id };
  const s = await withTenant(deps.db.app, scope, (tx) => sessions.findSession(tx, orgId, sessionId));
  if (!s) throw notFound('session_not_found', 'No such session.');
  // Outside any transaction: the room writes its last chunks and ends the session itself.
  if (s.status === 'open') await deps.live?.endRoom(sessionId);
  await withTenant(deps.db.app, scope, async (tx) => {
    await repo.endSession(tx, orgId, sessionId);
    if (s.status === 'open')
      await audit.insertAudit(tx, {
        orgId,
        actorUserId: user.id,
        actorEmail: user.email,
        action: 'session.ended',
        details: { session_id: sessionId, via: 'session_page' },
      });
  });
  return { status: 'ended' as const, was_open: s.status === 'open' };
}

/**
 * Adds the studio's fields to a session's detail for the session page: each participant's
 * consent (`{version, at}` or null), `interrupted_at` (a crash cut the recording short),
 * and whether live sessions are available.
 */
export async function withStudioFields<T extends { id: string; participants: { id: string }[] }>(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  detail: T,
) {
  const { consents, interrupted } = await withTenant(deps.db.app, { orgId, userId: user.id }, async (tx) => ({
    consents: await repo.listConsents(tx, detail.id),
    interrupted: await repo.interruptedAt(tx, detail.id),
  }));
  const byParticipant = new Map(consents.map((c) => [c.participant_id, c]));
  return {
    ...detail,
    ...(await liveStatus(deps)),
    interrupted_at: interrupted?.toISOString() ?? null,
    participants: detail.participants.map((p) => {
      const c = byParticipant.get(p.id);
      return { ...p, consent: c ? { version: c.text_version, at: c.consented_at.toISOString() } : null };
    }),
  };
}
