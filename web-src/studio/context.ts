/**
 * What the studio knows before joining: the session's title, who records (the organisation),
 * whether live sessions are available on this server, and the consent text to show. Also the
 * per-tab memory that lets a reload rejoin as the same participant.
 */
import { api, ApiError } from '../ui/api.ts';
import { me } from '../ui/session.tsx';
import type { JoinInfo } from './call.ts';

/** The consent text version hosts agree to (guests get theirs from /api/join/info). */
export const DEFAULT_CONSENT_VERSION = 'v1';

/** The consent wording hosts are shown (guests see the server's own, from /api/join/info). */
function hostConsent(org: string): { version: string; text: string } {
  return {
    version: DEFAULT_CONSENT_VERSION,
    text: `I agree that ${org} records my microphone audio and camera video in this session as separate tracks, stored encrypted, and may transcribe them.`,
  };
}

/** What the green room shows. */
export interface StudioContext {
  mode: 'host' | 'guest';
  sessionId: string;
  orgId: string;
  title: string;
  organizationName: string | null;
  liveAvailable: boolean;
  /** Why live sessions are unavailable, in the server's words (when it says). */
  liveUnavailableReason: string | null;
  consent: { version: string; text: string };
  /** The name to start with (the host's account name; empty for guests). */
  defaultName: string;
}

interface GuestInfo {
  title: string;
  organization_name: string;
  status: 'open' | 'ended';
  live_available: boolean;
  live_unavailable_reason?: string | null;
  consent: { version: string; text: string };
}

/** Loads the context of the page. @throws ApiError for a session that cannot be shown. */
export async function loadContext(mode: 'host' | 'guest', sessionId: string, orgId: string): Promise<StudioContext> {
  if (mode === 'guest') {
    const token = new URLSearchParams(location.hash.slice(1)).get('g') ?? '';
    const info = await api<GuestInfo>('POST', '/api/join/info', { session_id: sessionId, token });
    if (info.status !== 'open') throw new ApiError(409, 'This session has ended.', 'session_ended', {});
    return {
      mode,
      sessionId,
      orgId,
      title: info.title,
      organizationName: info.organization_name,
      liveAvailable: info.live_available,
      liveUnavailableReason: info.live_unavailable_reason ?? null,
      consent: info.consent,
      defaultName: remembered(sessionId)?.name ?? '',
    };
  }
  const { user } = await me();
  const [org, session] = await Promise.all([
    api<{ name: string }>('GET', `/api/orgs/${orgId}`),
    api<{
      title: string;
      status: string;
      live_available?: boolean;
      live_unavailable_reason?: string | null;
      consent?: { version: string; text: string };
    }>('GET', `/api/orgs/${orgId}/sessions/${sessionId}`),
  ]);
  if (session.status !== 'open') throw new ApiError(409, 'This session has ended.', 'session_ended', {});
  return {
    mode,
    sessionId,
    orgId,
    title: session.title,
    organizationName: org.name,
    liveAvailable: session.live_available !== false,
    liveUnavailableReason: session.live_unavailable_reason ?? null,
    consent: session.consent ?? hostConsent(org.name),
    defaultName: remembered(sessionId)?.name ?? user.display_name ?? user.email.split('@')[0] ?? '',
  };
}

/** What this tab remembers of its place in a session (sessionStorage: per tab, survives reloads). */
export interface Remembered {
  name: string;
  consentVersion: string;
  rejoin: string | null;
  inRoom: boolean;
}

const key = (sessionId: string) => `studio:${sessionId}`;

/** This tab's memory of the session, if any. */
export function remembered(sessionId: string): Remembered | null {
  try {
    const v = sessionStorage.getItem(key(sessionId));
    return v ? (JSON.parse(v) as Remembered) : null;
  } catch {
    return null;
  }
}

/** Updates this tab's memory of the session. */
export function remember(sessionId: string, r: Remembered): void {
  sessionStorage.setItem(key(sessionId), JSON.stringify(r));
}

/**
 * A join-token source for {@link Call}: the first request carries the consent; every later
 * one (reconnects, reloads) sends back the `rejoin` secret so the server returns the same
 * participant.
 */
export function joinInfoSource(ctx: StudioContext, name: string): () => Promise<JoinInfo> {
  return async () => {
    const mem = remembered(ctx.sessionId);
    const consent = { version: ctx.consent.version };
    const rejoin = mem?.rejoin ?? undefined;
    let info: JoinInfo;
    if (ctx.mode === 'guest') {
      const token = new URLSearchParams(location.hash.slice(1)).get('g');
      info = await api<JoinInfo>('POST', '/api/join', {
        session_id: ctx.sessionId,
        token,
        display_name: name,
        consent,
        ...(rejoin ? { rejoin } : {}),
      });
    } else {
      info = await api<JoinInfo>('POST', `/api/orgs/${ctx.orgId}/sessions/${ctx.sessionId}/join`, {
        display_name: name,
        consent,
      });
    }
    remember(ctx.sessionId, {
      name,
      consentVersion: ctx.consent.version,
      rejoin: info.rejoin ?? rejoin ?? null,
      inRoom: true,
    });
    return info;
  };
}
