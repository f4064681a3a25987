/**
 * VP8 over RTP (RFC 7741): the payload descriptor, and reassembly of frames from in-order
 * packets. A frame with a missing packet is dropped, and so is everything after it until
 * the next keyframe, because later frames refer to the lost one and would decode to garbage.
 */
import type { MuxStats } from './rtp.ts';
import type { OrderedPacket } from './source.ts';

/** The fields of a VP8 payload descriptor that reassembly needs. */
export interface Vp8Descriptor {
  /** S bit: the packet starts a partition. */
  start: boolean;
  /** PID: the partition index. */
  partitionId: number;
  /** N bit: no other frame refers to this one. */
  nonReference: boolean;
  /** Picture ID (7 or 15 bits) when present. */
  pictureId: number | undefined;
  /** Bytes of descriptor before the VP8 data. */
  length: number;
}

/**
 * Parses the RFC 7741 payload descriptor (X, N, S, PID; extensions I with a 7- or 15-bit
 * picture ID, L, T/K). Returns undefined when it runs past the payload.
 */
export function parseVp8Descriptor(payload: Buffer): Vp8Descriptor | undefined {
  const b0 = payload[0];
  if (b0 === undefined) return undefined;
  let o = 1;
  let pictureId: number | undefined;
  if (b0 & 0x80) {
    const x = payload[o++];
    if (x === undefined) return undefined;
    if (x & 0x80) {
      const m = payload[o];
      if (m === undefined) return undefined;
      if (m & 0x80) {
        const low = payload[o + 1];
        if (low === undefined) return undefined;
        pictureId = ((m & 0x7f) << 8) | low;
        o += 2;
      } else {
        pictureId = m;
        o += 1;
      }
    }
    if (x & 0x40) o += 1; // TL0PICIDX
    if (x & 0x30) o += 1; // TID/Y/KEYIDX
  }
  if (o >= payload.length) return undefined;
  return { start: (b0 & 0x10) !== 0, partitionId: b0 & 0x07, nonReference: (b0 & 0x20) !== 0, pictureId, length: o };
}

/** A whole VP8 frame. */
export interface Vp8Frame {
  data: Buffer;
  keyframe: boolean;
  /** Keyframes only: the coded size. */
  width: number | undefined;
  height: number | undefined;
  /** Timeline position of the frame (RTP clock units). */
  pos: number;
}

/** Reads the frame tag (RFC 6386 §9.1): keyframe flag and, for keyframes, the size. Undefined when invalid. */
export function vp8FrameInfo(
  data: Buffer,
): { keyframe: boolean; width: number | undefined; height: number | undefined } | undefined {
  if (data.length < 3) return undefined;
  const keyframe = ((data[0] ?? 1) & 1) === 0;
  if (!keyframe) return { keyframe, width: undefined, height: undefined };
  if (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return undefined;
  const width = data.readUInt16LE(6) & 0x3fff;
  const height = data.readUInt16LE(8) & 0x3fff;
  return width > 0 && height > 0 ? { keyframe, width, height } : undefined;
}

interface Partial {
  timestamp: number;
  pos: number;
  parts: Buffer[];
}

/** Reassembles frames from in-order packets; see the module comment for the loss policy. */
export class Vp8Assembler {
  readonly #stats: MuxStats;
  #frame: Partial | undefined;
  #needKeyframe = true;

  constructor(stats: MuxStats) {
    this.#stats = stats;
  }

  /** Adds the next packet (with its timeline position); returns frames completed by it. */
  push(p: OrderedPacket, pos: number): Vp8Frame[] {
    const out: Vp8Frame[] = [];
    if (p.missingBefore > 0 || p.newStream) this.#lose();
    const payload = p.rtp.payload;
    if (payload.length === 0) return out; // padding keeps the sequence, carries nothing
    const d = parseVp8Descriptor(payload);
    if (!d) {
      this.#stats.malformed++;
      this.#lose();
      return out;
    }
    const body = payload.subarray(d.length);
    const ts = p.rtp.timestamp;
    if (d.start && d.partitionId === 0) {
      // A new frame: the previous one, if its marker never came, ended without loss.
      if (this.#frame) {
        if (this.#frame.timestamp !== ts) this.#finish(out);
        else this.#lose();
      }
      this.#frame = { timestamp: ts, pos, parts: [body] };
    } else if (this.#frame && this.#frame.timestamp === ts) {
      this.#frame.parts.push(body);
    } else {
      this.#lose(); // a middle without its start
      return out;
    }
    if (p.rtp.marker) this.#finish(out);
    return out;
  }

  /** End of input: a frame still open may be missing its end, so it is dropped. */
  flush(): void {
    if (this.#frame) this.#lose();
  }

  #lose(): void {
    if (this.#frame) this.#stats.droppedFrames++;
    this.#frame = undefined;
    this.#needKeyframe = true;
  }

  #finish(out: Vp8Frame[]): void {
    const f = this.#frame;
    this.#frame = undefined;
    if (!f) return;
    const data = f.parts.length === 1 && f.parts[0] ? f.parts[0] : Buffer.concat(f.parts);
    const info = vp8FrameInfo(data);
    if (!info) {
      this.#stats.malformed++;
      this.#needKeyframe = true;
      return;
    }
    if (this.#needKeyframe && !info.keyframe) {
      this.#stats.droppedFrames++;
      return;
    }
    if (info.keyframe) this.#needKeyframe = false;
    out.push({ data, keyframe: info.keyframe, width: info.width, height: info.height, pos: f.pos });
  }
}
