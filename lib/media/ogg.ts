/**
 * Captured Opus RTP → an Ogg Opus file (RFC 7845) that any player opens, streamed page by
 * page. The timeline is true to the recording: RTP timestamps place every packet, time with
 * no packets (loss, DTX, a stalled sender) is filled with concealment or silence, and with
 * `startUs` the file starts at the recording's start, not at the first packet.
 */
import {
  concealmentPacket,
  MAX_PACKET_SAMPLES,
  opusFrameSamples,
  opusHead,
  opusIsStereo,
  opusPacketSamples,
  opusTags,
  silence,
} from './opus.ts';
import { OggPager } from './oggPager.ts';
import { newMuxStats, type MuxStats } from './rtp.ts';
import { PacketOrderer, recordBatches, Timeline, type OrderedPacket, type RecordSource } from './source.ts';

/** Options for {@link oggOpusFromRecords}. */
export interface OggOpusOptions {
  /**
   * Wall-clock start of the recording (µs since the epoch). The file starts there: the time
   * until the first packet becomes leading silence, with sample accuracy (through the
   * OpusHead pre-skip). Default: the file starts at the first packet.
   */
  startUs?: bigint | undefined;
  /**
   * Wall-clock end of the recording (µs): the file is padded with silence up to it.
   * Default: ends with the last packet.
   */
  endUs?: bigint | undefined;
  /** Output channel count. Default: 2 if the first packet is coded stereo, else 1. */
  channels?: 1 | 2 | undefined;
  /** Only packets of this RTP payload type are used. Default: any. */
  payloadType?: number | undefined;
  /** Reorder window in packets (default 64, about 1.3 s of 20 ms packets). */
  window?: number | undefined;
  /** Gaps are concealed by the decoder up to this many 48 kHz samples, then silent (default 4800: 100 ms). */
  concealSamples?: number | undefined;
  /** Ogg bitstream serial. Default: the first packet's SSRC (so the same input gives the same bytes). */
  serial?: number | undefined;
  /** Filled in while muxing. */
  stats?: MuxStats | undefined;
  /**
   * The consumer is done with each buffer yielded before it asks for the next (it copies
   * them), so one output buffer is reused throughout. Default false.
   */
  transient?: boolean | undefined;
}

const RATE = 48000;
const VENDOR = 'recorder rtp-to-ogg';
const MIN_PRE_SKIP = 312;

/**
 * The Ogg Opus muxer as a synchronous state machine: feed it in-order packets, take the
 * pages. {@link oggOpusFromRecords} drives it; with `countOnly` it computes the file's exact
 * size (`bytes` after `end()`) without producing it.
 */
export class OggOpusMuxer {
  readonly stats: MuxStats;
  readonly #opts: OggOpusOptions;
  readonly #countOnly: boolean;
  readonly #conceal: number;
  readonly #timeline: Timeline;
  #pager: OggPager | undefined;
  #stereo = false;
  #preSkip = 0;
  /** Samples in all packets so far, pre-skip included: the granule position. */
  #written = 0;
  #lastToc: number | undefined;
  /** Carried past skipped packets, so the timeline hears of a new stream. */
  #newStream = false;

  constructor(opts: OggOpusOptions = {}, countOnly = false) {
    this.#opts = opts;
    this.#countOnly = countOnly;
    this.stats = opts.stats ?? newMuxStats();
    this.#conceal = opts.concealSamples ?? 4800;
    this.#timeline = new Timeline(RATE, opts.startUs);
  }

  /** Bytes of the pages closed so far; after {@link end}, the size of the whole file. */
  get bytes(): number {
    return this.#pager?.bytes ?? 0;
  }

  /** Adds the next in-order packet. */
  packet(p: OrderedPacket): void {
    const payload = p.rtp.payload;
    this.#newStream ||= p.newStream;
    if (payload.length === 0) return; // padding-only packet
    const samples = opusPacketSamples(payload);
    if (samples === undefined) {
      this.stats.malformed++;
      return;
    }
    p.newStream = this.#newStream;
    const pos = this.#timeline.place(p);
    this.#newStream = false;
    if (!this.#pager) {
      if (pos + samples <= 0) return; // before the recording started
      this.#start(pos, p.rtp.ssrc, this.#opts.channels ?? (opusIsStereo(payload) ? 2 : 1));
    }
    const target = pos + this.#preSkip;
    if (target + samples <= this.#written) {
      this.stats.duplicates++; // its time is already covered (a resent or overlapping packet)
      return;
    }
    this.#fillTo(target);
    this.#emit(payload, samples);
    this.stats.written++;
    this.#lastToc = payload[0];
  }

  /** The pages completed so far, as one buffer (empty when none, or when counting). */
  take(): Buffer {
    return this.#pager?.take() ?? EMPTY;
  }

  /** End of input: pads to `endUs` and returns the last pages. */
  end(): Buffer {
    if (!this.#pager) this.#start(0, 0, this.#opts.channels ?? 1);
    const origin = this.#timeline.originUs ?? this.#opts.startUs;
    if (this.#opts.endUs !== undefined && origin !== undefined) {
      this.#fillTo(Math.floor((Number(this.#opts.endUs - origin) * RATE) / 1e6) + this.#preSkip);
    }
    return this.#pager?.end() ?? EMPTY;
  }

  #emit(packet: Buffer, samples: number): void {
    this.#written += samples;
    this.#pager?.packet(packet, this.#written);
  }

  /** Fills up to `target` (in granule units) with concealment, then silence. */
  #fillTo(target: number): void {
    if (target - this.#written < 120) return;
    const before = this.#written;
    const toc = this.#lastToc;
    const frame = toc === undefined ? 0 : opusFrameSamples(toc);
    if (toc !== undefined && frame > 0) {
      let frames = Math.floor(Math.min(target - this.#written, this.#conceal) / frame);
      const perPacket = Math.floor(MAX_PACKET_SAMPLES / frame);
      while (frames > 0) {
        const n = Math.min(frames, perPacket);
        this.#emit(concealmentPacket(toc, n), n * frame);
        frames -= n;
      }
    }
    for (const s of silence(target - this.#written, this.#stereo)) this.#emit(s.packet, s.samples);
    this.stats.filledSamples += this.#written - before;
  }

  /** Writes the headers and the leading silence up to the first packet at `firstPos`. */
  #start(firstPos: number, serial: number, channels: 1 | 2): void {
    this.#stereo = channels === 2;
    // Leading silence comes in 2.5 ms steps; pre-skip trims the excess for an exact start.
    // At least the usual 312 samples are skipped, so the decoder settles on silence.
    const lead = Math.max(0, firstPos);
    const padded = Math.ceil((lead + MIN_PRE_SKIP) / 120) * 120;
    this.#preSkip = padded - lead;
    this.#pager = new OggPager({
      serial: this.#opts.serial ?? serial,
      countOnly: this.#countOnly,
      transient: this.#opts.transient ?? false,
    });
    this.#pager.packet(opusHead(channels, this.#preSkip), 0, true);
    this.#pager.packet(opusTags(VENDOR), 0, true);
    this.#fillTo(padded);
    this.stats.filledSamples -= this.#preSkip;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Muxes captured Opus RTP packets (in arrival order, as captured) into Ogg Opus pages.
 * Malformed and foreign packets are skipped and counted; nothing about the input throws.
 * Memory stays bounded by the reorder window and the pages of one input batch (or of one
 * gap's silence, about 100 bytes a second).
 */
export async function* oggOpusFromRecords(records: RecordSource, opts: OggOpusOptions = {}): AsyncGenerator<Buffer> {
  const mux = new OggOpusMuxer(opts);
  const orderer = new PacketOrderer({ payloadType: opts.payloadType, window: opts.window }, mux.stats, (p) =>
    mux.packet(p),
  );
  for await (const batch of recordBatches(records)) {
    for (const r of batch) orderer.push(r);
    const pages = mux.take();
    if (pages.length > 0) yield pages;
  }
  orderer.end();
  yield mux.end();
}

/** The exact size in bytes of the file {@link oggOpusFromRecords} makes from the same records and options. */
export async function oggOpusSize(records: RecordSource, opts: OggOpusOptions = {}): Promise<number> {
  const mux = new OggOpusMuxer(opts, true);
  const orderer = new PacketOrderer({ payloadType: opts.payloadType, window: opts.window }, mux.stats, (p) =>
    mux.packet(p),
  );
  for await (const batch of recordBatches(records)) for (const r of batch) orderer.push(r);
  orderer.end();
  mux.end();
  return mux.bytes;
}
