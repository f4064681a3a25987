/**
 * Captured Opus RTP → an Ogg Opus file (RFC 7845) that any player opens, streamed page by
 * page. The timeline is true to the recording: RTP timestamps place every packet, time with
 * no packets (loss, DTX, a stalled sender) is filled with concealment or silence, and with
 * `startUs` the file starts at the recording's start, not at the first packet.
 */
import type { RtpRecord } from '../chunks/container.ts';
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
import { orderedPackets, Timeline } from './source.ts';

/** Options for {@link oggOpusFromRecords}. */
export interface OggOpusOptions {
  /**
   * Wall-clock start of the recording (µs since the epoch). The file starts there: the time
   * until the first packet becomes leading silence, with sample accuracy (through the
   * OpusHead pre-skip). Default: the file starts at the first packet.
   */
  startUs?: bigint | undefined;
  /** Wall-clock end of the recording (µs): the file is padded with silence up to it. Default: ends with the last packet. */
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
}

const RATE = 48000;
const VENDOR = 'recorder rtp-to-ogg';
const MIN_PRE_SKIP = 312;

/**
 * Muxes captured Opus RTP packets (in arrival order, as captured) into Ogg Opus pages.
 * Malformed and foreign packets are skipped and counted; nothing about the input throws.
 * Memory stays bounded by the reorder window and one page.
 */
export async function* oggOpusFromRecords(
  records: AsyncIterable<RtpRecord> | Iterable<RtpRecord>,
  opts: OggOpusOptions = {},
): AsyncGenerator<Buffer> {
  const stats = opts.stats ?? newMuxStats();
  const conceal = opts.concealSamples ?? 4800;
  const timeline = new Timeline(RATE, opts.startUs);
  let pager: OggPager | undefined;
  let stereo = false;
  let preSkip = 0;
  let written = 0; // samples in all packets so far, pre-skip included: the granule position
  let lastToc: number | undefined;

  const emit = (packet: Buffer, samples: number): void => {
    written += samples;
    pager?.packet(packet, BigInt(written));
  };
  /** Fills up to `target` (in granule units) with concealment, then silence, yielding pages as they fill. */
  function* fillTo(target: number): Generator<Buffer> {
    if (target - written < 120) return;
    const before = written;
    const toc = lastToc;
    const frame = toc === undefined ? 0 : opusFrameSamples(toc);
    if (toc !== undefined && frame > 0) {
      let frames = Math.floor(Math.min(target - written, conceal) / frame);
      const perPacket = Math.floor(MAX_PACKET_SAMPLES / frame);
      while (frames > 0) {
        const n = Math.min(frames, perPacket);
        emit(concealmentPacket(toc, n), n * frame);
        frames -= n;
      }
    }
    for (const s of silence(target - written, stereo)) {
      emit(s.packet, s.samples);
      if (pager) yield* pager.take();
    }
    stats.filledSamples += written - before;
  }
  /** Writes the headers and the leading silence up to the first packet at `firstPos`. */
  function* start(firstPos: number, serial: number, channels: 1 | 2): Generator<Buffer> {
    stereo = channels === 2;
    // Leading silence comes in 2.5 ms steps; pre-skip trims the excess for an exact start.
    // At least the usual 312 samples are skipped, so the decoder settles on silence.
    const lead = Math.max(0, firstPos);
    const padded = Math.ceil((lead + MIN_PRE_SKIP) / 120) * 120;
    preSkip = padded - lead;
    pager = new OggPager({ serial: opts.serial ?? serial });
    pager.packet(opusHead(channels, preSkip), 0n, true);
    pager.packet(opusTags(VENDOR), 0n, true);
    yield* fillTo(padded);
    stats.filledSamples -= preSkip;
  }

  let newStream = false;
  for await (const p of orderedPackets(records, { payloadType: opts.payloadType, window: opts.window }, stats)) {
    const payload = p.rtp.payload;
    newStream ||= p.newStream; // carried past skipped packets, so the timeline hears of it
    if (payload.length === 0) continue; // padding-only packet
    const samples = opusPacketSamples(payload);
    if (samples === undefined) {
      stats.malformed++;
      continue;
    }
    const pos = timeline.place({ ...p, newStream });
    newStream = false;
    if (!pager) {
      if (pos + samples <= 0) continue; // before the recording started
      yield* start(pos, p.rtp.ssrc, opts.channels ?? (opusIsStereo(payload) ? 2 : 1));
    }
    const target = pos + preSkip;
    if (target + samples <= written) {
      stats.duplicates++; // its time is already covered (a resent or overlapping packet)
      continue;
    }
    yield* fillTo(target);
    emit(payload, samples);
    stats.written++;
    lastToc = payload[0];
    if (pager) yield* pager.take();
  }

  if (!pager) yield* start(0, 0, opts.channels ?? 1);
  const origin = timeline.originUs ?? opts.startUs;
  if (opts.endUs !== undefined && origin !== undefined) {
    yield* fillTo(Math.floor((Number(opts.endUs - origin) * RATE) / 1e6) + preSkip);
  }
  if (pager) yield* pager.end();
}
