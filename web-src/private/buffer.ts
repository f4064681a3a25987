/**
 * The part of Node's `Buffer` that lib/media and lib/chunks/container.ts use, on a
 * Uint8Array, so the browser muxes a private recording with the very code the server uses
 * (same bytes out: the download is byte-identical). esbuild injects it where those modules
 * name the global `Buffer` (server/web/bundle.ts); the server keeps Node's own.
 * Semantics follow Node's: write methods return the offset after what they wrote, `alloc`
 * zero-fills, `from(ArrayBuffer)` is a view, `subarray` returns this class (species).
 */
type Encoding = 'utf8' | 'ascii';
const enc = new TextEncoder();
const dec = new TextDecoder();

class BrowserBuffer extends Uint8Array {
  #dv: DataView | undefined;
  /** One DataView per buffer, made on first use (a new one per call costs more than the write). */
  #view(): DataView {
    return (this.#dv ??= new DataView(this.buffer, this.byteOffset, this.byteLength));
  }
  /** Copies into `target` at `targetStart`; returns the bytes copied. */
  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const n = Math.max(0, Math.min(sourceEnd - sourceStart, target.length - targetStart));
    target.set(this.subarray(sourceStart, sourceStart + n), targetStart);
    return n;
  }
  equals(other: Uint8Array): boolean {
    if (other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }
  override toString(_encoding: Encoding = 'utf8', start = 0, end = this.length): string {
    return dec.decode(this.subarray(start, end));
  }
  /** Writes a string's bytes at `offset`; returns the bytes written. */
  write(value: string, offset = 0, encoding: Encoding = 'utf8'): number {
    const bytes = bufferFrom(value, encoding);
    const n = Math.min(bytes.length, this.length - offset);
    this.set(bytes.subarray(0, n), offset);
    return n;
  }
  readUInt8(o = 0): number {
    return this.#view().getUint8(o);
  }
  readUInt16BE(o = 0): number {
    return this.#view().getUint16(o);
  }
  readUInt16LE(o = 0): number {
    return this.#view().getUint16(o, true);
  }
  readUInt32BE(o = 0): number {
    return this.#view().getUint32(o);
  }
  readBigUInt64BE(o = 0): bigint {
    return this.#view().getBigUint64(o);
  }
  writeUInt8(v: number, o = 0): number {
    this.#view().setUint8(o, v);
    return o + 1;
  }
  writeUInt16BE(v: number, o = 0): number {
    this.#view().setUint16(o, v);
    return o + 2;
  }
  writeUInt16LE(v: number, o = 0): number {
    this.#view().setUint16(o, v, true);
    return o + 2;
  }
  writeInt16BE(v: number, o = 0): number {
    this.#view().setInt16(o, v);
    return o + 2;
  }
  writeInt16LE(v: number, o = 0): number {
    this.#view().setInt16(o, v, true);
    return o + 2;
  }
  writeUInt32BE(v: number, o = 0): number {
    this.#view().setUint32(o, v);
    return o + 4;
  }
  writeUInt32LE(v: number, o = 0): number {
    this.#view().setUint32(o, v, true);
    return o + 4;
  }
  writeBigUInt64BE(v: bigint, o = 0): number {
    this.#view().setBigUint64(o, v);
    return o + 8;
  }
  writeBigInt64BE(v: bigint, o = 0): number {
    this.#view().setBigInt64(o, v);
    return o + 8;
  }
  writeDoubleBE(v: number, o = 0): number {
    this.#view().setFloat64(o, v);
    return o + 8;
  }
  /** Writes `v` as `len` big-endian bytes (1 to 6), as Node does. */
  writeUIntBE(v: number, o: number, len: number): number {
    let x = v;
    for (let i = len - 1; i >= 0; i--) {
      this[o + i] = x % 256;
      x = Math.floor(x / 256);
    }
    return o + len;
  }
}

function bufferFrom(value: string | ArrayLike<number> | ArrayBuffer, encoding?: Encoding): BrowserBuffer {
  if (typeof value === 'string') {
    if (encoding === 'ascii') {
      const b = new BrowserBuffer(value.length);
      for (let i = 0; i < value.length; i++) b[i] = value.charCodeAt(i) & 0xff;
      return b;
    }
    const bytes = enc.encode(value);
    return new BrowserBuffer(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  if (value instanceof ArrayBuffer) return new BrowserBuffer(value);
  const b = new BrowserBuffer(value.length);
  b.set(value);
  return b;
}

function concat(parts: readonly Uint8Array[], total?: number): BrowserBuffer {
  const size = total ?? parts.reduce((n, p) => n + p.length, 0);
  const out = new BrowserBuffer(size);
  let o = 0;
  for (const p of parts) {
    if (o >= size) break;
    const take = p.length <= size - o ? p : p.subarray(0, size - o);
    out.set(take, o);
    o += take.length;
  }
  return out;
}

/**
 * The global `Buffer` of the browser bundle: the class with Node's static helpers.
 * `alloc` and `allocUnsafe` both zero-fill; `from(ArrayBuffer)` is a view, other inputs copy.
 */
interface BufferStatics {
  alloc(size: number): BrowserBuffer;
  allocUnsafe(size: number): BrowserBuffer;
  from(value: string | ArrayLike<number> | ArrayBuffer, encoding?: Encoding): BrowserBuffer;
  concat(parts: readonly Uint8Array[], total?: number): BrowserBuffer;
  isBuffer(value: unknown): value is BrowserBuffer;
}

export const Buffer: BufferStatics & typeof BrowserBuffer = Object.assign(BrowserBuffer, {
  alloc: (size: number) => new BrowserBuffer(size),
  allocUnsafe: (size: number) => new BrowserBuffer(size),
  from: bufferFrom,
  concat,
  isBuffer: (value: unknown): value is BrowserBuffer => value instanceof BrowserBuffer,
});
