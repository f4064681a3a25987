/**
 * One take of a live room: the session key (in memory only while it records), a
 * DirectTransport, and one TrackCapture per producer. Owned by its Room; reports upward by
 * events. `stop()` writes what every capture gathered; `abort()` (the worker died) only
 * drops the key.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import type { RecordingState, TrackHealth } from '../../lib/signaling/messages.ts';
import { TrackCapture } from './TrackCapture.ts';
import type { CaptureStore } from './CaptureStore.ts';

export interface TakeEvents {
  chunk: [size: number, sealMs: number];
  lost: [error: unknown];
  track: [kind: 'audio' | 'video'];
  error: [error: unknown];
}

export interface TakeOptions {
  orgId: string;
  sessionId: string;
  router: ms.Router;
  store: CaptureStore;
  chunkMs: number;
}

/** Who a producer belongs to, as capture needs it. */
export interface ProducerOwner {
  id: string;
  displayName: string;
}

interface Entry {
  owner: ProducerOwner;
  kind: 'audio' | 'video';
  capture: Promise<TrackCapture | undefined>;
}

/** Where a participant's track goes on: a capture of this take, or a track an earlier node wrote. */
interface Continuable {
  readonly trackId: string;
  readonly nextSeq: number;
  close(): Promise<void>;
}

export class Take extends EventEmitter<TakeEvents> {
  readonly id: string;
  readonly seq: number;
  readonly startedAt: Date;
  readonly #o: TakeOptions;
  readonly #key: Buffer;
  readonly #transport: ms.DirectTransport;
  readonly #captures = new Map<string, Entry>();
  /** The latest capture of each participant's audio/video in this take (`peerId:kind`). */
  readonly #byOwner = new Map<string, Promise<Continuable | undefined>>();

  private constructor(
    o: TakeOptions,
    t: { id: string; seq: number; startedAt: Date; key: Buffer },
    transport: ms.DirectTransport,
  ) {
    super();
    this.#o = o;
    this.id = t.id;
    this.seq = t.seq;
    this.startedAt = t.startedAt;
    this.#key = t.key;
    this.#transport = transport;
  }

  /**
   * Unwraps the key and opens the take in Postgres.
   * @throws SessionUnavailableError when the session can no longer record.
   */
  static async start(o: TakeOptions, byParticipant: string | null): Promise<Take> {
    const startedAt = new Date();
    const key = await o.store.sessionKey(o.orgId, o.sessionId);
    try {
      const { takeId, seq } = await o.store.startTake(o.orgId, o.sessionId, byParticipant, startedAt);
      const transport = await o.router.createDirectTransport();
      return new Take(o, { id: takeId, seq, startedAt, key }, transport);
    } catch (err) {
      key.fill(0);
      throw err;
    }
  }

  /**
   * Goes on with the session's latest take (recording resumes on this node after a drain or
   * a failover): same take, and each participant's track continues where its last sealed
   * chunk left it. Starts a new take when the session has none.
   * @throws SessionUnavailableError when the session can no longer record.
   */
  static async continue(o: TakeOptions, byParticipant: string | null): Promise<Take> {
    const key = await o.store.sessionKey(o.orgId, o.sessionId);
    try {
      const latest = await o.store.continueTake(o.orgId, o.sessionId);
      if (!latest) {
        key.fill(0);
        return await Take.start(o, byParticipant);
      }
      const transport = await o.router.createDirectTransport();
      const take = new Take(o, { id: latest.takeId, seq: latest.seq, startedAt: latest.startedAt, key }, transport);
      for (const t of latest.tracks)
        take.#byOwner.set(
          `${t.participantId}:${t.kind}`,
          Promise.resolve({ trackId: t.trackId, nextSeq: t.nextSeq, close: () => Promise.resolve() }),
        );
      return take;
    } catch (err) {
      key.fill(0);
      throw err;
    }
  }

  /** The state participants see (indicator and timer). */
  state(now = Date.now()): RecordingState {
    return {
      recording: true,
      take: this.seq,
      startedAt: this.startedAt.toISOString(),
      elapsedMs: now - this.startedAt.getTime(),
    };
  }

  /** Starts capturing `producer` (once per producer). */
  capture(owner: ProducerOwner, producer: ms.Producer): void {
    const codec = producer.rtpParameters.codecs[0];
    if (!codec || this.#captures.has(producer.id)) return;
    const { orgId, sessionId, router, store, chunkMs } = this.#o;
    const kind = producer.kind;
    const ownerKey = `${owner.id}:${kind}`;
    const previous = this.#byOwner.get(ownerKey);
    const p = (async () => {
      // The same participant again in this take (a reload, a dropped network): the track goes
      // on, its chunks continue the sequence, and the gap between stays a gap.
      const before = await previous;
      let trackId: string;
      let firstSeq = 0;
      if (before) {
        await before.close();
        trackId = before.trackId;
        firstSeq = before.nextSeq;
        await store.resumeTrack(orgId, sessionId, trackId, producer.id);
      } else {
        trackId = await this.#openTrack(owner, producer);
      }
      const capture = await TrackCapture.create(this.#transport, producer, router.rtpCapabilities, {
        orgId,
        sessionId,
        trackId,
        meta: {
          kind,
          payloadType: this.#payloadType(codec),
          clockRate: codec.clockRate,
          mimeType: codec.mimeType.toLowerCase(),
        },
        key: this.#key,
        store,
        chunkMs,
        firstSeq,
      });
      capture.on('chunk', (size, ms_) => this.emit('chunk', size, ms_));
      capture.on('lost', (err) => this.emit('lost', err));
      this.emit('track', kind);
      return capture;
    })().catch((err: unknown) => {
      this.emit('error', err);
      return undefined;
    });
    this.#captures.set(producer.id, { owner, kind, capture: p });
    this.#byOwner.set(ownerKey, p);
  }

  /**
   * Capture consumes with the router's capabilities, so stored packets carry the router's
   * payload type for this codec, not the browser's: record that one everywhere.
   */
  #payloadType(codec: ms.RtpCodecParameters): number {
    const routerCodec = this.#o.router.rtpCapabilities.codecs?.find(
      (c) => c.mimeType.toLowerCase() === codec.mimeType.toLowerCase(),
    );
    return routerCodec?.preferredPayloadType ?? codec.payloadType;
  }

  async #openTrack(owner: ProducerOwner, producer: ms.Producer): Promise<string> {
    const codec = producer.rtpParameters.codecs[0]!;
    const { orgId, sessionId, store } = this.#o;
    return store.openTrack(orgId, sessionId, {
      takeId: this.id,
      participantId: owner.id,
      kind: producer.kind,
      mimeType: codec.mimeType.toLowerCase(),
      clockRate: codec.clockRate,
      payloadType: this.#payloadType(codec),
      producerId: producer.id,
      startedAt: new Date(),
    });
  }

  /** Live health of every track captured so far (lib/signaling `trackHealth`). */
  async health(now = Date.now()): Promise<TrackHealth[]> {
    const out: TrackHealth[] = [];
    for (const e of this.#captures.values()) {
      const c = await e.capture;
      if (!c || c.closed) continue;
      out.push({
        trackId: c.trackId,
        peerId: e.owner.id,
        displayName: e.owner.displayName,
        kind: e.kind,
        ...c.stats(now),
      });
    }
    return out;
  }

  /** Ends the take: every capture writes what it has, then the key is dropped from memory. */
  async stop(byParticipant: string | null): Promise<void> {
    const captures = await Promise.all([...this.#captures.values()].map((e) => e.capture));
    await Promise.all(
      captures.map((c) => (c ? c.close().catch((err: unknown) => this.emit('error', err)) : Promise.resolve())),
    );
    this.#transport.close();
    this.#key.fill(0);
    await this.#o.store.stopTake(this.#o.orgId, this.#o.sessionId, this.id, byParticipant, new Date());
  }

  /** The worker died: nothing more can be written; drop the key. */
  abort(): void {
    this.#key.fill(0);
  }
}
