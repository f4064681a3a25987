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
 * Memory stays flat as the org grows: every query is keyset-paged, each chunk is fetched,
 * opened and muxed one at a time, and a track is muxed twice (a first pass only counts its
 * bytes, because a tar header states the size before the content; the muxers are
 * deterministic, and the second pass is checked against the first). Decrypted media never
 * touches the disk. Reads run as the requesting admin, so RLS decides what is exported.
 */
import { withTenant } from '../core/db/pool.ts';
import * as repo from '../repositories/lifecycleExport.ts';
import * as sessions from '../repositories/sessions.ts';
import { listMembers } from '../repositories/orgs.ts';
import { openBlob, openChunk } from '../../lib/chunks/seal.ts';
import { latestTranscript } from '../repositories/transcripts.ts';
import { EXPORT_FORMATS, exportTranscript as renderTranscript, type Transcript } from '../transcription/transcript.ts';
import { decodeChunk, type ChunkMeta, type RtpRecord } from '../../lib/chunks/container.ts';
import { muxTrack, UnsupportedCodecError } from '../../lib/media/index.ts';
import { entryHeader, endOfArchive, padding, smallEntry } from '../../lib/archive/tar.ts';
import type { Deps } from '../core/context.ts';

/** What the archive reads through: the app pool, storage and the clock (an export's worker thread has only these). */
export type ArchiveDeps = Pick<Deps, 'db' | 'storage' | 'clock'>;

const AUDIT_PART = 5000;
const SESSION_PAGE = 50;
const CHUNK_PAGE = 500;

/** What the archive is made for, and where progress goes. */
export interface ArchiveJob {
  orgId: string;
  /** The requesting admin: every read runs under their tenant scope. */
  userId: string;
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
export async function* orgArchive(deps: ArchiveDeps, job: ArchiveJob): AsyncGenerator<Buffer> {
  const scope = { orgId: job.orgId, userId: job.userId };
  const now = deps.clock.now();
  const root = `recorder-export-${job.orgId.slice(0, 8)}-${now.toISOString().slice(0, 10)}`;
  const head = await withTenant(deps.db.app, scope, async (tx) => {
    const org = await repo.exportOrg(tx, job.orgId);
    if (!org) throw new Error('organization not visible to the requester');
    return { org, members: await listMembers(tx, job.orgId), auditUpTo: await repo.maxAuditId(tx, job.orgId) };
  });
  yield entryHeader({ name: root, size: 0, mtime: now, type: 'dir' });
  yield smallEntry(`${root}/README.txt`, Buffer.from(readme(head.org.name, now)), now);
  yield smallEntry(
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
    const rows = await withTenant(deps.db.app, scope, (tx) =>
      repo.auditPage(tx, job.orgId, afterAudit, head.auditUpTo, AUDIT_PART),
    );
    if (rows.length === 0) break;
    const body = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');
    yield smallEntry(`${root}/audit-log/part-${String(part).padStart(6, '0')}.jsonl`, body, now);
    afterAudit = rows.at(-1)?.id ?? afterAudit;
    if (rows.length < AUDIT_PART) break;
  }
  let after: { createdAt: Date; id: string } | null = null;
  let done = 0;
  for (;;) {
    const page = await withTenant(deps.db.app, scope, (tx) => repo.sessionsPage(tx, job.orgId, after, SESSION_PAGE));
    for (const s of page) {
      yield* sessionEntries(
        deps,
        job,
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
  yield endOfArchive();
}

async function* sessionEntries(
  deps: ArchiveDeps,
  job: ArchiveJob,
  dir: string,
  s: repo.ExportSessionRow,
  now: Date,
): AsyncGenerator<Buffer> {
  const scope = { orgId: job.orgId, userId: job.userId };
  const d = await withTenant(deps.db.app, scope, async (tx) => ({
    participants: await sessions.listParticipants(tx, s.id),
    takes: await sessions.listTakes(tx, s.id),
    tracks: await sessions.listTracks(tx, s.id),
    events: await sessions.listEvents(tx, s.id),
  }));
  const files: Record<string, string | null> = {};
  if (s.wrapped_key) {
    // The KMS round trip happens here, outside any transaction.
    const key = await deps.storage.keyProvider.decrypt(s.wrapped_key, { organizationId: job.orgId, sessionId: s.id });
    try {
      for (const t of d.tracks) {
        const ctx = {
          deps,
          orgId: job.orgId,
          userId: job.userId,
          sessionId: s.id,
          trackId: t.id,
          key,
          startUs: BigInt(t.take_started_at.getTime()) * 1000n,
        };
        const first = await firstMeta(ctx);
        if (!first) continue;
        let sized: { size: number; extension: string };
        try {
          sized = await sizeTrack(ctx, first);
        } catch (err) {
          if (err instanceof UnsupportedCodecError) {
            files[t.id] = null;
            continue;
          }
          throw err;
        }
        const name = `take${t.take_seq}_${slug(t.display_name, 30)}_${t.kind}_${t.id.slice(0, 8)}.${sized.extension}`;
        files[t.id] = name;
        yield entryHeader({ name: `${dir}/${name}`, size: sized.size, mtime: t.ended_at ?? now });
        let written = 0;
        for await (const b of muxTrack(first, records(ctx), { startUs: ctx.startUs }).body) {
          written += b.length;
          if (written > sized.size) break;
          yield b;
        }
        if (written !== sized.size) throw new Error('a track muxed to a different size on its second pass');
        yield padding(sized.size);
      }
      yield* transcriptEntries(deps, job, dir, s.id, key);
    } finally {
      key.fill(0);
    }
  }
  yield smallEntry(
    `${dir}/session.json`,
    json({
      id: s.id,
      title: s.title,
      status: s.status,
      created_at: s.created_at.toISOString(),
      ended_at: s.ended_at?.toISOString() ?? null,
      erased_at: s.key_erased_at?.toISOString() ?? null,
      participants: d.participants.map((p) => ({
        id: p.id,
        display_name: p.display_name,
        role: p.role,
        user_id: p.user_id,
        joined_at: p.joined_at?.toISOString() ?? null,
        left_at: p.left_at?.toISOString() ?? null,
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
        kind: t.kind,
        mime_type: t.mime_type,
        started_at: t.started_at.toISOString(),
        ended_at: t.ended_at?.toISOString() ?? null,
        chunks: t.chunk_count,
        bytes: Number(t.byte_count),
        lost_chunks: t.lost_chunks,
        file: files[t.id] ?? null,
      })),
      timeline: d.events.map((e) => ({
        at: e.at.toISOString(),
        kind: e.kind,
        participant_id: e.participant_id,
        track_id: e.track_id,
        details: e.details,
      })),
    }),
    now,
  );
}

/** The session's newest transcript in the four formats people use (none: nothing). */
async function* transcriptEntries(
  deps: ArchiveDeps,
  job: ArchiveJob,
  dir: string,
  sessionId: string,
  key: Buffer,
): AsyncGenerator<Buffer> {
  const row = await withTenant(deps.db.app, { orgId: job.orgId, userId: job.userId }, (tx) =>
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
    yield smallEntry(
      `${dir}/transcript.${format}`,
      Buffer.from(renderTranscript(doc, format).body, 'utf8'),
      row.created_at,
    );
}

interface TrackCtx {
  deps: ArchiveDeps;
  orgId: string;
  userId: string;
  sessionId: string;
  trackId: string;
  key: Buffer;
  startUs: bigint;
}

/** The decrypted RTP records of a track, chunk by chunk, in sequence order. */
async function* records(c: TrackCtx): AsyncGenerator<RtpRecord> {
  let after = -1;
  for (;;) {
    const page = await withTenant(c.deps.db.app, { orgId: c.orgId, userId: c.userId }, (tx) =>
      repo.chunksPage(tx, c.trackId, after, CHUNK_PAGE),
    );
    for (const ch of page) {
      const sealed = await c.deps.storage.objectStore.get(ch.object_key);
      yield* decodeChunk(
        openChunk(c.key, { organizationId: c.orgId, sessionId: c.sessionId, trackId: c.trackId, seq: ch.seq }, sealed),
      ).records;
    }
    const last = page.at(-1);
    if (!last || page.length < CHUNK_PAGE) return;
    after = last.seq;
  }
}

/** The codec metadata from a track's first chunk; undefined when it has none. */
async function firstMeta(c: TrackCtx): Promise<ChunkMeta | undefined> {
  const [first] = await withTenant(c.deps.db.app, { orgId: c.orgId, userId: c.userId }, (tx) =>
    repo.chunksPage(tx, c.trackId, -1, 1),
  );
  if (!first) return undefined;
  return decodeChunk(
    openChunk(
      c.key,
      { organizationId: c.orgId, sessionId: c.sessionId, trackId: c.trackId, seq: first.seq },
      await c.deps.storage.objectStore.get(first.object_key),
    ),
  ).meta;
}

/** First pass: the muxed file's size. @throws UnsupportedCodecError for a codec with no container. */
async function sizeTrack(c: TrackCtx, meta: ChunkMeta): Promise<{ size: number; extension: string }> {
  const muxed = muxTrack(meta, records(c), { startUs: c.startUs });
  let size = 0;
  for await (const b of muxed.body) size += b.length;
  return { size, extension: muxed.extension };
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
