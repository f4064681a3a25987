/**
 * One recording session live on this SFU: a mediasoup Router, its peers, and, while
 * recording, one TrackCapture per producer. Owned by MediaService; reports by events.
 * The session's plaintext data key lives here only while recording.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import { SignalError, type Peer } from './Peer.ts';
import { TrackCapture } from './capture/TrackCapture.ts';
import type { CaptureStore } from './capture/CaptureStore.ts';

export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
];

export interface RoomEvents {
  closed: [];
  chunk: [size: number, sealMs: number];
  lost: [error: unknown];
  track: [kind: 'audio' | 'video'];
  error: [error: unknown];
}

export interface RoomOptions {
  sessionId: string;
  orgId: string;
  worker: ms.Worker;
  webRtcServer: ms.WebRtcServer;
  store: CaptureStore;
  chunkMs: number;
}

interface Recording {
  takeId: string;
  seq: number;
  startedAt: Date;
  key: Buffer;
  transport: ms.DirectTransport;
  captures: Map<string, Promise<TrackCapture | undefined>>;
}

export class Room extends EventEmitter<RoomEvents> {
  readonly sessionId: string;
  readonly orgId: string;
  readonly worker: ms.Worker;
  readonly #router: ms.Router;
  readonly #o: RoomOptions;
  readonly #peers = new Map<string, Peer>();
  #recording: Recording | undefined;
  #recordingChange: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(router: ms.Router, o: RoomOptions) {
    super();
    this.sessionId = o.sessionId;
    this.orgId = o.orgId;
    this.worker = o.worker;
    this.#router = router;
    this.#o = o;
  }

  static async create(o: RoomOptions): Promise<Room> {
    const router = await o.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    return new Room(router, o);
  }

  get peerCount(): number {
    return this.#peers.size;
  }
  get recording(): boolean {
    return this.#recording !== undefined;
  }

  #broadcast(method: string, data: Record<string, unknown>, except?: Peer): void {
    for (const p of this.#peers.values()) if (p !== except) p.emit('notify', method, data);
  }

  /** Adds a peer (a second connection with the same participant replaces the first). */
  async join(peer: Peer): Promise<Record<string, unknown>> {
    if (this.#closed) throw new SignalError('session_closed', 'This session is not live.');
    const previous = this.#peers.get(peer.id);
    if (previous) this.removePeer(previous);
    this.#peers.set(peer.id, peer);
    this.#broadcast('peerJoined', { peer: peer.info() }, peer);
    await this.#o.store
      .presence(this.orgId, this.sessionId, peer.id, true)
      .catch((err: unknown) => this.emit('error', err));
    return {
      peerId: peer.id,
      role: peer.role,
      routerRtpCapabilities: this.#router.rtpCapabilities,
      peers: [...this.#peers.values()].filter((p) => p !== peer).map((p) => p.info()),
      recording: this.#recording
        ? { take: this.#recording.seq, startedAt: this.#recording.startedAt.toISOString() }
        : null,
    };
  }

  /** Removes a peer that left or disconnected. */
  removePeer(peer: Peer): void {
    if (this.#peers.get(peer.id) !== peer) return;
    this.#peers.delete(peer.id);
    peer.close();
    this.#broadcast('peerLeft', { peerId: peer.id });
    void this.#o.store
      .presence(this.orgId, this.sessionId, peer.id, false)
      .catch((err: unknown) => this.emit('error', err));
  }

  /** Handles one signalling request from `peer`. @throws SignalError */
  async handle(peer: Peer, method: string, data: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed || peer.closed) throw new SignalError('session_closed', 'This session is not live.');
    switch (method) {
      case 'setRtpCapabilities': {
        if (!this.#router.rtpCapabilities || typeof data.rtpCapabilities !== 'object' || data.rtpCapabilities === null)
          throw new SignalError('invalid_request', 'rtpCapabilities required');
        peer.rtpCapabilities = data.rtpCapabilities;
        return {};
      }
      case 'createTransport': {
        const direction = data.direction === 'send' ? 'send' : data.direction === 'recv' ? 'recv' : undefined;
        if (!direction) throw new SignalError('invalid_request', 'direction must be send or recv');
        if (peer.transports.size >= 4) throw new SignalError('too_many_transports', 'Too many transports.');
        const t = await this.#router.createWebRtcTransport({
          webRtcServer: this.#o.webRtcServer,
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          appData: { direction },
        });
        peer.transports.set(t.id, t);
        t.observer.on('close', () => peer.transports.delete(t.id));
        if (direction === 'recv') setImmediate(() => void this.#consumeAllFor(peer));
        return {
          id: t.id,
          iceParameters: t.iceParameters,
          iceCandidates: t.iceCandidates,
          dtlsParameters: t.dtlsParameters,
        };
      }
      case 'connectTransport': {
        await peer.transport(data.transportId).connect({ dtlsParameters: data.dtlsParameters as ms.DtlsParameters });
        return {};
      }
      case 'produce': {
        const kind = data.kind === 'audio' || data.kind === 'video' ? data.kind : undefined;
        if (!kind) throw new SignalError('invalid_request', 'kind must be audio or video');
        if (peer.producers.size >= 4) throw new SignalError('too_many_producers', 'Too many producers.');
        const producer = await peer
          .transport(data.transportId)
          .produce({ kind, rtpParameters: data.rtpParameters as ms.RtpParameters, appData: { peerId: peer.id } });
        peer.producers.set(producer.id, producer);
        producer.observer.on('close', () => peer.producers.delete(producer.id));
        for (const other of this.#peers.values()) if (other !== peer) void this.#consume(other, peer, producer);
        if (this.#recording) this.#startCapture(this.#recording, peer, producer);
        return { id: producer.id };
      }
      case 'resumeConsumer': {
        const c = typeof data.consumerId === 'string' ? peer.consumers.get(data.consumerId) : undefined;
        if (!c) throw new SignalError('unknown_consumer', 'No such consumer.');
        await c.resume();
        return {};
      }
      case 'startRecording':
        this.#requireHost(peer);
        await this.startRecording(peer);
        return { recording: true };
      case 'stopRecording':
        this.#requireHost(peer);
        await this.stopRecording(peer);
        return { recording: false };
      case 'endSession':
        this.#requireHost(peer);
        await this.end(peer);
        return { ended: true };
      default:
        throw new SignalError('unknown_method', 'Unknown method.');
    }
  }

  #requireHost(peer: Peer): void {
    if (peer.role !== 'host') throw new SignalError('host_only', 'Only the host can do that.');
  }

  async #consumeAllFor(peer: Peer): Promise<void> {
    for (const other of this.#peers.values()) {
      if (other === peer) continue;
      for (const producer of other.producers.values()) await this.#consume(peer, other, producer);
    }
  }

  async #consume(peer: Peer, owner: Peer, producer: ms.Producer): Promise<void> {
    const transport = peer.recvTransport();
    const caps = peer.rtpCapabilities;
    if (!transport || !caps || !this.#router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) return;
    try {
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
      peer.consumers.set(consumer.id, consumer);
      const closed = () => {
        if (peer.consumers.delete(consumer.id)) peer.emit('notify', 'consumerClosed', { consumerId: consumer.id });
      };
      consumer.on('producerclose', closed);
      consumer.on('transportclose', () => peer.consumers.delete(consumer.id));
      peer.emit('notify', 'newConsumer', {
        consumerId: consumer.id,
        producerId: producer.id,
        peerId: owner.id,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
      });
    } catch (err) {
      this.emit('error', err);
    }
  }

  /** Starts a take: unwraps the key, captures every current and future producer. */
  startRecording(by: Peer | null): Promise<void> {
    this.#recordingChange = this.#recordingChange.then(async () => {
      if (this.#recording || this.#closed) return;
      const startedAt = new Date();
      const key = await this.#o.store.sessionKey(this.orgId, this.sessionId);
      const { takeId, seq } = await this.#o.store.startTake(this.orgId, this.sessionId, by?.id ?? null, startedAt);
      const transport = await this.#router.createDirectTransport();
      const rec: Recording = { takeId, seq, startedAt, key, transport, captures: new Map() };
      this.#recording = rec;
      for (const p of this.#peers.values())
        for (const producer of p.producers.values()) this.#startCapture(rec, p, producer);
      this.#broadcast('recordingState', { recording: true, take: seq, startedAt: startedAt.toISOString() });
    });
    return this.#recordingChange;
  }

  #startCapture(rec: Recording, peer: Peer, producer: ms.Producer): void {
    const codec = producer.rtpParameters.codecs[0];
    if (!codec || rec.captures.has(producer.id)) return;
    const kind = producer.kind;
    const p = (async () => {
      const startedAt = new Date();
      // Capture consumes with the router's capabilities, so stored packets carry the router's
      // payload type for this codec, not the browser's: record that one everywhere.
      const routerCodec = this.#router.rtpCapabilities.codecs?.find(
        (c) => c.mimeType.toLowerCase() === codec.mimeType.toLowerCase(),
      );
      const payloadType = routerCodec?.preferredPayloadType ?? codec.payloadType;
      const trackId = await this.#o.store.openTrack(this.orgId, this.sessionId, {
        takeId: rec.takeId,
        participantId: peer.id,
        kind,
        mimeType: codec.mimeType.toLowerCase(),
        clockRate: codec.clockRate,
        payloadType,
        producerId: producer.id,
        startedAt,
      });
      const capture = await TrackCapture.create(rec.transport, producer, this.#router.rtpCapabilities, {
        orgId: this.orgId,
        sessionId: this.sessionId,
        trackId,
        meta: { kind, payloadType, clockRate: codec.clockRate, mimeType: codec.mimeType.toLowerCase() },
        key: rec.key,
        store: this.#o.store,
        chunkMs: this.#o.chunkMs,
      });
      capture.on('chunk', (size, ms_) => this.emit('chunk', size, ms_));
      capture.on('lost', (err) => this.emit('lost', err));
      this.emit('track', kind);
      return capture;
    })().catch((err: unknown) => {
      this.emit('error', err);
      return undefined;
    });
    rec.captures.set(producer.id, p);
  }

  /** Ends the take: every capture writes what it has, then the key is dropped from memory. */
  stopRecording(by: Peer | null): Promise<void> {
    this.#recordingChange = this.#recordingChange.then(async () => {
      const rec = this.#recording;
      if (!rec) return;
      this.#recording = undefined;
      const captures = await Promise.all(rec.captures.values());
      await Promise.all(
        captures.map((c) => (c ? c.close().catch((err: unknown) => this.emit('error', err)) : Promise.resolve())),
      );
      rec.transport.close();
      rec.key.fill(0);
      await this.#o.store.stopTake(this.orgId, this.sessionId, rec.takeId, by?.id ?? null, new Date());
      if (!this.#closed) this.#broadcast('recordingState', { recording: false, take: rec.seq });
    });
    return this.#recordingChange;
  }

  /** Host ends the session: recording stops, the session is marked ended, everyone leaves. */
  async end(by: Peer | null): Promise<void> {
    await this.stopRecording(by);
    await this.#o.store.endSession(this.orgId, this.sessionId, by?.id ?? null);
    this.#broadcast('sessionEnded', {});
    await this.close();
  }

  /**
   * Closes the room: stops capture (flushing what was gathered), closes peers and the
   * router. Safe to call twice. `abrupt` (the worker died) skips the flush.
   */
  async close(abrupt = false): Promise<void> {
    if (this.#closed) return;
    if (!abrupt) await this.stopRecording(null).catch((err: unknown) => this.emit('error', err));
    this.#closed = true;
    if (abrupt && this.#recording) this.#recording.key.fill(0);
    for (const p of this.#peers.values()) {
      if (abrupt) p.emit('notify', 'sessionInterrupted', {});
      p.close();
    }
    this.#peers.clear();
    if (!this.#router.closed) this.#router.close();
    this.emit('closed');
  }
}
