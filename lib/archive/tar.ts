/**
 * A streaming tar writer (POSIX ustar, with a PAX `path` record for long names and GNU
 * base-256 sizes past 8 GiB). Entries are written one after the other; each needs its size
 * up front, which is why track files are sized in a first pass (server/services/archive.ts).
 * GNU tar, bsdtar and Python's tarfile read the result.
 */

const BLOCK = 512;

/** One entry's header fields. */
export interface TarEntry {
  /** Path inside the archive, `/`-separated, relative. */
  name: string;
  size: number;
  mtime: Date;
  /** Permission bits; default 0644. */
  mode?: number;
  /** 'file' (default) or 'dir' (size 0). */
  type?: 'file' | 'dir';
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function writeString(buf: Buffer, offset: number, width: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > width) throw new RangeError(`tar field too long: ${value}`);
  bytes.copy(buf, offset);
}

function writeSize(buf: Buffer, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('tar entry size must be a non-negative integer');
  if (size < 8 ** 11) {
    buf.write(octal(size, 12), 124, 'ascii');
    return;
  }
  // GNU base-256: high bit set, big-endian in the remaining bytes.
  buf[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function header(name: string, size: number, mtime: Date, mode: number, typeflag: string, prefix = ''): Buffer {
  const buf = Buffer.alloc(BLOCK);
  writeString(buf, 0, 100, name);
  buf.write(octal(mode, 8), 100, 'ascii');
  buf.write(octal(0, 8), 108, 'ascii');
  buf.write(octal(0, 8), 116, 'ascii');
  writeSize(buf, size);
  buf.write(octal(Math.max(0, Math.floor(mtime.getTime() / 1000)), 12), 136, 'ascii');
  buf.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  buf.write(typeflag, 156, 'ascii');
  buf.write('ustar\x0000', 257, 'ascii');
  writeString(buf, 265, 32, 'recorder');
  writeString(buf, 297, 32, 'recorder');
  writeString(buf, 345, 155, prefix);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(octal(sum, 7) + ' ', 148, 'ascii');
  return buf;
}

/** Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes), or undefined. */
function split(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { prefix, name };
  }
  return undefined;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

/** The header block(s) that start an entry: a PAX record first when the name needs one. */
export function entryHeader(e: TarEntry): Buffer {
  const type = e.type === 'dir' ? '5' : '0';
  const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const size = e.type === 'dir' ? 0 : e.size;
  const mode = e.mode ?? (e.type === 'dir' ? 0o755 : 0o644);
  const parts = split(name);
  if (parts) return header(parts.name, size, e.mtime, mode, type, parts.prefix);
  const pax = paxRecord('path', name);
  const short = `PaxHeaders/${name.slice(-80).replace(/^\/+/, '')}`;
  return Buffer.concat([
    header(short.slice(0, 100), pax.length, e.mtime, 0o644, 'x'),
    pax,
    padding(pax.length),
    header(name.slice(-100), size, e.mtime, mode, type),
  ]);
}

/** Zero bytes that round an entry of `size` bytes up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

/** A whole small entry (header, bytes, padding) from an in-memory body. */
export function smallEntry(name: string, body: Buffer, mtime: Date): Buffer {
  return Buffer.concat([entryHeader({ name, size: body.length, mtime }), body, padding(body.length)]);
}
