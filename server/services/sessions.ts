/**
 * Recording sessions: create (with a freshly wrapped data key), list, show with timeline,
 * join tokens for hosts and guests, per-track download decrypted on the fly, and deletion
 * by cryptographic erasure.
 */
import { createSecretKey, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { AsyncResource } from 'node:async_hooks';
import { outsideTransaction, withTenant, withUser } from '../core/db/pool.ts';
import { randomToken, sha256 } from '../core/crypto/secrets.ts';
import * as repo from '../repositories/sessions.ts';
import * as audit from '../repositories/audit.ts';
import { AppError, forbidden, notFound } from '../core/errors.ts';
import { signJoinToken } from '../../lib/tokens.ts';
import { ChunkFormatError, type ChunkMeta } from '../../lib/chunks/container.ts';
import { SealError } from '../../lib/chunks/seal.ts';
import { containerFor, muxedSize, muxTrack } from '../../lib/media/index.ts';
import { parseWrappedKey } from '../../lib/keys/KeyProvider.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { log, errorFields } from '../core/logger.ts';
import { sweepErasedTranscripts } from './transcripts.ts';
import { certifyUserErasure, type CertificateView } from './certificates.ts';
import { presentSessionDetail } from './sessionPresenter.ts';
import { openStoredTrack } from './trackSource.ts';
import { tenantScope } from '../policies.ts';
import { hostParticipant, liveStatus } from './studio.ts';
import { placeForMember } from './fleet.ts';
import { privateSession } from './privateRefusal.ts';

const sessionNotFound = () => notFound('session_not_found', 'No such session.');
const recordingErased = () => new AppError(410, 'recording_erased', 'This recording was deleted.');
const scope = tenantScope;

export interface SessionView {
  id: string;
  title: string;
  status: 'open' | 'ended';
  created_at: string;
  ended_at: string | null;
  participant_count: number;
  track_count: number;
}

const present = (s: repo.SessionListRow): SessionView => ({
  id: s.id,
  title: s.title,
  status: s.status,
  created_at: s.created_at.toISOString(),
  ended_at: s.ended_at?.toISOString() ?? null,
  participant_count: s.participant_count,
  track_count: s.track_count,
});

function guestUrl(deps: Deps, sessionId: string, token: string): string {
  return `${deps.config.publicUrl}/join/${sessionId}#g=${token}`;
}

/** Creates a session and its data key; returns it with the guest link (shown once). */
export async function createSession(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  title: string,
): Promise<SessionView & { guest_url: string }> {
  const id = randomUUID();
  // KMS round trip before the transaction: no pooled connection waits on it.
  const dataKey = await outsideTransaction(() =>
    deps.storage.keyProvider.generateDataKey({ organizationId: orgId, sessionId: id }),
  );
  dataKey.plaintext.fill(0);
  const token = randomToken(24);
  const row = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    await repo.insertSession(tx, {
      id,
      orgId,
      title,
      createdBy: user.id,
      guestTokenHash: sha256(token),
      wrappedKey: dataKey.wrapped,
    });
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'session.created',
      details: { session_id: id },
    });
    return repo.findSession(tx, orgId, id);
  });
  if (!row) throw sessionNotFound();
  return { ...present(row), guest_url: guestUrl(deps, id, token) };
}

export async function listSessions(deps: Deps, user: SignedInUser, orgId: string): Promise<SessionView[]> {
  const rows = await withTenant(deps.db.app, scope(orgId, user), (tx) => repo.listSessions(tx, orgId));
  return rows.map(present);
}

/** A session with its participants, takes, tracks (with download links) and timeline. */
export async function getSession(deps: Deps, user: SignedInUser, orgId: string, id: string) {
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSession(tx, orgId, id);
    if (!s) throw sessionNotFound();
    // One after another: a client runs one query at a time (pg 9 refuses queued ones).
    const participants = await repo.listParticipants(tx, id);
    const takes = await repo.listTakes(tx, id);
    const tracks = await repo.listTracks(tx, id);
    const events = await repo.listEvents(tx, id);
    return {
      ...present(s),
      private_sealed_at: s.private_sealed_at?.toISOString() ?? null,
      ...presentSessionDetail(
        { participants, takes, tracks, events },
        {
          participantNames: true,
          trackLink: (t) => ({ download_url: `/api/orgs/${orgId}/sessions/${id}/tracks/${t.id}/download` }),
        },
      ),
    };
  });
}

/** A new guest link for a session (the previous one stops working). Admins or the creator. */
export async function rotateGuestLink(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  id: string,
): Promise<{ guest_url: string }> {
  const token = randomToken(24);
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSession(tx, orgId, id);
    if (!s) throw sessionNotFound();
    if (s.status !== 'open') throw new AppError(409, 'session_ended', 'This session has ended.');
    await repo.setGuestToken(tx, id, sha256(token));
  });
  return { guest_url: guestUrl(deps, id, token) };
}

/**
 * A member joins as host: their participant in this session (the same one again on a
 * reload), consent recorded when given, the session placed on an SFU node, and a
 * short-lived join token for that node.
 * @throws AppError 503 `fleet_full` (Retry-After) when no node has room for a new live session.
 */
export async function hostJoin(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  id: string,
  displayName: string | undefined,
  consent?: { version: string },
) {
  const name = displayName ?? user.displayName ?? user.email.split('@')[0] ?? 'Host';
  const p = await hostParticipant(deps, user, orgId, id, name, consent);
  const node = await placeForMember(deps, orgId, user.id, id);
  const exp = Math.floor(deps.clock.now().getTime() / 1000) + deps.config.sfu.joinTokenTtlS;
  const claims = { sid: id, oid: orgId, pid: p.pid, role: 'host' as const, name, exp, node: node.nodeId };
  return {
    token: signJoinToken(deps.secrets.key('join-token'), p.consent ? { ...claims, consent: p.consent } : claims),
    sfu_url: node.signalUrl,
    sfu_node: node.nodeId,
    participant_id: p.pid,
    title: p.title,
    role: 'host' as const,
    consent: p.consent ? { version: p.consent } : null,
    ...(await liveStatus(deps)),
  };
}

/** A single byte range of a file, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header against a file of `size` bytes (RFC 9110 §14.1.2): undefined when
 * there is none to honour (absent, malformed, not bytes, or several ranges: the whole file
 * is sent), 'unsatisfiable' when no byte of it lies in the file, else the range clamped to
 * the file.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    // A suffix: the last N bytes.
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? Infinity : Number(b);
  if (end < start) return undefined; // invalid: ignored, as the RFC says
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** The bytes `start..end` (inclusive) of a stream that must be exactly `size` bytes long. */
async function* byteSlice(body: AsyncIterable<Buffer>, r: ByteRange, size: number): AsyncGenerator<Buffer> {
  let pos = 0;
  const whole = r.end === size - 1;
  for await (const b of body) {
    const from = pos;
    pos += b.length;
    if (pos > r.start && from <= r.end) {
      // A copy: the muxer may reuse the memory of a buffer once asked for the next.
      yield Buffer.from(b.subarray(Math.max(0, r.start - from), Math.min(b.length, r.end + 1 - from)));
    }
    if (pos > r.end && !whole) return; // the rest is not needed (closing the body closes the records)
  }
  // Muxing is deterministic: the content pass must give the size the size pass gave.
  if (pos !== size) throw new Error(`a track muxed to ${pos} bytes after a size pass of ${size}`);
}

/** What {@link downloadTrack} answers. */
export type TrackDownload =
  | {
      status: 200 | 206;
      contentType: string;
      filename: string;
      body: Readable;
      /** The whole file's size: known when a Range was asked for (a plain GET streams without it). */
      size?: number;
      range?: ByteRange;
    }
  | { status: 416; size: number };

/**
 * One track as a file any player opens (Ogg Opus or WebM), decrypted chunk by chunk in
 * memory while it streams. Times start at the take's start, so tracks line up. With a Range
 * header (players seek with them) the file's size comes first from a pass that writes
 * nothing (lib/media muxedSize), then the requested bytes are cut from the stream. Only a
 * complete download is audited: a range that covers part of the file is playback.
 */
export async function downloadTrack(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  trackId: string,
  rangeHeader?: string,
): Promise<TrackDownload> {
  const found = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    const t = await repo.findTrack(tx, sessionId, trackId);
    if (!t) throw notFound('track_not_found', 'No such track.');
    if (!s.wrapped_key) throw s.private_sealed_at ? privateSession() : recordingErased();
    const chunks = await repo.listChunks(tx, trackId);
    return { s, t, chunks, wrapped: s.wrapped_key };
  });
  const rawKey = await outsideTransaction(() =>
    deps.storage.keyProvider.decrypt(parseWrappedKey(found.wrapped), {
      organizationId: orgId,
      sessionId,
    }),
  );
  // Imported once for every chunk (as the export does), and the raw bytes wiped at once.
  const key = createSecretKey(rawKey);
  rawKey.fill(0);
  const stored = () =>
    openStoredTrack({
      objectStore: deps.storage.objectStore,
      key,
      track: { organizationId: orgId, sessionId, trackId },
      chunks: found.chunks,
    });
  // The read path opens the first chunk now, for the codec.
  let opened;
  try {
    opened = await stored();
  } catch (err) {
    // The first chunk is opened before anything is sent: say plainly that stored media was
    // altered or damaged, not a generic internal error. (A later chunk aborts the stream.)
    if (err instanceof SealError || err instanceof ChunkFormatError) {
      log.error('download refused: a stored chunk failed its integrity check', errorFields(err));
      throw new AppError(
        422,
        'recording_damaged',
        "This track's stored media failed its integrity check (it was altered or damaged) and cannot be downloaded.",
      );
    }
    throw err;
  }
  // A track with no chunks yet: its codec as the track row gives it.
  const meta: ChunkMeta = opened.meta ?? {
    kind: found.t.kind,
    payloadType: found.t.kind === 'audio' ? 111 : 96,
    clockRate: found.t.kind === 'audio' ? 48000 : 90000,
    mimeType: found.t.mime_type,
  };
  if (!containerFor(meta)) {
    await opened.records.return(undefined);
    throw new AppError(415, 'unsupported_codec', "This track's codec cannot be exported.");
  }
  // Every track of a take spans the take: silence before the first packet and after the
  // last, so all of a take's files line up and last as long as the recording.
  const stoppedAt = found.t.take_stopped_at ?? found.t.ended_at;
  const opts = {
    startUs: BigInt(found.t.take_started_at.getTime()) * 1000n,
    ...(stoppedAt ? { endUs: BigInt(stoppedAt.getTime()) * 1000n } : {}),
  };
  let size: number | undefined;
  let range: ByteRange | undefined;
  if (rangeHeader) {
    // The size pass reads the track once; the content is then read again from the start.
    size = await muxedSize(meta, opened.records, opts);
    const r = parseByteRange(rangeHeader, size);
    if (r === 'unsatisfiable') return { status: 416, size };
    range = r;
    opened = await stored();
  }
  const muxed = muxTrack(meta, opened.records, opts);
  const safeName = found.t.display_name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || 'participant';
  const body = Readable.from(
    size !== undefined ? byteSlice(muxed.body, range ?? { start: 0, end: size - 1 }, size) : muxed.body,
  );
  body.on('error', (err) => log.error('download stream failed', errorFields(err)));
  // Audited once the whole file was produced: a download that failed is not one, nor is a
  // range that leaves part of the file out (a player fetching what it plays).
  const complete = !range || (range.start === 0 && size !== undefined && range.end === size - 1);
  // Bound to this request's async context, so the audit proves the same user again.
  if (complete)
    body.on(
      'end',
      AsyncResource.bind(() => {
        withTenant(deps.db.app, scope(orgId, user), (tx) =>
          audit.insertAudit(tx, {
            orgId,
            actorUserId: user.id,
            actorEmail: user.email,
            action: 'recording.downloaded',
            details: { session_id: sessionId, track_id: trackId },
          }),
        ).catch((err: unknown) => log.error('download audit failed', errorFields(err)));
      }),
    );
  return {
    status: range ? 206 : 200,
    contentType: muxed.contentType,
    filename: `${safeName}-take${found.t.take_seq}-${found.t.kind}.${muxed.extension}`,
    body,
    ...(size !== undefined ? { size } : {}),
    ...(range ? { range } : {}),
  };
}

/**
 * Deletes a recording: erases its wrapped key at once (nothing opens from then on), then
 * the sweep removes chunks. Owners, admins, or the member who created the session.
 */
export async function deleteSession(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  id: string,
): Promise<{ erased_at: string; certificate: CertificateView }> {
  const erasedAt = deps.clock.now();
  const certificate = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSession(tx, orgId, id);
    if (!s) throw sessionNotFound();
    // user.id is the key's id when an API key acts (it is then the session's creator by key).
    if (role === 'member' && s.created_by !== user.id && s.created_by_api_key_id !== user.id)
      throw forbidden('admin_required', 'Only owners, admins or the session creator can delete it.');
    await repo.eraseSessionKey(tx, id);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'session.deleted',
      details: { session_id: id, key_id: s.wrapped_key?.keyId ?? null },
    });
    // The signed deletion certificate (server/services/certificates.ts), stored with the erasure.
    return certifyUserErasure(deps, tx, {
      orgId,
      sessionId: id,
      wrapped: s.wrapped_key,
      erasedAt,
      userId: user.apiKey ? null : user.id,
      apiKey: user.apiKey,
    });
  });
  await deps.onSessionErased?.(id);
  return { erased_at: erasedAt.toISOString(), certificate };
}

/** Removes the stored media of erased sessions (any org). Returns how many sessions were swept. */
export async function sweepErased(deps: Deps, limit = 50): Promise<number> {
  const pending = await withUser(deps.db.sweep, null, (tx) => repo.erasedPendingSweep(tx, limit));
  for (const p of pending) {
    await deps.storage.objectStore.deletePrefix(`orgs/${p.organization_id}/sessions/${p.session_id}/`);
    await withUser(deps.db.sweep, null, (tx) => repo.sweepSessionMedia(tx, p.session_id));
  }
  // Transcripts live under the same prefix; their rows (and sessions with no media) go here.
  await sweepErasedTranscripts(deps, limit);
  return pending.length;
}
