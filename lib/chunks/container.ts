/**
 * The plaintext inside a sealed chunk: the media exactly as received (whole RTP packets,
 * header and payload untouched) plus each packet's arrival time, so a track's timeline can
 * be rebuilt later: RTP sequence numbers reveal gaps and reordering, RTP timestamps place
 * samples, arrival times align tracks with each other and with wall-clock events.
 *
 * Layout (big-endian):
 *   magic   "RCK1"            4 bytes
 *   kind    u8                0 = audio, 1 = video
 *   pt      u8                RTP payload type of the producer's codec
 *   clock   u32               RTP clock rate (48000 for Opus, 90000 for video)
 *   mime    u8 length + utf8  codec MIME type, e.g. "audio/opus"
 *   then per packet:
 *     arrival_us u64          wall-clock arrival time, microseconds since the Unix epoch
 *     length     u16          RTP packet length (RTP over UDP never exceeds 65535)
 *     packet     bytes
 */
export const CHUNK_MAGIC = Buffer.from('RCK1', 'ascii');

export interface ChunkMeta {
  kind: 'audio' | 'video';
  payloadType: number;
  clockRate: number;
  mimeType: string;
}

export interface RtpRecord {
  /** Arrival time in microseconds since the Unix epoch. */
  arrivalUs: bigint;
  /** The whole RTP packet as received. */
  packet: Buffer;
}

/** Thrown when a buffer is not a well-formed chunk container. */
export class ChunkFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkFormatError';
  }
}

/** Serialises packets and metadata into one chunk plaintext. */
export function encodeChunk(meta: ChunkMeta, records: readonly RtpRecord[]): Buffer {
  const mime = Buffer.from(meta.mimeType, 'utf8');
  if (mime.length > 255) throw new RangeError('mime type too long');
  let size = 4 + 1 + 1 + 4 + 1 + mime.length;
  for (const r of records) {
    if (r.packet.length > 0xffff) throw new RangeError('RTP packet longer than 65535 bytes');
    size += 10 + r.packet.length;
  }
  const out = Buffer.allocUnsafe(size);
  let o = CHUNK_MAGIC.copy(out, 0);
  o = out.writeUInt8(meta.kind === 'video' ? 1 : 0, o);
  o = out.writeUInt8(meta.payloadType, o);
  o = out.writeUInt32BE(meta.clockRate, o);
  o = out.writeUInt8(mime.length, o);
  o += mime.copy(out, o);
  for (const r of records) {
    o = out.writeBigUInt64BE(r.arrivalUs, o);
    o = out.writeUInt16BE(r.packet.length, o);
    o += r.packet.copy(out, o);
  }
  return out;
}

/** Parses a chunk plaintext. @throws ChunkFormatError on any malformation. */
export function decodeChunk(buf: Buffer): { meta: ChunkMeta; records: RtpRecord[] } {
  if (buf.length < 11 || !buf.subarray(0, 4).equals(CHUNK_MAGIC)) throw new ChunkFormatError('not a chunk container');
  let o = 4;
  const kind = buf.readUInt8(o++) === 1 ? 'video' : 'audio';
  const payloadType = buf.readUInt8(o++);
  const clockRate = buf.readUInt32BE(o);
  o += 4;
  const mimeLen = buf.readUInt8(o++);
  if (o + mimeLen > buf.length) throw new ChunkFormatError('truncated header');
  const mimeType = buf.toString('utf8', o, o + mimeLen);
  o += mimeLen;
  const records: RtpRecord[] = [];
  while (o < buf.length) {
    if (o + 10 > buf.length) throw new ChunkFormatError('truncated record header');
    const arrivalUs = buf.readBigUInt64BE(o);
    const len = buf.readUInt16BE(o + 8);
    o += 10;
    if (o + len > buf.length) throw new ChunkFormatError('truncated packet');
    records.push({ arrivalUs, packet: buf.subarray(o, o + len) });
    o += len;
  }
  return { meta: { kind, payloadType, clockRate, mimeType }, records };
}
