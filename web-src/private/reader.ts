/**
 * Opening a private-mode recording in the browser: the key holder's passphrase unwraps the
 * organisation key, which unwraps the session key; then each track's sealed chunks are
 * fetched (a few ahead), opened with WebCrypto one at a time and muxed by the server's own
 * muxer (lib/media), so the file is byte-identical to a plain download. The file grows as
 * Blob parts (the browser keeps them outside the JS heap, on disk when large): a one-hour
 * track never sits whole in the page's memory. Nothing decrypted leaves the page.
 */
import { decodeChunk, type ChunkMeta, type RtpRecord } from '../../lib/chunks/container.ts';
import { muxTrack } from '../../lib/media/index.ts';
import {
  blobAadBytes,
  chunkAadBytes,
  importDataKey,
  openSealed,
  unwrapOrgPrivateKey,
  unwrapSessionKey,
  type PrivateSessionKey,
  type WrappedOrgKey,
} from '../../lib/private/crypto.ts';
import { api } from '../ui/api.ts';

/** One track as GET …/private lists it. */
export interface SealedTrack {
  id: string;
  kind: 'audio' | 'video';
  participant: string;
  take: number;
  mime_type: string;
  start_ms: number;
  end_ms: number | null;
  chunks: { seq: number; size: number }[];
}

/** GET /api/orgs/:orgId/sessions/:id/private */
export interface SealedSession {
  organization_id: string;
  session_id: string;
  sealed_at: string;
  private_wrapped_key: PrivateSessionKey;
  tracks: SealedTrack[];
  transcript: { run_id: string } | null;
}

/** A session whose key this page holds (not extractable). */
export interface UnlockedSession {
  readonly orgId: string;
  readonly sessionId: string;
  readonly sealed: SealedSession;
  readonly key: CryptoKey;
}

/** Thrown when the page cannot unlock; `message` is for people. */
export class UnlockError extends Error {}

/**
 * Unlocks a sealed session with the caller's passphrase.
 * @throws UnlockError (no key of the caller's, wrong passphrase), ApiError.
 */
export async function unlockSession(orgId: string, sessionId: string, passphrase: string): Promise<UnlockedSession> {
  const mode = await api<{ my_wrapped_key: WrappedOrgKey | null }>('GET', `/api/orgs/${orgId}/private-mode`);
  if (!mode.my_wrapped_key)
    throw new UnlockError(
      'You hold no private-mode key for this organisation. An owner or admin who holds one can make you a key holder.',
    );
  let orgKey: CryptoKey;
  try {
    orgKey = await unwrapOrgPrivateKey(mode.my_wrapped_key, passphrase, orgId);
  } catch {
    throw new UnlockError('That passphrase is not right: nothing was decrypted. Check it and try again.');
  }
  const sealed = await api<SealedSession>('GET', `/api/orgs/${orgId}/sessions/${sessionId}/private`);
  const raw = await unwrapSessionKey(sealed.private_wrapped_key, orgKey, orgId, sessionId);
  const key = await importDataKey(new Uint8Array(raw));
  raw.fill(0);
  return { orgId, sessionId, sealed, key };
}

async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`A part of the recording could not be fetched (${res.status}).`);
  return res.arrayBuffer();
}

/** Chunks per request (the server answers at most 64). */
const RANGE = 32;

/** Splits a range answer: per chunk a u32 sequence number, a u32 length, the sealed bytes. */
function splitRange(buf: ArrayBuffer): { seq: number; sealed: Uint8Array<ArrayBuffer> }[] {
  const view = new DataView(buf);
  const out: { seq: number; sealed: Uint8Array<ArrayBuffer> }[] = [];
  for (let o = 0; o + 8 <= buf.byteLength;) {
    const seq = view.getUint32(o);
    const len = view.getUint32(o + 4);
    if (o + 8 + len > buf.byteLength) throw new Error('A part of the recording arrived cut short.');
    out.push({ seq, sealed: new Uint8Array(buf, o + 8, len) });
    o += 8 + len;
  }
  return out;
}

/**
 * Every chunk of a track, opened and decoded in order. Chunks come {@link RANGE} at a time,
 * with `ahead` more ranges in flight, so waiting on the network overlaps with decrypting
 * and muxing while at most a few ranges (a few MB) are held.
 * @throws PrivateCryptoError `open_failed` at an altered chunk; Error when one is missing.
 */
async function* openChunks(
  u: UnlockedSession,
  t: SealedTrack,
  ahead = 2,
): AsyncGenerator<{ meta: ChunkMeta; records: RtpRecord[] }> {
  const base = `/api/orgs/${u.orgId}/sessions/${u.sessionId}/private/tracks/${t.id}/chunks`;
  const pending: { seqs: number[]; bytes: Promise<ArrayBuffer> }[] = [];
  let next = 0;
  for (;;) {
    while (next < t.chunks.length && pending.length <= ahead) {
      const seqs = t.chunks.slice(next, next + RANGE).map((c) => c.seq);
      next += seqs.length;
      const bytes = fetchBytes(`${base}?from=${String(seqs[0] ?? 0)}&count=${String(seqs.length)}`);
      bytes.catch(() => undefined); // awaited in its turn
      pending.push({ seqs, bytes });
    }
    const head = pending.shift();
    if (!head) return;
    const got = splitRange(await head.bytes);
    for (const [i, seq] of head.seqs.entries()) {
      const c = got[i];
      if (c?.seq !== seq) throw new Error('A part of the recording is missing.');
      const plain = await openSealed(u.key, chunkAadBytes(u.orgId, u.sessionId, t.id, seq), c.sealed);
      yield decodeChunk(Buffer.from(plain.buffer));
    }
  }
}

/** The file name a plain download gives the track (services/sessions.ts downloadTrack). */
export function trackFileName(t: SealedTrack, extension: string): string {
  const safe = t.participant.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || 'participant';
  return `${safe}-take${t.take}-${t.kind}.${extension}`;
}

/** A decrypted track as a file. */
export interface TrackFile {
  blob: Blob;
  filename: string;
  /** Sealed bytes read. */
  sealedBytes: number;
}

/** Bytes gathered before they become one Blob part. */
const PART_BYTES = 1 << 20;

/**
 * Decrypts and muxes one track into a file (Ogg Opus or WebM), as the server would.
 * @throws PrivateCryptoError `open_failed` when a chunk was altered (nothing is returned).
 */
export async function decryptTrack(
  u: UnlockedSession,
  t: SealedTrack,
  onProgress?: (done: number) => void,
): Promise<TrackFile> {
  const chunks = openChunks(u, t);
  const first = await chunks.next();
  if (first.done) throw new Error('This track has no recorded media.');
  let done = 0;
  async function* records(firstRecords: RtpRecord[]): AsyncGenerator<RtpRecord[]> {
    yield firstRecords;
    onProgress?.(++done);
    for await (const c of chunks) {
      yield c.records;
      onProgress?.(++done);
    }
  }
  const muxed = muxTrack(first.value.meta, records(first.value.records), {
    startUs: BigInt(t.start_ms) * 1000n,
    ...(t.end_ms !== null ? { endUs: BigInt(t.end_ms) * 1000n } : {}),
  });
  const parts: Blob[] = [];
  let gathered: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const b of muxed.body) {
    gathered.push(b);
    size += b.length;
    if (size >= PART_BYTES) {
      parts.push(new Blob(gathered));
      gathered = [];
      size = 0;
    }
  }
  if (gathered.length) parts.push(new Blob(gathered));
  return {
    blob: new Blob(parts, { type: muxed.contentType }),
    filename: trackFileName(t, muxed.extension),
    sealedBytes: t.chunks.reduce((n, c) => n + c.size, 0),
  };
}

/** One line of a transcript. */
export interface PrivateSegment {
  start: number;
  end: number;
  speaker: string;
  text: string;
}

/** The session's transcript, opened in the page; null when it has none. */
export async function decryptTranscript(
  u: UnlockedSession,
): Promise<{ language: string | null; segments: PrivateSegment[]; doc: unknown } | null> {
  const runId = u.sealed.transcript?.run_id;
  if (!runId) return null;
  const sealed = await fetchBytes(`/api/orgs/${u.orgId}/sessions/${u.sessionId}/private/transcripts/${runId}`);
  const plain = await openSealed(
    u.key,
    blobAadBytes(u.orgId, u.sessionId, 'transcript', runId),
    new Uint8Array(sealed),
  );
  const doc = JSON.parse(new TextDecoder().decode(plain)) as { language?: string | null; segments?: PrivateSegment[] };
  return { language: doc.language ?? null, segments: doc.segments ?? [], doc };
}
