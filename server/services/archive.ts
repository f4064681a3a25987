/**
 * The plaintext of an organisation export: one tar archive, produced entry by entry.
 *
 *     recorder-export-<org8>-<date>/README.txt
 *     …/organization.json                      the org, members, pending invitations
 *     …/audit-log/part-000001.jsonl            the audit log, 5 000 entries per part
 *     …/sessions/<date>_<title>_<id8>/session.json     participants, takes, tracks, timeline
 *     …/sessions/<…>/take1_<name>_audio_<id8>.ogg      each track: Ogg Opus or WebM
 *     …/sessions/<…>/transcript.json|srt|vtt|txt       the newest transcript, if any
 *
 * Memory stays flat as the org grows: every query is keyset-paged, a track's chunks are read
 * a few at a time through the one read path (services/trackSource.ts), and a tar header,
 * which states a file's size before its bytes, is served one of two ways: a track of up to
 * ONE_PASS_BYTES is muxed once into an arena (lib/archive/arena.ts) that is reused track
 * after track; a larger one is read twice, a size pass that writes nothing (lib/media
 * muxedSize: the same timeline and paging, no copy, no CRC), then the bytes, checked against
 * it. Decrypted media never touches the disk. Reads run as the requesting admin, so RLS
 * decides what is exported.
 * The tar format itself comes from tar-stream (ustar, PAX for long names).
 */
import { withTenant } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycleExport.ts';
import * as sessions from '../repositories/sessions.ts';
import * as studio from '../repositories/studio.ts';
import { listMembers } from '../repositories/orgs.ts';
import { createSecretKey } from 'node:crypto';
import { openBlob, type SealKey } from '../../lib/chunks/seal.ts';
import { latestTranscript } from '../repositories/transcripts.ts';
import { EXPORT_FORMATS, exportTranscript as renderTranscript, type Transcript } from '../transcription/transcript.ts';
import { containerFor, muxedSize, muxTrack, type MuxOptions } from '../../lib/media/index.ts';
import type { ChunkMeta, RtpRecord } from '../../lib/chunks/container.ts';
import type { Deps } from '../core/context.ts';
import { presentSessionDetail } from './sessionPresenter.ts';
import { checkedSize, chunkPages, openStoredTrack, type StoredTrack } from './trackSource.ts';
import { addEntry, addFile, packArchive, type ArchiveWriter, type Pack } from '../../lib/archive/tar.ts';
import { Arena } from '../../lib/archive/arena.ts';

/** What the archive reads through: the app pool, storage and the clock (an export's worker thread has only these). */
export type ArchiveDeps = Pick<Deps, 'db' | 'storage' | 'clock'>;

const AUDIT_PART = 5000;
const SESSION_PAGE = 50;
/**
 * A track that muxes to at most this many bytes is written in one pass: muxed into an arena
 * that gives its size for the tar header, then copied out of it. The arena is allocated once
 * per export and reused track after track, so memory stays flat; a larger track (by its
 * stored bytes, or once it overflows the arena) is read twice instead: a size pass that
 * writes nothing, then the bytes.
 */
const ONE_PASS_BYTES = 64 * 1024 * 1024;

/** What the archive is made for, and where progress goes. */
export interface ArchiveJob {
  orgId: string;
  /** The requesting admin (null for an API key): every read runs under their tenant scope. */
  userId: string | null;
  exportId: string;
  /** Called after each session with the number of sessions done. */
  onSession?: (done: number) => Promise<void>;
}

/** A safe, readable path segment. */
export function slug(s: string, max = 40): string {
  return (
    s
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._-]+|_+$/g, '')
      .slice(0, max) || 'untitled'
  );
}

const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8');

/** Yields the archive's bytes. @throws on any read, decryption or storage failure. */
export function orgArchive(deps: ArchiveDeps, job: ArchiveJob): AsyncGenerator<Buffer> {
  return packArchive((w) => writeArchive(deps, job, w));
}

async function writeArchive(deps: ArchiveDeps, job: ArchiveJob, w: ArchiveWriter): Promise<void> {
  const { pack } = w;
  const held = new Arena(ONE_PASS_BYTES);
  const scope = { orgId: job.orgId, userId: job.userId };
  const now = deps.clock.now();
  const root = `recorder-export-${job.orgId.slice(0, 8)}-${now.toISOString().slice(0, 10)}`;
  const head = await withTenant(deps.db.jobs, scope, async (tx) => {
    const org = await repo.exportOrg(tx, job.orgId);
    if (!org) throw new Error('organization not visible to the requester');
    return { org, members: await listMembers(tx, job.orgId), auditUpTo: await repo.maxAuditId(tx, job.orgId) };
  });
  await addEntry(pack, { name: `${root}/`, type: 'directory', mtime: now });
  await addFile(pack, `${root}/README.txt`, Buffer.from(readme(head.org.name, now)), now);
  await addFile(
    pack,
    `${root}/organization.json`,
    json({
      format: 'recorder-export/1',
      exported_at: now.toISOString(),
      export_id: job.exportId,
      organization: {
        id: head.org.id,
        name: head.org.name,
        created_at: head.org.created_at.toISOString(),
        retention_days: head.org.retention_days,
      },
      members: head.members.map((m) => ({
        user_id: m.user_id,
        email: m.email,
        display_name: m.display_name,
        role: m.role,
        joined_at: m.created_at.toISOString(),
      })),
    }),
    now,
  );
  let afterAudit = '0';
  for (let part = 1; ; part++) {
    const rows = await withTenant(deps.db.jobs, scope, (tx) =>
      repo.auditPage(tx, job.orgId, afterAudit, head.auditUpTo, AUDIT_PART),
    );
    if (rows.length === 0) break;
    const body = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');
    await addFile(pack, `${root}/audit-log/part-${String(part).padStart(6, '0')}.jsonl`, body, now);
    afterAudit = rows.at(-1)?.id ?? afterAudit;
    if (rows.length < AUDIT_PART) break;
  }
  let after: { createdAt: Date; id: string } | null = null;
  let done = 0;
  for (;;) {
    const page = await withTenant(deps.db.jobs, scope, (tx) => repo.sessionsPage(tx, job.orgId, after, SESSION_PAGE));
    for (const s of page) {
      await sessionEntries(
        deps,
        job,
        { w, held },
        `${root}/sessions/${s.created_at.toISOString().slice(0, 10)}_${slug(s.title)}_${s.id.slice(0, 8)}`,
        s,
        now,
      );
      await job.onSession?.(++done);
    }
    const last = page.at(-1);
    if (!last || page.length < SESSION_PAGE) break;
    after = { createdAt: last.created_at, id: last.id };
  }
}

async function sessionEntries(
  deps: ArchiveDeps,
  job: ArchiveJob,
  out: { w: ArchiveWriter; held: Arena },
  dir: string,
  s: repo.ExportSessionRow,
  now: Date,
): Promise<void> {
  const { pack } = out.w;
  const scope = { orgId: job.orgId, userId: job.userId };
  const d = await withTenant(deps.db.jobs, scope, async (tx) => ({
    participants: await sessions.listParticipants(tx, s.id),
    takes: await sessions.listTakes(tx, s.id),
    tracks: await sessions.listTracks(tx, s.id),
    events: await sessions.listEvents(tx, s.id),
    consents: await studio.listConsents(tx, s.id),
  }));
  const files: Record<string, string | null> = {};
  if (s.wrapped_key) {
    // The KMS round trip happens here, outside any transaction.
    const rawKey = await deps.storage.keyProvider.decrypt(s.wrapped_key, {
      organizationId: job.orgId,
      sessionId: s.id,
    });
    // Imported once: opening thousands of chunks with the raw bytes would import it each time.
    const key = createSecretKey(rawKey);
    rawKey.fill(0);
    for (const t of d.tracks) {
      const stored = (): StoredTrack => ({
        objectStore: deps.storage.objectStore,
        key,
        track: { organizationId: job.orgId, sessionId: s.id, trackId: t.id },
        blocking: true, // the export's worker thread: nothing else waits on it
        chunks: chunkPages((afterSeq, limit) =>
          withTenant(deps.db.jobs, scope, (tx) => repo.chunksPage(tx, t.id, afterSeq, limit)),
        ),
      });
      const opened = await openStoredTrack(stored());
      if (!opened.meta) continue;
      const container = containerFor(opened.meta);
      if (!container) {
        await opened.records.return(undefined);
        files[t.id] = null; // a codec with no container: listed, not exported
        continue;
      }
      // Like a direct download: the file spans its whole take, silence padded at both ends.
      const stoppedAt = t.take_stopped_at ?? t.ended_at;
      const opts = {
        startUs: BigInt(t.take_started_at.getTime()) * 1000n,
        ...(stoppedAt ? { endUs: BigInt(stoppedAt.getTime()) * 1000n } : {}),
      };
      const name = `take${t.take_seq}_${slug(t.display_name, 30)}_${t.kind}_${t.id.slice(0, 8)}.${container.extension}`;
      files[t.id] = name;
      const entry = { name: `${dir}/${name}`, mtime: t.ended_at ?? now };
      // One pass when the track fits the arena: muxed into it, then written from it.
      const onePass = Number(t.byte_count) <= ONE_PASS_BYTES;
      const fits = onePass && (await muxInto(out.held, opened.meta, opened.records, opts));
      if (fits) {
        const slices = out.held.slices();
        await addEntry(pack, { ...entry, size: out.held.length }, slices);
        const last = slices.at(-1);
        if (last) await out.w.delivered(last); // age has copied it all: the arena is free again
        continue;
      }
      // Two passes: the size (no bytes written), then the bytes, checked against it.
      const sizing = onePass ? await openStoredTrack(stored()) : opened; // the first read ran into the limit
      const size = await muxedSize(opened.meta, sizing.records, opts);
      const content = await openStoredTrack(stored());
      await addEntry(pack, { ...entry, size }, checkedSize(muxTrack(opened.meta, content.records, opts).body, size));
    }
    await transcriptEntries(deps, job, pack, dir, s.id, key);
  }
  await addFile(
    pack,
    `${dir}/session.json`,
    json({
      id: s.id,
      title: s.title,
      status: s.status,
      created_at: s.created_at.toISOString(),
      ended_at: s.ended_at?.toISOString() ?? null,
      erased_at: s.key_erased_at?.toISOString() ?? null,
      ...presentSessionDetail(d, { participantNames: false, trackLink: (t) => ({ file: files[t.id] ?? null }) }),
    }),
    now,
  );
}

/**
 * Muxes a track into `arena` (emptied first); false, with the records closed, once the file
 * would pass the arena's limit.
 */
async function muxInto(
  arena: Arena,
  meta: ChunkMeta,
  records: AsyncGenerator<RtpRecord[]>,
  opts: MuxOptions,
): Promise<boolean> {
  arena.reset();
  // The arena copies each buffer before the next is muxed: the muxer may reuse its memory.
  for await (const b of muxTrack(meta, records, { ...opts, transient: true }).body) {
    if (!arena.append(b)) {
      await records.return([]);
      return false;
    }
  }
  return true;
}

/** The session's newest transcript in the four formats people use (none: nothing). */
async function transcriptEntries(
  deps: ArchiveDeps,
  job: ArchiveJob,
  pack: Pack,
  dir: string,
  sessionId: string,
  key: SealKey,
): Promise<void> {
  const row = await withTenant(deps.db.jobs, { orgId: job.orgId, userId: job.userId }, (tx) =>
    latestTranscript(tx, sessionId),
  );
  if (!row) return;
  const sealed = await deps.storage.objectStore.get(row.object_key);
  const doc = JSON.parse(
    openBlob(key, { organizationId: job.orgId, sessionId, kind: 'transcript', name: row.run_id }, sealed).toString(
      'utf8',
    ),
  ) as Transcript;
  for (const format of EXPORT_FORMATS)
    await addFile(
      pack,
      `${dir}/transcript.${format}`,
      Buffer.from(renderTranscript(doc, format).body, 'utf8'),
      row.created_at,
    );
}

function readme(orgName: string, at: Date): string {
  return [
    `Export of the organization "${orgName}", made ${at.toISOString()}.`,
    '',
    'organization.json      the organization and its members',
    'audit-log/*.jsonl      the audit log, one JSON object per line, oldest first',
    'sessions/*/session.json  each recording session: participants, takes, tracks, timeline',
    "sessions/*/*.ogg|webm  each captured track (Ogg Opus audio, WebM VP8 video); all tracks of a take start at the take's start",
    'sessions/*/transcript.*  the newest transcript as JSON, SubRip, WebVTT and plain text',
    '',
  ].join('\n');
}
