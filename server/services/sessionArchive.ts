/**
 * A session's "Download everything": every track (Ogg Opus or WebM, each spanning its take,
 * like a single download) and the newest transcript in its four formats, as one streamed
 * tar. A tar header states a file's size before its bytes, so each track is read twice: a
 * size pass that writes nothing (lib/media muxedSize), then the bytes, checked against it.
 * Decrypted media stays in memory. Reads run as the requesting member (RLS decides); the
 * download is audited once the archive is complete, like a track download.
 */
import { AsyncResource } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { outsideTransaction, withTenant } from '../core/db/pool.ts';
import { AppError, notFound } from '../core/errors.ts';
import { privateSession } from './privateRefusal.ts';
import { log, errorFields } from '../core/logger.ts';
import * as repo from '../repositories/sessions.ts';
import * as audit from '../repositories/audit.ts';
import { latestTranscript } from '../repositories/transcripts.ts';
import { EXPORT_FORMATS, exportTranscript as renderTranscript, type Transcript } from '../transcription/transcript.ts';
import { containerFor, muxedSize, muxTrack, type MuxOptions } from '../../lib/media/index.ts';
import { openBlob } from '../../lib/chunks/seal.ts';
import { parseWrappedKey } from '../../lib/keys/KeyProvider.ts';
import { addEntry, addFile, packArchive, type Pack } from '../../lib/archive/tar.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import { checkedSize, openStoredTrack } from './trackSource.ts';
import { slug } from './archive.ts';

/**
 * The session's archive as an attachment.
 * @throws AppError 404 `session_not_found`, 410 `recording_erased` (its key was erased).
 */
export async function downloadSessionArchive(deps: Deps, user: SignedInUser, orgId: string, sessionId: string) {
  const scope = { orgId, userId: user.id };
  const found = await withTenant(deps.db.app, scope, async (tx) => {
    const s = await repo.findSession(tx, orgId, sessionId);
    if (!s) throw notFound('session_not_found', 'No such session.');
    if (!s.wrapped_key)
      throw s.private_sealed_at
        ? privateSession()
        : new AppError(410, 'recording_erased', 'This recording was deleted.');
    const tracks = await repo.listTracks(tx, sessionId);
    // One query at a time on a transaction's client.
    const chunks = new Map<string, repo.ChunkRow[]>();
    for (const t of tracks) chunks.set(t.id, await repo.listChunks(tx, t.id));
    const transcript = await latestTranscript(tx, sessionId);
    return { s, wrapped: s.wrapped_key, tracks, chunks, transcript };
  });
  // The KMS round trip holds no pooled connection: the request's transaction is committed first.
  const key = await outsideTransaction(() =>
    deps.storage.keyProvider.decrypt(parseWrappedKey(found.wrapped), { organizationId: orgId, sessionId }),
  );
  const dir = `${found.s.created_at.toISOString().slice(0, 10)}_${slug(found.s.title)}_${sessionId.slice(0, 8)}`;
  const now = deps.clock.now();

  const write = async (pack: Pack) => {
    try {
      await addEntry(pack, { name: `${dir}/`, type: 'directory', mtime: now });
      for (const t of found.tracks) {
        const stored = () =>
          openStoredTrack({
            objectStore: deps.storage.objectStore,
            key,
            track: { organizationId: orgId, sessionId, trackId: t.id },
            chunks: found.chunks.get(t.id) ?? [],
          });
        const sizing = await stored();
        const container = sizing.meta ? containerFor(sizing.meta) : undefined;
        if (!sizing.meta || !container) {
          await sizing.records.return(undefined);
          continue; // nothing captured yet, or a codec with no container
        }
        const stoppedAt = t.take_stopped_at ?? t.ended_at;
        const opts: MuxOptions = {
          startUs: BigInt(t.take_started_at.getTime()) * 1000n,
          ...(stoppedAt ? { endUs: BigInt(stoppedAt.getTime()) * 1000n } : {}),
        };
        const size = await muxedSize(sizing.meta, sizing.records, opts);
        const content = await stored();
        const name = `take${t.take_seq}_${slug(t.display_name, 30)}_${t.kind}_${t.id.slice(0, 8)}.${container.extension}`;
        await addEntry(
          pack,
          { name: `${dir}/${name}`, size, mtime: t.ended_at ?? now },
          checkedSize(muxTrack(sizing.meta, content.records, opts).body, size),
        );
      }
      const tr = found.transcript;
      if (tr) {
        const sealed = await deps.storage.objectStore.get(tr.object_key);
        const binding = { organizationId: orgId, sessionId, kind: 'transcript', name: tr.run_id };
        const doc = JSON.parse(openBlob(key, binding, sealed).toString('utf8')) as Transcript;
        for (const format of EXPORT_FORMATS)
          await addFile(pack, `${dir}/transcript.${format}`, Buffer.from(renderTranscript(doc, format).body), now);
      }
    } finally {
      key.fill(0);
    }
  };

  const body = Readable.from(packArchive((w) => write(w.pack)));
  // Headers are gone by the time a later track fails: the download ends short, and we log it.
  body.on('error', (err) => log.error('session archive stream failed', errorFields(err)));
  // Audited once the whole archive was produced, as the same proven user (this request's context).
  body.on(
    'end',
    AsyncResource.bind(() => {
      withTenant(deps.db.app, scope, (tx) =>
        audit.insertAudit(tx, {
          orgId,
          actorUserId: user.id,
          actorEmail: user.email,
          action: 'recording.downloaded',
          details: { session_id: sessionId, archive: true },
        }),
      ).catch((err: unknown) => log.error('session archive audit failed', errorFields(err)));
    }),
  );
  return { contentType: 'application/x-tar', filename: `${slug(found.s.title)}-${sessionId.slice(0, 8)}.tar`, body };
}
