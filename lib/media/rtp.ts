/**
 * RTP packet parsing (RFC 3550) and the bookkeeping every muxer needs on top of it:
 * extended (unwrapped) sequence numbers and timestamps, and a small reorder window that
 * puts packets back in sequence order, drops duplicates and declares losses. Nothing here
 * keeps more than the window's worth of packets, so memory does not grow with a recording.
 */

/** Thrown by {@link parseRtp} for a buffer that is not a well-formed RTP packet. */
export class RtpParseError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'rtp_malformed';
  constructor(message: string) {
    super(message);
    this.name = 'RtpParseError';
  }
}

/** One parsed RTP packet; `payload` is a view into the original buffer (no copy). */
export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  /** 16-bit sequence number as sent. */
  sequenceNumber: number;
  /** 32-bit RTP timestamp as sent. */
  timestamp: number;
  ssrc: number;
  csrcs: readonly number[];
  /** Header extension profile (0xBEDE one-byte, 0x100x two-byte), or undefined when absent. */
  extensionProfile: number | undefined;
  /** The codec payload with header, CSRCs, extension and padding removed. */
  payload: Buffer;
}

/** The CSRC list of a packet without CSRCs (shared, frozen). */
const NO_CSRCS: readonly number[] = Object.freeze([]);

/**
 * Parses an RTP packet: version 2, optional padding, CSRC list and header extension (any
 * profile; skipped by its length).
 * @throws RtpParseError when the buffer is too short, not version 2, or a length field
 * points past its end.
 */
export function parseRtp(buf: Buffer): RtpPacket {
  if (buf.length < 12) throw new RtpParseError('shorter than the fixed RTP header');
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  if (b0 >> 6 !== 2) throw new RtpParseError('not RTP version 2');
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (offset > buf.length) throw new RtpParseError('CSRC list runs past the packet');
  // Almost every packet has none: they share one empty list rather than allocate their own.
  let csrcs = NO_CSRCS;
  if (csrcCount > 0) {
    const list: number[] = [];
    for (let i = 0; i < csrcCount; i++) list.push(buf.readUInt32BE(12 + i * 4));
    csrcs = list;
  }
  let extensionProfile: number | undefined;
  if (hasExtension) {
    if (offset + 4 > buf.length) throw new RtpParseError('header extension runs past the packet');
    extensionProfile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    offset += 4 + words * 4;
    if (offset > buf.length) throw new RtpParseError('header extension runs past the packet');
  }
  let end = buf.length;
  if (padding) {
    const padLength = buf[buf.length - 1] ?? 0;
    if (padLength === 0 || offset + padLength > buf.length) throw new RtpParseError('invalid padding length');
    end -= padLength;
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (buf[2]! << 8) | buf[3]!,
    timestamp: ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0,
    ssrc: ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0,
    csrcs,
    extensionProfile,
    payload: buf.subarray(offset, end),
  };
}

/**
 * Turns a wrapping N-bit counter (RTP sequence numbers: 16 bits, timestamps: 32 bits) into
 * an ever-growing number. A value is placed at the nearest point to the largest value seen,
 * so reordered (older) values and wraps forward are both handled.
 */
export class Unwrapper {
  readonly #modulus: number;
  #highest: number | undefined;
  /** `#highest` modulo the counter's range (kept, not recomputed: a float modulo per packet costs). */
  #low = 0;

  /** @param bits counter width: 16 for sequence numbers, 32 for timestamps. */
  constructor(bits: 16 | 32) {
    this.#modulus = 2 ** bits;
  }

  /** Returns the extended value of `value` (0 ≤ value < 2^bits). */
  unwrap(value: number): number {
    if (this.#highest === undefined) {
      // Start far enough from zero that values reordered before the first stay positive.
      this.#highest = this.#modulus + value;
      this.#low = value;
      return this.#highest;
    }
    const half = this.#modulus / 2;
    let delta = value - this.#low;
    if (delta >= half) delta -= this.#modulus;
    else if (delta < -half) delta += this.#modulus;
    const extended = this.#highest + delta;
    if (extended > this.#highest) {
      this.#highest = extended;
      this.#low = value;
    }
    return extended;
  }

  /** Forgets history (a new SSRC starts a new counter). */
  reset(): void {
    this.#highest = undefined;
  }
}

/** Counters a muxer fills in while it runs; pass one in `stats` to read them afterwards. */
export interface MuxStats {
  /** RTP packets read. */
  packets: number;
  /** Packets that failed to parse and were skipped. */
  malformed: number;
  /** Packets of another payload type (RTX, RED, RTCP on a muxed port) that were skipped. */
  foreign: number;
  /** Copies of packets already seen. */
  duplicates: number;
  /** Packets that arrived after the reorder window had moved past them. */
  late: number;
  /** Sequence numbers never received. */
  lost: number;
  /** Audio: samples (48 kHz) of silence or concealment inserted; video: 0. */
  filledSamples: number;
  /** Video: frames dropped because a packet was missing or no keyframe preceded them. */
  droppedFrames: number;
  /** Frames (video) or Opus packets (audio, real ones only) written. */
  written: number;
}

/** A zeroed {@link MuxStats}. */
export function newMuxStats(): MuxStats {
  return {
    packets: 0,
    malformed: 0,
    foreign: 0,
    duplicates: 0,
    late: 0,
    lost: 0,
    filledSamples: 0,
    droppedFrames: 0,
    written: 0,
  };
}

/** A packet that passed parsing, with its extended sequence number and arrival time. */
export interface SequencedPacket {
  rtp: RtpPacket;
  ext: number;
  arrivalUs: bigint;
}

/**
 * A reorder window of at most `capacity` packets keyed by extended sequence number.
 * `push` appends the packets that are now due, in order, to `out`; `flush` returns the rest.
 * Gaps left when the window overflows are counted as lost in `stats`.
 */
export class ReorderBuffer<P extends SequencedPacket = SequencedPacket> {
  readonly #capacity: number;
  readonly #stats: MuxStats;
  readonly #held = new Map<number, P>();
  #next: number | undefined;
  #lateRun: P[] = [];

  /** @param capacity packets held before the oldest gap is declared lost (default 64). */
  constructor(stats: MuxStats, capacity = 64) {
    this.#capacity = Math.max(1, capacity);
    this.#stats = stats;
  }

  /** Adds a packet and appends the packets it releases, in sequence order, to `out` (returned). */
  push(p: P, out: P[] = []): P[] {
    if (this.#next !== undefined && p.ext < this.#next) {
      // A long run of nothing but "late" packets is a sender that reset its sequence
      // numbers: start over from them rather than drop the rest of the stream.
      this.#lateRun.push(p);
      if (this.#lateRun.length < Math.min(32, this.#capacity)) return out;
      const run = this.#lateRun;
      this.#lateRun = [];
      out.push(...this.flush());
      this.#next = undefined;
      for (const q of run) this.push(q, out);
      return out;
    }
    if (this.#lateRun.length > 0) {
      this.#stats.late += this.#lateRun.length;
      this.#lateRun = [];
    }
    // The common case, in order with nothing held: straight through.
    if (p.ext === this.#next && this.#held.size === 0) {
      out.push(p);
      this.#next = p.ext + 1;
      return out;
    }
    if (this.#held.has(p.ext)) {
      this.#stats.duplicates++;
      return out;
    }
    this.#held.set(p.ext, p);
    // Wait for a few packets before fixing the starting point, in case the first arrived late.
    if (this.#next === undefined) {
      if (this.#held.size < Math.min(8, this.#capacity)) return out;
      this.#next = this.#lowest();
    }
    this.#drain(out);
    while (this.#held.size > this.#capacity) {
      const lowest = this.#lowest();
      this.#stats.lost += lowest - this.#next;
      this.#next = lowest;
      this.#drain(out);
    }
    return out;
  }

  /** Releases everything still held, in order, counting the gaps as lost. */
  flush(): P[] {
    this.#stats.late += this.#lateRun.length;
    this.#lateRun = [];
    const out: P[] = [];
    while (this.#held.size > 0) {
      const lowest = this.#lowest();
      if (this.#next !== undefined) this.#stats.lost += lowest - this.#next;
      this.#next = lowest;
      this.#drain(out);
    }
    return out;
  }

  /** Sequence number expected next, or undefined before the window has started. */
  get next(): number | undefined {
    return this.#next;
  }

  #drain(out: P[]): void {
    for (;;) {
      const p = this.#next === undefined ? undefined : this.#held.get(this.#next);
      if (!p) return;
      this.#held.delete(p.ext);
      out.push(p);
      this.#next = p.ext + 1;
    }
  }

  #lowest(): number {
    let min = Infinity;
    for (const k of this.#held.keys()) if (k < min) min = k;
    return min;
  }
}
