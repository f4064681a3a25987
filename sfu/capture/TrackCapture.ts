/**
 * Captures one producer into sealed chunks.
 *
 * Why a DirectTransport consumer (not a PlainTransport): packets reach Node through the
 * worker's channel with no UDP socket in between, so nothing is lost to local socket
 * buffers, no ports are opened, and each packet arrives exactly as the producer sent it
 * (after SRTP decryption) with its RTP header intact. The cost is one channel message per
 * packet, which the capture benchmark (npm run bench:capture) measures.
 *
 * Every `chunkMs` the packets gathered so far become one chunk: encoded (lib/chunks/
 * container.ts), sealed with AES-256-GCM under the session key bound to org, session, track
 * and chunk seq (lib/chunks/seal.ts), written to object storage, then recorded in Postgres.
 * Flushes run one at a time per track, so chunk order is storage order.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import { encodeChunk, type ChunkMeta, type RtpRecord } from '../../lib/chunks/container.ts';
import { sealChunk } from '../../lib/chunks/seal.ts';
import { chunkRecord, type CaptureStore } from './CaptureStore.ts';

/** What capture needs of the store (the benchmark substitutes its own). */
export type ChunkSink = Pick<CaptureStore, 'putChunk' | 'closeTrack'>;
/** The sealing function; the benchmark swaps in a no-op to measure capture alone. */
export type Sealer = typeof sealChunk;

export interface TrackCaptureEvents {
  /** A chunk was sealed and stored: bytes of ciphertext. */
  chunk: [size: number, sealMs: number];
  /** A chunk could not be stored after retries; its packets are gone. */
  lost: [error: unknown];
  closed: [];
}

/** A track's live health, as {@link TrackCapture.stats} measures it. */
export interface TrackStats {
  packetsPerSecond: number;
  lossPercent: number;
  secondsSinceLastChunk: number | null;
  secondsCaptured: number;
  stalled: boolean;
}

export interface TrackCaptureOptions {
  orgId: string;
  sessionId: string;
  trackId: string;
  meta: ChunkMeta;
  key: Buffer;
  store: ChunkSink;
  chunkMs: number;
  /** Sequence number of the first chunk (a track continued after a rejoin); default 0. */
  firstSeq?: number;
  /** Default: AES-256-GCM sealing (lib/chunks/seal.ts). */
  seal?: Sealer;
}

export class TrackCapture extends EventEmitter<TrackCaptureEvents> {
  readonly trackId: string;
  readonly #o: TrackCaptureOptions;
  readonly #consumer: ms.Consumer;
  #records: RtpRecord[] = [];
  #seq = 0;
  #lost = 0;
  #timer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  // Health counters, read by stats(): cheap enough for the per-packet path.
  #packets = 0;
  #firstPacketMs = 0;
  #lastPacketMs = 0;
  #lastChunkMs = 0;
  #maxSeq = -1;
  #sample = { at: Date.now(), packets: 0, maxSeq: -1 };

  private constructor(consumer: ms.Consumer, o: TrackCaptureOptions) {
    super();
    this.trackId = o.trackId;
    this.#o = o;
    this.#seq = o.firstSeq ?? 0;
    this.#consumer = consumer;
    consumer.on('rtp', (packet: Buffer) => {
      const now = Date.now();
      // The channel may reuse its read buffer: keep a copy of each packet.
      this.#records.push({ arrivalUs: BigInt(now) * 1000n, packet: Buffer.from(packet) });
      if (this.#packets++ === 0) this.#firstPacketMs = now;
      this.#lastPacketMs = now;
      if (packet.length >= 4) {
        // Extended sequence number: forward steps within half the range count as progress.
        const seq = packet.readUInt16BE(2);
        if (this.#maxSeq < 0) this.#maxSeq = seq;
        else {
          const delta = (seq - (this.#maxSeq & 0xffff) + 0x10000) & 0xffff;
          if (delta > 0 && delta < 0x8000) this.#maxSeq += delta;
        }
      }
    });
    this.#timer = setInterval(() => void this.#scheduleFlush(), o.chunkMs);
    this.#timer.unref();
  }

  /** Starts consuming `producer` on `transport` for capture. */
  static async create(
    transport: ms.DirectTransport,
    producer: ms.Producer,
    rtpCapabilities: ms.RtpCapabilities,
    o: TrackCaptureOptions,
  ): Promise<TrackCapture> {
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: false });
    const capture = new TrackCapture(consumer, o);
    consumer.on('producerclose', () => void capture.close());
    if (consumer.kind === 'video') await consumer.requestKeyFrame();
    return capture;
  }

  #scheduleFlush(): Promise<void> {
    // A keyframe at every chunk boundary: a lost video packet freezes at most one chunk, and
    // each chunk's video can be decoded from its own start.
    if (this.#consumer.kind === 'video' && !this.#closed) this.#consumer.requestKeyFrame().catch(() => undefined);
    const records = this.#records;
    this.#records = [];
    if (records.length === 0) return this.#flushing;
    const seq = this.#seq++;
    this.#flushing = this.#flushing.then(() => this.#flush(seq, records));
    return this.#flushing;
  }

  async #flush(seq: number, records: RtpRecord[]): Promise<void> {
    const { orgId, sessionId, trackId, meta, key, store } = this.#o;
    const t0 = performance.now();
    const plaintext = encodeChunk(meta, records);
    const sealed = (this.#o.seal ?? sealChunk)(key, { organizationId: orgId, sessionId, trackId, seq }, plaintext);
    const sealMs = performance.now() - t0;
    const rec = chunkRecord({ orgId, sessionId, trackId, seq }, sealed, records);
    for (let attempt = 1; ; attempt++) {
      try {
        await store.putChunk(orgId, sessionId, sealed, rec);
        this.#lastChunkMs = Date.now();
        this.emit('chunk', sealed.length, sealMs);
        return;
      } catch (err) {
        if (attempt >= 3) {
          this.#lost++;
          this.emit('lost', err);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /**
   * Live health since the previous call (lib/signaling/messages.ts `trackHealth`): packets
   * per second, loss from RTP sequence gaps, seconds since the last stored chunk, seconds
   * captured, and `stalled` when no packet came for more than `stallMs` (default 2000).
   */
  stats(now = Date.now(), stallMs = 2000): TrackStats {
    const s = this.#sample;
    const seconds = Math.max(0.001, (now - s.at) / 1000);
    const received = this.#packets - s.packets;
    const expected = s.maxSeq < 0 ? received : this.#maxSeq - s.maxSeq;
    const lossPercent = expected > 0 ? Math.max(0, Math.min(100, (100 * (expected - received)) / expected)) : 0;
    this.#sample = { at: now, packets: this.#packets, maxSeq: this.#maxSeq };
    const since = this.#lastPacketMs || s.at;
    return {
      packetsPerSecond: Math.round((received / seconds) * 10) / 10,
      lossPercent: Math.round(lossPercent * 10) / 10,
      secondsSinceLastChunk: this.#lastChunkMs ? Math.round((now - this.#lastChunkMs) / 100) / 10 : null,
      secondsCaptured: this.#packets ? Math.round((this.#lastPacketMs - this.#firstPacketMs) / 100) / 10 : 0,
      stalled: !this.#closed && now - since > stallMs,
    };
  }

  /** Whether capture stopped (its producer closed, or the take ended). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The sequence number the next chunk would take (where a continued track goes on). */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Chunks that could not be stored. */
  get lostChunks(): number {
    return this.#lost;
  }

  /**
   * Stops consuming, writes what was gathered (no chunk is left half-written), and marks the
   * track ended. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return this.#flushing;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#consumer.close();
    await this.#scheduleFlush();
    const { orgId, sessionId, trackId, store } = this.#o;
    try {
      await store.closeTrack(orgId, sessionId, trackId, new Date(), this.#lost);
    } finally {
      this.emit('closed');
    }
  }
}
