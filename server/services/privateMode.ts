/**
 * Private mode (issue #14): an organisation's key pair whose private half only key holders'
 * browsers can unwrap; after a session ends (and transcription is done or was never
 * queued), the sweep re-wraps its data key to the org public key and erases the KMS-wrapped
 * copy. From then on the server only hands out sealed bytes; a key holder's browser opens
 * them (lib/private/crypto.ts, web-src/private/).
 */
import { outsideTransaction, withTenant, withUser } from '../core/db/pool.ts';
import * as repo from '../repositories/privateMode.ts';
import * as sessions from '../repositories/sessions.ts';
import * as transcripts from '../repositories/transcripts.ts';
import * as audit from '../repositories/audit.ts';
import { AppError, forbidden, notFound } from '../core/errors.ts';
import { parseWrappedKey } from '../../lib/keys/KeyProvider.ts';
import { wrapSessionKey } from '../../lib/private/crypto.ts';
import { requireAdmin, requireOwner, requirePerson, tenantScope as scope } from '../policies.ts';
import { log, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import type { WrappedOrgKey } from '../../lib/private/crypto.ts';

const sessionNotFound = () => notFound('session_not_found', 'No such session.');

/** What private mode gives up, said the same way by the API and the pages. */
export const GIVES_UP = [
  'Server-side transcription after the session ends: a re-run needs a key holder to unlock the recording in the browser.',
  'Server-side export: the organisation export leaves private recordings out; download them from the session page.',
  'Search over recordings and transcripts.',
  'Public links to recordings.',
  'Recovery: if every key holder loses their passphrase, private recordings can never be opened again.',
];

/** Private mode's state for the caller: on or off, the public key, the key holders, the caller's own copy. */
export async function getPrivateMode(deps: Deps, user: SignedInUser, orgId: string) {
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const key = await repo.findOrgKey(tx, orgId);
    const holders = key ? await repo.listHolders(tx, orgId) : [];
    const mine = key ? await repo.findMyWrappedKey(tx, orgId, user.id) : undefined;
    const requests = key ? await repo.listRequests(tx, orgId) : [];
    const myRequest = requests.find((r) => r.user_id === user.id);
    return {
      enabled: key !== undefined,
      enabled_at: key?.enabled_at.toISOString() ?? null,
      public_key: key ? key.public_key.toString('base64') : null,
      holders: holders.map((h) => ({
        user_id: h.user_id,
        email: h.email,
        display_name: h.display_name,
        created_at: h.created_at.toISOString(),
        updated_at: h.updated_at.toISOString(),
      })),
      my_wrapped_key: mine?.wrapped ?? null,
      /** Requests for a copy (admins see all; others their own), each with its public key to fingerprint. */
      requests: requests.map((r) => ({
        user_id: r.user_id,
        email: r.email,
        public_key: r.public_key.toString('base64'),
        created_at: r.created_at.toISOString(),
        granted: r.grant_key !== null,
      })),
      /** The caller's own request, with what their browser needs to finish it. */
      my_request: myRequest
        ? {
            public_key: myRequest.public_key.toString('base64'),
            wrapped_request_key: myRequest.wrapped_request_key,
            grant: myRequest.grant_key,
          }
        : null,
      gives_up: GIVES_UP,
    };
  });
}

/**
 * Turns private mode on with the key pair the owner's browser made: its public half and the
 * owner's passphrase-wrapped copy of the private half.
 * @throws AppError 403 `api_key_forbidden` / `owner_required`, 409 `private_mode_enabled` (already on).
 */
export async function enablePrivateMode(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  publicKey: Buffer,
  wrapped: WrappedOrgKey,
) {
  requirePerson(user, 'An API key cannot turn on private mode; sign in.');
  requireOwner(role, 'Only an owner can turn on private mode.');
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    if (await repo.findOrgKey(tx, orgId))
      throw new AppError(409, 'private_mode_enabled', 'Private mode is already on for this organisation.');
    await repo.insertOrgKey(tx, orgId, publicKey, user.id);
    await repo.upsertMyWrappedKey(tx, orgId, user.id, wrapped);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'private_mode.enabled',
      details: { iterations: wrapped.iterations },
    });
  });
  return getPrivateMode(deps, user, orgId);
}

/**
 * Registers the caller's own copy of the org private key (an admin made a key holder), or
 * replaces it (a new passphrase). The browser unwrapped the key with a holder's passphrase
 * and wrapped it under the caller's; the server cannot check that it is the right key.
 * @throws AppError 403 `api_key_forbidden` / `admin_required`, 409 `private_mode_off`.
 */
export async function putMyKey(deps: Deps, user: SignedInUser, orgId: string, role: Role, wrapped: WrappedOrgKey) {
  requirePerson(user, 'An API key cannot hold the private-mode key; sign in.');
  requireAdmin(role, 'Only owners and admins can hold the private-mode key.');
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    if (!(await repo.findOrgKey(tx, orgId)))
      throw new AppError(409, 'private_mode_off', 'Private mode is not on for this organisation.');
    const replaced = await repo.upsertMyWrappedKey(tx, orgId, user.id, wrapped);
    await repo.deleteRequest(tx, orgId, user.id); // a granted request is finished by this
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: replaced ? 'private_mode.passphrase_changed' : 'private_mode.key_holder_added',
      details: { iterations: wrapped.iterations },
    });
  });
  return getPrivateMode(deps, user, orgId);
}

/**
 * Removes a key holder's copy (owners: anyone's; anyone: their own).
 * @throws AppError 404 `key_holder_not_found`, 409 `last_key_holder`.
 */
export async function removeHolder(deps: Deps, user: SignedInUser, orgId: string, role: Role, userId: string) {
  requirePerson(user, 'An API key cannot change the key holders; sign in.');
  if (userId !== user.id) requireOwner(role, 'Only an owner can remove another key holder.');
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const gone = await repo.deleteHolder(tx, orgId, userId);
    if (!gone) throw notFound('key_holder_not_found', 'No such key holder.');
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'private_mode.key_holder_removed',
      targetUserId: userId,
      targetEmail: gone.email,
    });
  });
  return getPrivateMode(deps, user, orgId);
}

/**
 * An owner or admin without a copy asks for one with a personal public key (spki) whose
 * private half their browser wrapped under their passphrase.
 * @throws AppError 403 `api_key_forbidden` / `admin_required`, 409 `private_mode_off`, `already_key_holder`.
 */
export async function requestKey(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  publicKey: Buffer,
  wrapped: WrappedOrgKey,
) {
  requirePerson(user, 'An API key cannot hold the private-mode key; sign in.');
  requireAdmin(role, 'Only owners and admins can hold the private-mode key.');
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    if (!(await repo.findOrgKey(tx, orgId)))
      throw new AppError(409, 'private_mode_off', 'Private mode is not on for this organisation.');
    if (await repo.findMyWrappedKey(tx, orgId, user.id))
      throw new AppError(409, 'already_key_holder', 'You already hold the private-mode key.');
    await repo.upsertRequest(tx, orgId, user.id, publicKey, wrapped);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'private_mode.key_requested',
    });
  });
  return getPrivateMode(deps, user, orgId);
}

/**
 * A key holder grants a request: the org private key sealed (in their browser) to the
 * requester's public key, which must still be the one the holder saw.
 * @throws AppError 403 `api_key_forbidden` / `admin_required` / `forbidden` (not a holder), 404 `key_request_not_found` (none, or its key changed).
 */
export async function grantKey(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  userId: string,
  publicKey: Buffer,
  grant: unknown,
) {
  requirePerson(user, 'An API key cannot hold the private-mode key; sign in.');
  requireAdmin(role, 'Only owners and admins can hold the private-mode key.');
  await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    if (!(await repo.findMyWrappedKey(tx, orgId, user.id)))
      throw forbidden('forbidden', 'Only a key holder can grant the private-mode key.');
    if (userId === user.id) throw forbidden('forbidden', 'A request is granted by another key holder.');
    const granted = await repo.grantRequest(tx, orgId, userId, user.id, publicKey, grant);
    if (!granted) throw notFound('key_request_not_found', 'No such request (or it was made again with a new key).');
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'private_mode.key_granted',
      targetUserId: userId,
      targetEmail: granted.email,
    });
  });
  return getPrivateMode(deps, user, orgId);
}

const notSealed = () =>
  new AppError(409, 'not_private', 'This recording is not sealed in private mode; the server serves it as usual.');

/**
 * What a key holder's browser needs to open a sealed session: its re-wrapped data key, and
 * per track the chunk list and the times the muxer lines it up with (as downloadTrack does).
 * @throws AppError 404, 409 `not_private` (not sealed).
 */
export async function sealedSession(deps: Deps, user: SignedInUser, orgId: string, sessionId: string) {
  return withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSealedSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    if (!s.private_sealed_at || !s.private_wrapped_key) throw notSealed();
    const tracks = await sessions.listTracks(tx, sessionId);
    const out = [];
    for (const t of tracks) {
      const chunks = await sessions.listChunks(tx, t.id);
      const stoppedAt = t.take_stopped_at ?? t.ended_at;
      out.push({
        id: t.id,
        kind: t.kind,
        participant: t.display_name,
        take: t.take_seq,
        mime_type: t.mime_type,
        start_ms: t.take_started_at.getTime(),
        end_ms: stoppedAt?.getTime() ?? null,
        chunks: chunks.map((c) => ({ seq: c.seq, size: c.size })),
      });
    }
    const transcript = await transcripts.latestTranscript(tx, sessionId);
    return {
      organization_id: orgId,
      session_id: sessionId,
      sealed_at: s.private_sealed_at.toISOString(),
      private_wrapped_key: s.private_wrapped_key,
      tracks: out,
      transcript: transcript ? { run_id: transcript.run_id } : null,
    };
  });
}

async function sealedObject(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  find: (tx: Parameters<typeof repo.findTranscriptObject>[0]) => Promise<{ object_key: string } | undefined>,
  missing: () => AppError,
): Promise<Buffer> {
  const objectKey = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSealedSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    if (!s.private_sealed_at) throw notSealed();
    const found = await find(tx);
    if (!found) throw missing();
    return found.object_key;
  });
  return outsideTransaction(() => deps.storage.objectStore.get(objectKey));
}

/** The most chunks one {@link sealedChunkRange} answer carries (about 2 MB of 64 kbit/s audio). */
export const MAX_CHUNK_RANGE = 64;

/**
 * Up to `count` chunks of a sealed track from sequence number `from` on, as stored, framed
 * for the browser: per chunk a big-endian u32 sequence number, a u32 length, the sealed
 * bytes. One request per minute or two of audio instead of one per chunk.
 * @throws AppError 404, 409 `not_private`.
 */
export async function sealedChunkRange(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  sessionId: string,
  trackId: string,
  from: number,
  count: number,
): Promise<Buffer> {
  const rows = await withTenant(deps.db.app, scope(orgId, user), async (tx) => {
    const s = await repo.findSealedSession(tx, orgId, sessionId);
    if (!s) throw sessionNotFound();
    if (!s.private_sealed_at) throw notSealed();
    return repo.chunkRange(tx, sessionId, trackId, from, Math.min(count, MAX_CHUNK_RANGE));
  });
  const parts = await outsideTransaction(() =>
    Promise.all(rows.map((r) => deps.storage.objectStore.get(r.object_key))),
  );
  const out: Buffer[] = [];
  for (const [i, r] of rows.entries()) {
    const body = parts[i] ?? Buffer.alloc(0);
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(r.seq, 0);
    head.writeUInt32BE(body.length, 4);
    out.push(head, body);
  }
  return Buffer.concat(out);
}

/** A sealed session's transcript as stored (still sealed). @throws AppError 404, 409 `not_private`. */
export function sealedTranscript(deps: Deps, user: SignedInUser, orgId: string, sessionId: string, runId: string) {
  return sealedObject(
    deps,
    user,
    orgId,
    sessionId,
    (tx) => repo.findTranscriptObject(tx, sessionId, runId),
    () => notFound('transcript_not_found', 'No such transcript.'),
  );
}

/**
 * The sweep step: re-wraps the data key of every ended private-mode session that no
 * transcription run still needs to the org public key, and erases the KMS-wrapped copy (one
 * statement, audited `private_mode.session_sealed`). Returns how many were sealed.
 */
export async function sealPrivateSessions(deps: Deps, limit = 50): Promise<number> {
  const due = await withUser(deps.db.sweep, null, (tx) => repo.pendingSessions(tx, limit));
  let sealed = 0;
  for (const d of due) {
    try {
      const context = { organizationId: d.organization_id, sessionId: d.session_id };
      const raw = await deps.storage.keyProvider.decrypt(parseWrappedKey(d.wrapped_key), context);
      let record;
      try {
        record = await wrapSessionKey(
          new Uint8Array(d.public_key),
          new Uint8Array(raw),
          d.organization_id,
          d.session_id,
        );
      } finally {
        raw.fill(0);
      }
      if (await withUser(deps.db.sweep, null, (tx) => repo.sealSession(tx, d.session_id, d.public_key, record)))
        sealed++;
    } catch (err) {
      log.error('private mode: a session could not be sealed', { session_id: d.session_id, ...errorFields(err) });
    }
  }
  return sealed;
}
