/**
 * The common front half of every muxer: captured records in arrival order → parsed RTP
 * packets of one stream in sequence order (duplicates dropped, reordering undone within a
 * small window, losses counted), and a timeline that places each packet on the recording's
 * clock. Streaming throughout: at most `window` packets are held.
 */
import type { RtpRecord } from '../chunks/container.ts';
import { parseRtp, ReorderBuffer, RtpParseError, Unwrapper, type MuxStats, type RtpPacket } from './rtp.ts';

/** Packets of a would-be new SSRC held while deciding whether it replaces the current one. */
const CANDIDATE_LIMIT = 1024;

/** A packet released in sequence order. */
export interface OrderedPacket {
  rtp: RtpPacket;
  /** Extended sequence number (unique within one stream). */
  ext: number;
  arrivalUs: bigint;
  /** Sequence numbers missing between the previous released packet and this one. */
  missingBefore: number;
  /** True for the first packet of a stream (the first SSRC, or one that replaced it). */
  newStream: boolean;
}

/** Options for {@link orderedPackets}. */
export interface OrderOptions {
  /** Only packets with this payload type are used; others are counted as foreign. Default: any. */
  payloadType?: number | undefined;
  /** Reorder window in packets (default 64). */
  window?: number | undefined;
  /**
   * A packet from another SSRC takes over only when the current SSRC has sent nothing for
   * this long (µs, default 1 s), so a restarted sender is followed while interleaved streams
   * (simulcast layers) are ignored. The newcomer's packets are held meanwhile (up to 1024),
   * so a restart loses nothing.
   */
  ssrcSwitchUs?: bigint | undefined;
}

/**
 * Captured records as the muxers take them: one at a time, or (faster) a chunk's records at
 * a time, as arrays. Errors thrown by the source (decryption, storage) propagate.
 */
export type RecordSource = AsyncIterable<RtpRecord | readonly RtpRecord[]> | Iterable<RtpRecord>;

const isBatch = (item: RtpRecord | readonly RtpRecord[]): item is readonly RtpRecord[] => Array.isArray(item);

/**
 * A {@link RecordSource} as batches: arrays pass through, single records of an async source
 * come one per batch, and a synchronous source is cut into batches of 256.
 */
export async function* recordBatches(records: RecordSource): AsyncGenerator<readonly RtpRecord[]> {
  if (Symbol.asyncIterator in records) {
    for await (const item of records) yield isBatch(item) ? item : [item];
    return;
  }
  let batch: RtpRecord[] = [];
  for (const r of records) {
    batch.push(r);
    if (batch.length === 256) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Parses, filters and reorders captured records into one in-order packet stream, handing
 * each released packet to `emit` (synchronously, in order). Malformed packets are skipped
 * and counted in `stats.malformed`, never thrown. A packet object is handed out once and
 * not touched by the orderer afterwards; the receiver may change its `newStream`.
 */
export class PacketOrderer {
  readonly #window: number;
  readonly #switchUs: bigint;
  readonly #payloadType: number | undefined;
  readonly #stats: MuxStats;
  readonly #emit: (p: OrderedPacket) => void;
  #ssrc: number | undefined;
  #lastSeenUs = 0n;
  #seq = new Unwrapper(16);
  #buffer: ReorderBuffer<OrderedPacket>;
  #lastExt: number | undefined;
  #pendingNewStream = true;
  /** Packets of another SSRC that may be taking over. */
  #candidate: { ssrc: number; held: OrderedPacket[] } | undefined;
  readonly #released: OrderedPacket[] = [];

  constructor(opts: OrderOptions, stats: MuxStats, emit: (p: OrderedPacket) => void) {
    this.#window = opts.window ?? 64;
    this.#switchUs = opts.ssrcSwitchUs ?? 1_000_000n;
    this.#payloadType = opts.payloadType;
    this.#stats = stats;
    this.#emit = emit;
    this.#buffer = new ReorderBuffer(stats, this.#window);
  }

  /** Adds the next captured record (in arrival order). */
  push(record: RtpRecord): void {
    const stats = this.#stats;
    stats.packets++;
    let rtp: RtpPacket;
    try {
      rtp = parseRtp(record.packet);
    } catch (err) {
      if (!(err instanceof RtpParseError)) throw err;
      stats.malformed++;
      return;
    }
    if (this.#payloadType !== undefined && rtp.payloadType !== this.#payloadType) {
      stats.foreign++;
      return;
    }
    const p: OrderedPacket = { rtp, ext: 0, arrivalUs: record.arrivalUs, missingBefore: 0, newStream: false };
    if (this.#ssrc !== undefined && rtp.ssrc !== this.#ssrc) {
      if (this.#candidate && this.#candidate.ssrc !== rtp.ssrc) {
        stats.foreign++; // a third stream
        return;
      }
      this.#candidate ??= { ssrc: rtp.ssrc, held: [] };
      this.#candidate.held.push(p);
      if (this.#candidate.held.length > CANDIDATE_LIMIT) {
        this.#candidate.held.shift();
        stats.foreign++;
      }
      // The current stream went quiet while this one kept sending: a restarted sender.
      if (record.arrivalUs - this.#lastSeenUs >= this.#switchUs) this.#switchToCandidate();
      return;
    }
    if (this.#candidate) {
      stats.foreign += this.#candidate.held.length; // the current stream is alive: the other was interleaved
      this.#candidate = undefined;
    }
    this.#ssrc = rtp.ssrc;
    if (record.arrivalUs > this.#lastSeenUs) this.#lastSeenUs = record.arrivalUs;
    p.ext = this.#seq.unwrap(rtp.sequenceNumber);
    this.#release(this.#buffer.push(p, this.#released));
  }

  /** End of input: releases what the window still holds. */
  end(): void {
    // A newcomer that started after the current stream's last packet is the stream's continuation.
    const c = this.#candidate;
    if (c && (c.held[0]?.arrivalUs ?? 0n) > this.#lastSeenUs) this.#switchToCandidate();
    else if (c) this.#stats.foreign += c.held.length;
    this.#release(this.#buffer.flush());
  }

  #release(list: OrderedPacket[]): void {
    for (const p of list) {
      // Going backwards (a sequence reset) is a discontinuity: report it as a loss.
      const last = this.#lastExt;
      p.missingBefore = last === undefined ? 0 : p.ext > last ? p.ext - last - 1 : 1;
      this.#lastExt = p.ext;
      p.newStream = this.#pendingNewStream;
      this.#pendingNewStream = false;
      this.#emit(p);
    }
    list.length = 0;
  }

  #switchToCandidate(): void {
    const c = this.#candidate;
    if (!c) return;
    this.#release(this.#buffer.flush());
    this.#seq = new Unwrapper(16);
    this.#buffer = new ReorderBuffer(this.#stats, this.#window);
    this.#lastExt = undefined;
    this.#pendingNewStream = true;
    this.#ssrc = c.ssrc;
    this.#candidate = undefined;
    for (const h of c.held) {
      if (h.arrivalUs > this.#lastSeenUs) this.#lastSeenUs = h.arrivalUs;
      h.ext = this.#seq.unwrap(h.rtp.sequenceNumber);
      this.#release(this.#buffer.push(h, this.#released));
    }
  }
}

/**
 * Parses, filters and reorders captured records into one in-order packet stream
 * ({@link PacketOrderer} as an async generator). Malformed packets are skipped and counted
 * in `stats.malformed`, never thrown.
 */
export async function* orderedPackets(
  records: RecordSource,
  opts: OrderOptions,
  stats: MuxStats,
): AsyncGenerator<OrderedPacket> {
  const ready: OrderedPacket[] = [];
  const orderer = new PacketOrderer(opts, stats, (p) => ready.push(p));
  for await (const batch of recordBatches(records)) {
    for (const r of batch) orderer.push(r);
    yield* ready.splice(0);
  }
  orderer.end();
  yield* ready.splice(0);
}

/**
 * Maps RTP timestamps to positions on the recording's clock, in RTP clock units from the
 * origin (the recording start, or the first packet's arrival). RTP timestamps are trusted
 * for spacing (they are exact, arrival times jitter); when they disagree with arrival times
 * by more than `maxSkewUs` (a sender that jumped its timestamps) or a new stream starts,
 * the timeline re-anchors on the arrival time.
 */
export class Timeline {
  readonly #rate: number;
  readonly #maxSkewUs: number;
  #origin: bigint | undefined;
  readonly #ts = new Unwrapper(32);
  #anchor: { ts: number; pos: number; arrivalUs: bigint } | undefined;

  /**
   * @param clockRate RTP clock rate (48000 audio, 90000 video).
   * @param originUs wall-clock time of position 0; default: the first packet's arrival.
   * @param maxSkewUs tolerated disagreement between RTP time and arrival time (default 5 s).
   */
  constructor(clockRate: number, originUs?: bigint, maxSkewUs = 5_000_000) {
    this.#rate = clockRate;
    this.#origin = originUs;
    this.#maxSkewUs = maxSkewUs;
  }

  /** Wall-clock time of position 0 (known after the first packet). */
  get originUs(): bigint | undefined {
    return this.#origin;
  }

  /** Position (RTP clock units from the origin, may be negative) of an in-order packet. */
  place(p: OrderedPacket): number {
    if (this.#origin === undefined) this.#origin = p.arrivalUs;
    if (p.newStream) this.#ts.reset();
    const ts = this.#ts.unwrap(p.rtp.timestamp);
    const a = this.#anchor;
    if (a && !p.newStream) {
      const rtpUs = ((ts - a.ts) / this.#rate) * 1e6;
      const arrivalUs = Number(p.arrivalUs - a.arrivalUs);
      if (Math.abs(rtpUs - arrivalUs) <= this.#maxSkewUs) return a.pos + (ts - a.ts);
    }
    const pos = Math.round((Number(p.arrivalUs - this.#origin) * this.#rate) / 1e6);
    this.#anchor = { ts, pos, arrivalUs: p.arrivalUs };
    return pos;
  }
}
