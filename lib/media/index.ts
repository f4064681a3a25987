/**
 * Downloadable files from captured tracks: Opus audio → Ogg Opus, VP8 video → WebM. The
 * one entry point callers need is {@link muxTrack}; it picks the muxer from the chunk
 * metadata and streams the file (feed it the records of every chunk of the track, in
 * capture order, as they are decrypted).
 *
 * The container bytes are written here (oggPager.ts, ebml.ts) rather than by mediabunny,
 * measured against it (mediabunny 1.61, the same packets, CPU time per 50 MB): Ogg Opus
 * takes 0.34-0.38 s there against 0.08-0.14 s here, too slow for an export at 100 MB/s,
 * and its muxer wants an awaited add() per packet. Its WebM writer is as fast as ours
 * (0.06-0.11 s against 0.07-0.13 s), but streams only in append-only mode, which by its
 * own documentation stores no Duration, while ours writes the take's length up front; its
 * clusters follow a minimum duration rather than starting at each keyframe.
 */
import type { ChunkMeta } from '../chunks/container.ts';
import { oggOpusFromRecords, oggOpusSize } from './ogg.ts';
import type { RecordSource } from './source.ts';
import type { MuxStats } from './rtp.ts';
import { webmFromRecords } from './webm.ts';

export { oggOpusFromRecords, oggOpusSize, type OggOpusOptions } from './ogg.ts';
export type { RecordSource } from './source.ts';
export { webmFromRecords, type WebmOptions } from './webm.ts';
export { newMuxStats, parseRtp, RtpParseError, type MuxStats, type RtpPacket } from './rtp.ts';

/** Thrown by {@link muxTrack} for a codec it cannot put in a file. */
export class UnsupportedCodecError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'unsupported_codec';
  constructor(mimeType: string) {
    super(`no muxer for ${mimeType}`);
    this.name = 'UnsupportedCodecError';
  }
}

/** Options for {@link muxTrack}. */
export interface MuxOptions {
  /**
   * Wall-clock start of the recording (µs since the epoch): every file's t=0, so tracks line up.
   * Default: the track's first packet.
   */
  startUs?: bigint | undefined;
  /** Wall-clock end of the recording (µs): audio is padded to it, video gets it as its Duration. */
  endUs?: bigint | undefined;
  /** Filled in while the body is consumed: packets, losses, malformed packets skipped, … */
  stats?: MuxStats | undefined;
  /**
   * The consumer is done with each buffer of the body before it asks for the next (it copies
   * them), so the muxer may reuse its memory: Ogg Opus then writes every page into one
   * buffer. Default false: each buffer stays the consumer's.
   */
  transient?: boolean | undefined;
}

/** A file being produced: what to send as Content-Type, a file extension, and the bytes. */
export interface MuxedTrack {
  contentType: 'audio/ogg' | 'video/webm';
  extension: 'ogg' | 'webm';
  body: AsyncIterable<Buffer>;
}

/** The container a track's codec goes into, or undefined when there is none. */
export function containerFor(meta: ChunkMeta): Pick<MuxedTrack, 'contentType' | 'extension'> | undefined {
  const mime = meta.mimeType.toLowerCase();
  if (mime === 'audio/opus') return { contentType: 'audio/ogg', extension: 'ogg' };
  if (mime === 'video/vp8') return { contentType: 'video/webm', extension: 'webm' };
  return undefined;
}

/**
 * Streams one captured track as a file: audio/opus → Ogg Opus, video/vp8 → WebM. Only
 * packets of `meta.payloadType` are used. `records` may come one at a time or, faster, a
 * chunk's records at a time. The body never throws on bad packets (they are skipped and
 * counted); errors from `records` itself (decryption) propagate.
 * @throws UnsupportedCodecError (synchronously) for any other codec.
 */
export function muxTrack(meta: ChunkMeta, records: RecordSource, opts: MuxOptions = {}): MuxedTrack {
  const container = containerFor(meta);
  if (!container) throw new UnsupportedCodecError(meta.mimeType);
  const common = { startUs: opts.startUs, endUs: opts.endUs, stats: opts.stats, payloadType: meta.payloadType };
  const body =
    container.extension === 'ogg'
      ? oggOpusFromRecords(records, { ...common, transient: opts.transient })
      : webmFromRecords(records, { ...common, clockRate: meta.clockRate });
  return { ...container, body };
}

/**
 * The exact size in bytes of the file {@link muxTrack} streams from the same records and
 * options (the muxers are deterministic): what a tar header needs before the content. For
 * Ogg Opus it runs the timeline and paging without writing a byte; WebM is muxed and counted.
 * @throws UnsupportedCodecError (before reading anything) for a codec with no container.
 */
export async function muxedSize(meta: ChunkMeta, records: RecordSource, opts: MuxOptions = {}): Promise<number> {
  const container = containerFor(meta);
  if (!container) throw new UnsupportedCodecError(meta.mimeType);
  const common = { startUs: opts.startUs, endUs: opts.endUs, stats: opts.stats, payloadType: meta.payloadType };
  if (container.extension === 'ogg') return oggOpusSize(records, common);
  let size = 0;
  for await (const b of webmFromRecords(records, { ...common, clockRate: meta.clockRate })) size += b.length;
  return size;
}
