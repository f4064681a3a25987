/**
 * The server's side of the one read path for a track (lib/chunks/trackReader.ts): chunk rows
 * from Postgres, a page at a time, and the sealed objects from storage. Download, export and
 * transcription each list chunks through their own query (their own tenant scope); from
 * there on they read the same way.
 */
import {
  openTrack,
  readTrackChunks,
  type ChunkRef,
  type OpenedTrack,
  type TrackBinding,
} from '../../lib/chunks/trackReader.ts';
import type { SealKey } from '../../lib/chunks/seal.ts';
import type { RtpRecord } from '../../lib/chunks/container.ts';
import type { ObjectStore } from '../../lib/storage/ObjectStore.ts';

/** Chunk rows fetched per query by {@link chunkPages}. */
export const CHUNK_PAGE = 500;

/**
 * A track's chunk rows in sequence order, fetched a page at a time as they are needed:
 * `page(afterSeq, limit)` returns the rows after `afterSeq` (-1 for the first page).
 */
export async function* chunkPages(
  page: (afterSeq: number, limit: number) => Promise<readonly ChunkRef[]>,
  size = CHUNK_PAGE,
): AsyncGenerator<ChunkRef> {
  let after = -1;
  for (;;) {
    const rows = await page(after, size);
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < size) return;
    after = last.seq;
  }
}

/** Where one stored track is and how to open it. */
export interface StoredTrack {
  objectStore: Pick<ObjectStore, 'get' | 'getSync'>;
  /** The session's data key. */
  key: SealKey;
  track: TrackBinding;
  /** The chunk rows, in order: a list, or {@link chunkPages}. */
  chunks: AsyncIterable<ChunkRef> | Iterable<ChunkRef>;
  /**
   * Reads may block the thread (default false): set where nothing else waits on it, in an
   * export's worker thread. A store that reads synchronously (a local folder) then reads
   * each chunk into one reused buffer, with a third of the CPU of an async read and no
   * allocation; others read as usual.
   */
  blocking?: boolean;
}

/** A chunk is read into this much reused memory when it fits (a chunk of 4 s of audio is about 70 kB). */
const SCRATCH_BYTES = 256 * 1024;

const source = (s: StoredTrack) => {
  const getSync = s.blocking ? s.objectStore.getSync?.bind(s.objectStore) : undefined;
  let scratch: Buffer | undefined;
  return {
    key: s.key,
    track: s.track,
    chunks: s.chunks,
    fetch: (objectKey: string) => s.objectStore.get(objectKey),
    fetchSync: getSync && ((objectKey: string) => getSync(objectKey, (scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES)))),
  };
};

/**
 * Opens a stored track at its first chunk (codec metadata, then every chunk's records).
 * @throws StorageError, SealError, ChunkFormatError (the first chunk's now, later ones as
 *   the records are read).
 */
export function openStoredTrack(s: StoredTrack): Promise<OpenedTrack> {
  return openTrack(source(s));
}

/** A stored track's records, one array per chunk. Same errors as {@link openStoredTrack}, as they are read. */
export async function* storedTrackRecords(s: StoredTrack): AsyncGenerator<RtpRecord[]> {
  for await (const c of readTrackChunks(source(s))) yield c.records;
}

/**
 * The muxed body of a track whose size a first pass gave (a tar header states it before the
 * content): muxing is deterministic, so a different length is a bug.
 * @throws as soon as the body strays from `size`.
 */
export async function* checkedSize(body: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let written = 0;
  for await (const b of body) {
    written += b.length;
    if (written > size) break;
    yield b;
  }
  if (written !== size) throw new Error('a track muxed to a different size on its second pass');
}
