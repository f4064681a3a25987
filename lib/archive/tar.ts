/**
 * Writing a tar archive as a stream, on tar-stream (ustar headers, a PAX record for a name
 * that does not fit, base-256 sizes past 8 GiB; GNU tar, bsdtar and Python's tarfile read
 * it). A writer function adds entries one after the other, each waiting until the reader
 * has taken enough of the previous one (backpressure), and the reader gets the archive's
 * bytes from an async generator. Each entry needs its size up front: see
 * server/services/archive.ts for how a track's is known before its bytes.
 */
import tar, { type Header } from 'tar-stream';

/** The archive being written. */
export type Pack = tar.Pack;

/** One entry's header: path inside the archive (`/`-separated, relative), size, times, type. */
export type TarEntry = Pick<Header, 'name' | 'mtime'> & Partial<Pick<Header, 'size' | 'mode' | 'type'>>;

type Sink = ReturnType<Pack['entry']>;

const OWNER = { uname: 'recorder', gname: 'recorder' } as const;

/** What a writer gets from {@link packArchive}. */
export interface ArchiveWriter {
  pack: Pack;
  /**
   * Resolves once the reader has asked for what follows `chunk` (a buffer the writer gave
   * the archive as entry data), or at once if it already has; also when the archive ends or
   * fails. The reader of an export (age) copies each chunk before it asks for the next, so
   * from then on the writer may reuse the chunk's memory.
   */
  delivered(chunk: Uint8Array): Promise<void>;
}

/**
 * Runs `write` against a fresh archive and yields the archive's bytes as they are produced.
 * When `write` resolves the archive is finished (two zero blocks); when it throws, the
 * generator throws that error. A consumer that stops early destroys the archive, which
 * makes the writer's next step fail (its error is then dropped).
 */
export async function* packArchive(write: (w: ArchiveWriter) => Promise<void>): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const done = new WeakSet<object>();
  let waiting: { chunk: object; resolve: () => void }[] = [];
  let over = false;
  const delivered = (chunk: Uint8Array): Promise<void> =>
    over || done.has(chunk) ? Promise.resolve() : new Promise((resolve) => waiting.push({ chunk, resolve }));
  const release = (all: boolean, chunk?: object): void => {
    const still: typeof waiting = [];
    for (const w of waiting)
      if (all || w.chunk === chunk) w.resolve();
      else still.push(w);
    waiting = still;
  };
  let failure: { err: unknown } | undefined;
  const writing = write({ pack, delivered }).then(
    () => pack.finalize(),
    (err: unknown) => {
      failure = { err };
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  );
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      yield chunk;
      // The reader is back for more: it is done with `chunk`.
      done.add(chunk);
      if (waiting.length > 0) release(false, chunk);
    }
  } catch (err) {
    over = true;
    release(true);
    await writing;
    throw failure ? failure.err : err;
  } finally {
    over = true;
    release(true);
    if (!pack.destroyed) pack.destroy();
    await writing;
  }
  if (failure) throw failure.err;
}

/** Adds a whole entry from memory; resolves once the archive has taken it. */
export function addFile(pack: Pack, name: string, body: Buffer, mtime: Date): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry({ ...OWNER, name, size: body.length, mtime }, body, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Adds an entry whose bytes come from `body` (exactly `entry.size` of them; a directory has
 * none), writing as fast as the reader takes them.
 * @throws the error of `body`, or of the archive (destroyed, or a size that does not match).
 */
export async function addEntry(
  pack: Pack,
  entry: TarEntry,
  body?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const sink = pack.entry({ ...OWNER, ...entry }, (err) => (err ? settle?.reject(err) : settle?.resolve()));
  try {
    if (body) for await (const b of body) if (!sink.write(b)) await drained(sink);
  } catch (err) {
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    await done.catch(() => undefined);
    throw err;
  }
  sink.end(undefined);
  await done;
}

/** Resolves when `w` can take more, rejects when it closes or fails first. */
function drained(w: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = () => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
    };
    const onDrain = () => (off(), resolve());
    const onError = (err: Error) => (off(), reject(err));
    const onClose = () => (off(), reject(new Error('the archive was closed')));
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}
