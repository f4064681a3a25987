// lib/media and lib/chunks/container.ts name Node's global `Buffer`; in the browser it is
// the Uint8Array-based stand-in that esbuild injects (web-src/private/buffer.ts, wired in
// server/web/bundle.ts). These are the parts of Node's type that those modules use.
export {};

type BufferEncoding = 'utf8' | 'ascii';

declare global {
  interface Buffer extends Uint8Array<ArrayBuffer> {
    subarray(start?: number, end?: number): Buffer;
    copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
    equals(other: Uint8Array): boolean;
    toString(encoding?: BufferEncoding, start?: number, end?: number): string;
    write(value: string, offset?: number, encoding?: BufferEncoding): number;
    readUInt8(offset?: number): number;
    readUInt16BE(offset?: number): number;
    readUInt16LE(offset?: number): number;
    readUInt32BE(offset?: number): number;
    readBigUInt64BE(offset?: number): bigint;
    writeUInt8(value: number, offset?: number): number;
    writeUInt16BE(value: number, offset?: number): number;
    writeUInt16LE(value: number, offset?: number): number;
    writeInt16BE(value: number, offset?: number): number;
    writeInt16LE(value: number, offset?: number): number;
    writeUInt32BE(value: number, offset?: number): number;
    writeUInt32LE(value: number, offset?: number): number;
    writeBigUInt64BE(value: bigint, offset?: number): number;
    writeBigInt64BE(value: bigint, offset?: number): number;
    writeDoubleBE(value: number, offset?: number): number;
    writeUIntBE(value: number, offset: number, byteLength: number): number;
  }
  var Buffer: {
    alloc(size: number): Buffer;
    allocUnsafe(size: number): Buffer;
    from(value: string, encoding?: BufferEncoding): Buffer;
    from(value: ArrayLike<number> | ArrayBuffer): Buffer;
    concat(parts: readonly Uint8Array[], total?: number): Buffer;
    isBuffer(value: unknown): value is Buffer;
  };
}
