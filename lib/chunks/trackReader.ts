/**
 * The one read path for a captured track: sealed chunks, in sequence order, opened with the
 * session's data key and decoded into their RTP records, a chunk's records at a time (the
 * batches the muxers in lib/media take). Download, export and transcription all read
 * through here; only where the chunk list and the objects come from differs.
 *
 * Storage reads run a few chunks ahead of decryption (`readAhead`), so waiting on storage
 * overlaps with opening and muxing. Plaintext lives only in memory.
 */
import { decodeChunk, type ChunkMeta, type RtpRecord } from './container.ts';
import { openChunk, type SealKey } from './seal.ts';

/** The track a chunk belongs to: the binding of its seal, less the sequence number. */
export interface TrackBinding {
  readonly organizationId: string;
  readonly sessionId: string;
  readonly trackId: string;
}

/** One stored chunk as its row names it. */
export interface ChunkRef {
  readonly seq: number;
  readonly object_key: string;
}

/** Where a track's chunks come from. */
export interface TrackSource {
  /** The session's data key. */
  readonly key: SealKey;
  readonly track: TrackBinding;
  /** The track's chunks in sequence order (a list, or pages fetched as they are needed). */
  readonly chunks: AsyncIterable<ChunkRef> | Iterable<ChunkRef>;
  /** Reads one sealed object. */
  readonly fetch: (objectKey: string) => Promise<Buffer>;
  /**
   * Reads one sealed object without yielding the thread; when given, chunks are read with it
   * one at a time (no read-ahead) instead of with `fetch`. The buffer it returns is only
   * used until it is called again, so it may reuse one buffer throughout.
   */
  readonly fetchSync?: ((objectKey: string) => Buffer) | undefined;
  /** Chunks fetched ahead of the one being opened (default 4). */
  readonly readAhead?: number;
}

/** A track opened at its first chunk. */
export interface OpenedTrack {
  /** The codec metadata of the first chunk; undefined when the track has no chunks. */
  readonly meta: ChunkMeta | undefined;
  /** Every chunk's records, the first chunk's included, one array per chunk. */
  readonly records: AsyncGenerator<RtpRecord[]>;
}

/**
 * Opens one sealed chunk of a track and decodes it.
 * @throws SealError when it does not open with this key and binding; ChunkFormatError when
 *   the plaintext is not a chunk container.
 */
export function openTrackChunk(
  key: SealKey,
  track: TrackBinding,
  seq: number,
  sealed: Buffer,
): { meta: ChunkMeta; records: RtpRecord[] } {
  return decodeChunk(openChunk(key, { ...track, seq }, sealed));
}

/**
 * Every chunk of the track, opened and decoded in sequence order.
 * @throws what `fetch` or the chunk list throw, SealError, ChunkFormatError, as the
 *   generator reaches the chunk concerned.
 */
export async function* readTrackChunks(src: TrackSource): AsyncGenerator<{ meta: ChunkMeta; records: RtpRecord[] }> {
  const { fetchSync } = src;
  if (fetchSync) {
    // Opening decrypts into a new buffer, so the sealed bytes are done with once it returns.
    for await (const c of src.chunks) yield openTrackChunk(src.key, src.track, c.seq, fetchSync(c.object_key));
    return;
  }
  const ahead = Math.max(0, src.readAhead ?? 4);
  const pending: { seq: number; sealed: Promise<Buffer> }[] = [];
  const it = Symbol.asyncIterator in src.chunks ? src.chunks[Symbol.asyncIterator]() : toAsync(src.chunks);
  let listed = false;
  try {
    for (;;) {
      while (!listed && pending.length <= ahead) {
        const next = await it.next();
        if (next.done) {
          listed = true;
          break;
        }
        const sealed = src.fetch(next.value.object_key);
        sealed.catch(() => undefined); // awaited below in its turn; until then a failure must not go unhandled
        pending.push({ seq: next.value.seq, sealed });
      }
      const head = pending.shift();
      if (!head) return;
      yield openTrackChunk(src.key, src.track, head.seq, await head.sealed);
    }
  } finally {
    if (!listed) await it.return?.();
  }
}

/**
 * Opens a track: reads its first chunk for the codec metadata, and returns that with the
 * records of every chunk. Same errors as {@link readTrackChunks}, the first chunk's now.
 */
export async function openTrack(src: TrackSource): Promise<OpenedTrack> {
  const chunks = readTrackChunks(src);
  const first = await chunks.next();
  async function* records(firstRecords: RtpRecord[] | undefined): AsyncGenerator<RtpRecord[]> {
    if (firstRecords) yield firstRecords;
    for await (const c of chunks) yield c.records;
  }
  return first.done
    ? { meta: undefined, records: records(undefined) }
    : { meta: first.value.meta, records: records(first.value.records) };
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async view of a plain list
async function* toAsync<T>(list: Iterable<T>): AsyncGenerator<T> {
  yield* list;
}
