/**
 * Just enough EBML (RFC 8794) and Matroska/WebM (RFC 9559) to write a streaming file:
 * element encoding, the element IDs used, and SimpleBlocks.
 */

/** Matroska element IDs (with their length-marker bits, as the spec writes them). */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

function idBytes(id: number): Buffer {
  const len = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = Buffer.alloc(len);
  out.writeUIntBE(id, 0, len);
  return out;
}

/**
 * An EBML variable-size integer for an element's data size, in the fewest bytes (the
 * all-ones value of each length is reserved for "unknown").
 * @throws RangeError past 2^53 (no element here gets near that).
 */
export function vintSize(size: number): Buffer {
  for (let len = 1; len <= 7; len++) {
    if (size < 2 ** (7 * len) - 1) {
      const out = Buffer.alloc(len);
      out.writeUIntBE(size + 2 ** (7 * len), 0, len);
      return out;
    }
  }
  if (size >= 2 ** 53) throw new RangeError('element too large');
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(size) | (1n << 56n), 0);
  return out;
}

/** An element with a binary payload. */
export function element(id: number, payload: Buffer): Buffer {
  return Buffer.concat([idBytes(id), vintSize(payload.length), payload]);
}

/** A master element holding `children`. */
export function master(id: number, children: readonly Buffer[]): Buffer {
  return element(id, Buffer.concat(children));
}

/** The start of a master element of unknown size (a live Segment): children follow until the end of the file. */
export function unknownSizeStart(id: number): Buffer {
  return Buffer.concat([idBytes(id), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
}

/** An unsigned integer element, in the fewest bytes. */
export function uint(id: number, value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('negative unsigned integer');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return element(id, Buffer.from(bytes));
}

/** A signed 8-byte integer element (DateUTC). */
export function int64(id: number, value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value, 0);
  return element(id, b);
}

/** An 8-byte float element. */
export function float(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value, 0);
  return element(id, b);
}

/** A string element (ASCII or UTF-8). */
export function str(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/**
 * A SimpleBlock: track number, timestamp relative to its cluster (-32768…32767 in
 * TimestampScale units), flags and one frame.
 * @throws RangeError when the relative timestamp does not fit.
 */
export function simpleBlock(track: number, relative: number, keyframe: boolean, frame: Buffer): Buffer {
  if (relative < -32768 || relative > 32767) throw new RangeError('block timestamp outside its cluster');
  const head = Buffer.alloc(4);
  head[0] = 0x80 | track;
  head.writeInt16BE(relative, 1);
  head[3] = keyframe ? 0x80 : 0;
  return Buffer.concat([idBytes(ID.SimpleBlock), vintSize(4 + frame.length), head, frame]);
}

/** Nanoseconds from the Matroska epoch (2001-01-01T00:00:00Z) to `unixUs`. */
export function matroskaDate(unixUs: bigint): bigint {
  return (unixUs - 978_307_200_000_000n) * 1000n;
}
