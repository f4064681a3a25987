/**
 * What the studio knows before joining: the session's title, who records (the organisation),
 * whether live sessions are available on this server, and the consent text to show. Also the
 * per-tab memory that lets a reload rejoin as the same participant.
 */
import { api, ApiError } from '../ui/api.ts';
import { me } from '../ui/session.tsx';
import type { JoinInfo } from './call.ts';

/** The consent wording shown when the server does not send its own (version "1"). */
export const DEFAULT_CONSENT = {
  version: '1',
  text: 'I agree that my audio and video in this session are recorded, stored encrypted, and shared with the organisation named above.',
};

/** What the green room shows. */
export interface StudioContext {
  mode: 'host' | 'guest';
  sessionId: string;
  orgId: string;
  title: string;
  organizationName: string | null;
  liveAvailable: boolean;
  consent: { version: string; text: string };
  /** The name to start with (the host's account name; empty for guests). */
  defaultName: string;
  /**
   * Whether the join routes take `consent` and `rejoin` (servers before the studio protocol
   * refuse unknown fields; their sessions still work, without stored consent).
   */
  studioProtocol: boolean;
}

interface GuestInfo {
  title?: string;
  organization_name?: string;
  live_available?: boolean;
  consent?: { version: string; text: string };
}

/** Loads the context of the page. @throws ApiError for a session that cannot be shown. */
export async function loadContext(mode: 'host' | 'guest', sessionId: string, orgId: string): Promise<StudioContext> {
  if (mode === 'guest') {
    let info: GuestInfo = {};
    let studioProtocol = true;
    try {
      info = await api<GuestInfo>('GET', `/api/join/${sessionId}/info`);
    } catch (err) {
      studioProtocol = false;
      // A server without the info route still lets guests in; a session that ended does not.
      if (err instanceof ApiError && err.status !== 404) throw err;
    }
    return {
      mode,
      sessionId,
      orgId,
      title: info.title ?? 'Recording session',
      organizationName: info.organization_name ?? null,
      liveAvailable: info.live_available !== false,
      consent: info.consent ?? DEFAULT_CONSENT,
      defaultName: remembered(sessionId)?.name ?? '',
      studioProtocol,
    };
  }
  const { user } = await me();
  const [org, session] = await Promise.all([
    api<{ name: string }>('GET', `/api/orgs/${orgId}`),
    api<{ title: string; status: string; live_available?: boolean; consent?: { version: string; text: string } }>(
      'GET',
      `/api/orgs/${orgId}/sessions/${sessionId}`,
    ),
  ]);
  if (session.status !== 'open') throw new ApiError(409, 'This session has ended.', 'session_ended', {});
  return {
    mode,
    sessionId,
    orgId,
    title: session.title,
    organizationName: org.name,
    liveAvailable: session.live_available !== false,
    consent: session.consent ?? DEFAULT_CONSENT,
    defaultName: remembered(sessionId)?.name ?? user.display_name ?? user.email.split('@')[0] ?? '',
    studioProtocol: session.live_available !== undefined,
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
    const consent = ctx.studioProtocol ? { consent: { version: ctx.consent.version } } : {};
    const rejoin = ctx.studioProtocol ? (mem?.rejoin ?? undefined) : undefined;
    let info: JoinInfo;
    if (ctx.mode === 'guest') {
      const token = new URLSearchParams(location.hash.slice(1)).get('g');
      info = await api<JoinInfo>('POST', '/api/join', {
        session_id: ctx.sessionId,
        token,
        display_name: name,
        ...consent,
        ...(rejoin ? { rejoin } : {}),
      });
    } else {
      info = await api<JoinInfo>('POST', `/api/orgs/${ctx.orgId}/sessions/${ctx.sessionId}/join`, {
        display_name: name,
        ...consent,
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
