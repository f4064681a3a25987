/**
 * Captured VP8 RTP → a WebM file, streamed cluster by cluster. The Segment has unknown size
 * (nothing needs to be rewritten at the end); frames are placed by RTP timestamp on the
 * recording's clock, so with `startUs` video and the Ogg audio tracks share t=0.
 */
import { float, ID, int64, master, matroskaDate, simpleBlock, str, uint, unknownSizeStart } from './ebml.ts';
import { newMuxStats, type MuxStats } from './rtp.ts';
import { PacketOrderer, recordBatches, Timeline, type RecordSource } from './source.ts';
import { Vp8Assembler, type Vp8Frame } from './vp8.ts';

/** Options for {@link webmFromRecords}. */
export interface WebmOptions {
  /** Wall-clock start of the recording (µs since the epoch): t=0 of the file. Default: the first packet's arrival. */
  startUs?: bigint | undefined;
  /**
   * Wall-clock end of the recording (µs): written as the file's Duration. Without it the
   * file is a live-style WebM with no Duration (players show the length as unknown).
   */
  endUs?: bigint | undefined;
  /** Only packets of this RTP payload type are used. Default: any. */
  payloadType?: number | undefined;
  /** RTP clock rate (default 90000, the only rate VP8 uses). */
  clockRate?: number | undefined;
  /** Reorder window in packets (default 256: one large keyframe spans many packets). */
  window?: number | undefined;
  /** A new cluster starts at each keyframe and at least this often (ms, default 5000). */
  clusterMs?: number | undefined;
  /** Filled in while muxing. */
  stats?: MuxStats | undefined;
}

const APP = 'recorder rtp-to-webm';
const TRACK = 1;
/** Size written when no keyframe ever arrived (a file with no pictures still opens). */
const FALLBACK_SIZE = 16;
/** A cluster is closed early past this many bytes, bounding memory at high bitrates. */
const CLUSTER_BYTES = 8 << 20;

/** The EBML header, Segment start, Info and Tracks. */
function header(width: number, height: number, originUs: bigint | undefined, durationMs: number | undefined): Buffer {
  const ebml = master(ID.EBML, [
    uint(ID.EBMLVersion, 1),
    uint(ID.EBMLReadVersion, 1),
    uint(ID.EBMLMaxIDLength, 4),
    uint(ID.EBMLMaxSizeLength, 8),
    str(ID.DocType, 'webm'),
    uint(ID.DocTypeVersion, 4),
    uint(ID.DocTypeReadVersion, 2),
  ]);
  const info = master(ID.Info, [
    uint(ID.TimestampScale, 1_000_000),
    ...(durationMs !== undefined ? [float(ID.Duration, durationMs)] : []),
    ...(originUs !== undefined ? [int64(ID.DateUTC, matroskaDate(originUs))] : []),
    str(ID.MuxingApp, APP),
    str(ID.WritingApp, APP),
  ]);
  const tracks = master(ID.Tracks, [
    master(ID.TrackEntry, [
      uint(ID.TrackNumber, TRACK),
      uint(ID.TrackUID, TRACK),
      uint(ID.TrackType, 1),
      uint(ID.FlagLacing, 0),
      str(ID.CodecID, 'V_VP8'),
      master(ID.Video, [uint(ID.PixelWidth, width), uint(ID.PixelHeight, height)]),
    ]),
  ]);
  return Buffer.concat([ebml, unknownSizeStart(ID.Segment), info, tracks]);
}

/**
 * Muxes captured VP8 RTP packets (in arrival order) into WebM. Output starts at the first
 * complete keyframe; frames with lost packets, and frames after them until the next
 * keyframe, are dropped (counted in `stats.droppedFrames`). Malformed packets are skipped.
 * Memory is bounded by the reorder window and one cluster (≤ `clusterMs`, ≤ 8 MiB).
 */
export async function* webmFromRecords(records: RecordSource, opts: WebmOptions = {}): AsyncGenerator<Buffer> {
  const stats = opts.stats ?? newMuxStats();
  const rate = opts.clockRate ?? 90000;
  const clusterMs = Math.min(opts.clusterMs ?? 5000, 30000);
  const timeline = new Timeline(rate, opts.startUs);
  const assembler = new Vp8Assembler(stats);
  let started = false;
  let lastMs = 0;
  let cluster: { start: number; blocks: Buffer[]; bytes: number } | undefined;

  const durationMs = (): number | undefined => {
    const origin = timeline.originUs ?? opts.startUs;
    return opts.endUs !== undefined && origin !== undefined
      ? Math.max(0, Number(opts.endUs - origin) / 1000)
      : undefined;
  };
  const closeCluster = (): Buffer | undefined => {
    if (!cluster) return undefined;
    const out = master(ID.Cluster, [uint(ID.Timestamp, cluster.start), ...cluster.blocks]);
    cluster = undefined;
    return out;
  };
  function* write(frame: Vp8Frame): Generator<Buffer> {
    if (!started) {
      if (!frame.keyframe) return;
      started = true;
      yield header(frame.width ?? FALLBACK_SIZE, frame.height ?? FALLBACK_SIZE, timeline.originUs, durationMs());
    }
    // Timestamps never go backwards (a re-anchored timeline or frames before the start).
    const ms = Math.max(lastMs, Math.round((frame.pos * 1000) / rate));
    lastMs = ms;
    if (!cluster || frame.keyframe || ms - cluster.start >= clusterMs || cluster.bytes >= CLUSTER_BYTES) {
      const done = closeCluster();
      if (done) yield done;
      cluster = { start: ms, blocks: [], bytes: 0 };
    }
    const block = simpleBlock(TRACK, ms - cluster.start, frame.keyframe, frame.data);
    cluster.blocks.push(block);
    cluster.bytes += block.length;
    stats.written++;
  }

  const frames: Vp8Frame[] = [];
  const orderer = new PacketOrderer({ payloadType: opts.payloadType, window: opts.window ?? 256 }, stats, (p) =>
    frames.push(...assembler.push(p, timeline.place(p))),
  );
  for await (const batch of recordBatches(records)) {
    for (const r of batch) orderer.push(r);
    for (const frame of frames.splice(0)) yield* write(frame);
  }
  orderer.end();
  for (const frame of frames.splice(0)) yield* write(frame);
  assembler.flush();
  const last = closeCluster();
  if (last) yield last;
  if (!started) {
    // No picture at all: still a file players open (ffmpeg needs at least one cluster).
    yield header(FALLBACK_SIZE, FALLBACK_SIZE, timeline.originUs ?? opts.startUs, durationMs());
    yield master(ID.Cluster, [uint(ID.Timestamp, 0)]);
  }
}
