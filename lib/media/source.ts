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
 * Parses, filters and reorders captured records into one in-order packet stream.
 * Malformed packets are skipped and counted in `stats.malformed`, never thrown.
 */
export async function* orderedPackets(
  records: AsyncIterable<RtpRecord> | Iterable<RtpRecord>,
  opts: OrderOptions,
  stats: MuxStats,
): AsyncGenerator<OrderedPacket> {
  const window = opts.window ?? 64;
  const switchUs = opts.ssrcSwitchUs ?? 1_000_000n;
  let ssrc: number | undefined;
  let lastSeenUs = 0n;
  let seq = new Unwrapper(16);
  let buffer = new ReorderBuffer(stats, window);
  let lastExt: number | undefined;
  let pendingNewStream = true;

  function* release(list: { rtp: RtpPacket; ext: number; arrivalUs: bigint }[]): Generator<OrderedPacket> {
    for (const p of list) {
      // Going backwards (a sequence reset) is a discontinuity: report it as a loss.
      const missingBefore = lastExt === undefined ? 0 : p.ext > lastExt ? p.ext - lastExt - 1 : 1;
      lastExt = p.ext;
      const newStream = pendingNewStream;
      pendingNewStream = false;
      yield { ...p, missingBefore, newStream };
    }
  }

  /** Packets of another SSRC that may be taking over. */
  let candidate: { ssrc: number; held: { rtp: RtpPacket; arrivalUs: bigint }[] } | undefined;
  function* switchToCandidate(): Generator<OrderedPacket> {
    if (!candidate) return;
    yield* release(buffer.flush());
    seq = new Unwrapper(16);
    buffer = new ReorderBuffer(stats, window);
    lastExt = undefined;
    pendingNewStream = true;
    ssrc = candidate.ssrc;
    const held = candidate.held;
    candidate = undefined;
    for (const h of held) {
      if (h.arrivalUs > lastSeenUs) lastSeenUs = h.arrivalUs;
      yield* release(buffer.push({ rtp: h.rtp, ext: seq.unwrap(h.rtp.sequenceNumber), arrivalUs: h.arrivalUs }));
    }
  }

  for await (const record of records) {
    stats.packets++;
    let rtp: RtpPacket;
    try {
      rtp = parseRtp(record.packet);
    } catch (err) {
      if (!(err instanceof RtpParseError)) throw err;
      stats.malformed++;
      continue;
    }
    if (opts.payloadType !== undefined && rtp.payloadType !== opts.payloadType) {
      stats.foreign++;
      continue;
    }
    if (ssrc !== undefined && rtp.ssrc !== ssrc) {
      if (candidate && candidate.ssrc !== rtp.ssrc) {
        stats.foreign++; // a third stream
        continue;
      }
      candidate ??= { ssrc: rtp.ssrc, held: [] };
      candidate.held.push({ rtp, arrivalUs: record.arrivalUs });
      if (candidate.held.length > CANDIDATE_LIMIT) {
        candidate.held.shift();
        stats.foreign++;
      }
      // The current stream went quiet while this one kept sending: a restarted sender.
      if (record.arrivalUs - lastSeenUs >= switchUs) yield* switchToCandidate();
      continue;
    }
    if (candidate) {
      stats.foreign += candidate.held.length; // the current stream is alive: the other was interleaved
      candidate = undefined;
    }
    ssrc = rtp.ssrc;
    if (record.arrivalUs > lastSeenUs) lastSeenUs = record.arrivalUs;
    yield* release(buffer.push({ rtp, ext: seq.unwrap(rtp.sequenceNumber), arrivalUs: record.arrivalUs }));
  }
  // A newcomer that started after the current stream's last packet is the stream's continuation.
  if (candidate && (candidate.held[0]?.arrivalUs ?? 0n) > lastSeenUs) yield* switchToCandidate();
  else if (candidate) stats.foreign += candidate.held.length;
  yield* release(buffer.flush());
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
