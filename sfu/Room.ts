/**
 * One recording session live on this SFU: a mediasoup Router, its peers, and, while
 * recording, a Take (sfu/capture/Take.ts). Owned by MediaService; reports by events.
 * Requests arrive already validated against lib/signaling/messages.ts.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import {
  CLOSE_CODES,
  type JoinAnswer,
  type NotificationData,
  type NotificationName,
  type RecordingState,
  type SignalRequest,
} from '../lib/signaling/messages.ts';
import { SignalError, type Peer } from './Peer.ts';
import { Take } from './capture/Take.ts';
import type { CaptureStore } from './capture/CaptureStore.ts';
import { AudioLevels } from './AudioLevels.ts';

export const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
];

/** How often hosts get `trackHealth` while recording. */
const HEALTH_INTERVAL_MS = 1000;

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
  /**
   * A crash, a drain or a failover interrupted this session's recording: it goes on in the
   * same take when the host joins.
   */
  resumeOnHost?: boolean;
}

export class Room extends EventEmitter<RoomEvents> {
  readonly sessionId: string;
  readonly orgId: string;
  readonly worker: ms.Worker;
  readonly #router: ms.Router;
  readonly #o: RoomOptions;
  readonly #peers = new Map<string, Peer>();
  /** Participants the host removed: they cannot join this room again. */
  readonly #removed = new Set<string>();
  readonly #levels: AudioLevels;
  #take: Take | undefined;
  #lastTakeSeq: number | null = null;
  #healthTimer: NodeJS.Timeout | undefined;
  #recordingChange: Promise<void> = Promise.resolve();
  #closed = false;
  #resumeOnHost: boolean;

  private constructor(router: ms.Router, levels: AudioLevels, o: RoomOptions) {
    super();
    this.sessionId = o.sessionId;
    this.orgId = o.orgId;
    this.worker = o.worker;
    this.#router = router;
    this.#levels = levels;
    this.#o = o;
    this.#resumeOnHost = o.resumeOnHost ?? false;
    levels.on('levels', (levels_) => this.#broadcast('audioLevels', { levels: levels_ }));
  }

  /** Creates the room's router on `o.worker`. */
  static async create(o: RoomOptions): Promise<Room> {
    const router = await o.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    return new Room(router, await AudioLevels.create(router), o);
  }

  get peerCount(): number {
    return this.#peers.size;
  }
  get recording(): boolean {
    return this.#take !== undefined;
  }
  /** Tracks (producers) live in this room now: what the fleet counts against a node's capacity. */
  get trackCount(): number {
    let n = 0;
    for (const p of this.#peers.values()) n += p.producers.size;
    return n;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** What every participant sees: the recording indicator and timer. */
  recordingState(): RecordingState {
    return this.#take?.state() ?? { recording: false, take: this.#lastTakeSeq, startedAt: null, elapsedMs: 0 };
  }

  #broadcast<N extends NotificationName>(name: N, data: NotificationData<N>, except?: Peer): void {
    for (const p of this.#peers.values()) if (p !== except) p.notify(name, data);
  }

  /**
   * Adds a peer. A second connection of the same participant (a reload, a reconnect)
   * replaces the first: same participant, no duplicate. @throws SignalError `removed`.
   */
  async join(peer: Peer): Promise<JoinAnswer> {
    if (this.#closed) throw new SignalError('session_closed', 'This session is not live.');
    if (this.#removed.has(peer.id)) throw new SignalError('removed', 'The host removed you from this session.');
    const previous = this.#peers.get(peer.id);
    if (previous) this.#drop(previous, CLOSE_CODES.replaced, 'replaced', false);
    this.#peers.set(peer.id, peer);
    this.#broadcast('peerJoined', { peer: peer.info() }, peer);
    await this.#o.store
      .presence(this.orgId, this.sessionId, peer.id, true)
      .catch((err: unknown) => this.emit('error', err));
    if (this.#resumeOnHost && peer.role === 'host') {
      // The recording a crash cut short goes on, in a new take, once the host is back.
      this.#resumeOnHost = false;
      // Same take, same tracks: the time away is a gap on its timeline.
      setImmediate(() => void this.startRecording(peer, true).catch((err: unknown) => this.emit('error', err)));
    }
    return {
      peerId: peer.id,
      role: peer.role,
      routerRtpCapabilities: this.#router.rtpCapabilities,
      peers: [...this.#peers.values()].filter((p) => p !== peer).map((p) => p.info()),
      recording: this.recordingState(),
    };
  }

  /** Removes a peer that left or disconnected. */
  removePeer(peer: Peer): void {
    this.#drop(peer, 1000, 'left', true);
  }

  #drop(peer: Peer, code: number, reason: string, recordLeft: boolean): void {
    if (this.#peers.get(peer.id) !== peer) return;
    this.#peers.delete(peer.id);
    peer.close(code, reason);
    this.#broadcast('peerLeft', { peerId: peer.id });
    if (recordLeft)
      void this.#o.store
        .presence(this.orgId, this.sessionId, peer.id, false)
        .catch((err: unknown) => this.emit('error', err));
  }

  /** Handles one validated signalling request from `peer`. @throws SignalError */
  async handle(peer: Peer, req: SignalRequest): Promise<Record<string, unknown>> {
    if (this.#closed || peer.closed) throw new SignalError('session_closed', 'This session is not live.');
    switch (req.method) {
      case 'join':
        throw new SignalError('already_joined', 'Already joined.');
      case 'setRtpCapabilities':
        peer.rtpCapabilities = req.data.rtpCapabilities;
        return {};
      case 'createTransport': {
        const direction = req.data.direction;
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
      case 'connectTransport':
        await peer
          .transport(req.data.transportId)
          .connect({ dtlsParameters: req.data.dtlsParameters as unknown as ms.DtlsParameters });
        return {};
      case 'produce': {
        if (!peer.consented) throw new SignalError('consent_required', 'Consent is required before recording.');
        if (peer.producers.size >= 4) throw new SignalError('too_many_producers', 'Too many producers.');
        const producer = await peer.transport(req.data.transportId).produce({
          kind: req.data.kind,
          rtpParameters: req.data.rtpParameters as unknown as ms.RtpParameters,
          appData: { peerId: peer.id },
        });
        peer.producers.set(producer.id, producer);
        producer.observer.on('close', () => peer.producers.delete(producer.id));
        if (producer.kind === 'audio') this.#levels.add(producer, peer.id);
        for (const other of this.#peers.values()) if (other !== peer) void this.#consume(other, peer, producer);
        this.#take?.capture(peer, producer);
        return { id: producer.id };
      }
      case 'resumeConsumer': {
        const c = peer.consumers.get(req.data.consumerId);
        if (!c) throw new SignalError('unknown_consumer', 'No such consumer.');
        await c.resume();
        return {};
      }
      case 'setProducerPaused': {
        const p = peer.producers.get(req.data.producerId);
        if (!p) throw new SignalError('unknown_producer', 'No such producer.');
        await (req.data.paused ? p.pause() : p.resume());
        this.#broadcast('producerPaused', { peerId: peer.id, producerId: p.id, paused: req.data.paused }, peer);
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
        await this.end(peer, 'host');
        return { ended: true };
      case 'removePeer': {
        this.#requireHost(peer);
        const target = this.#peers.get(req.data.peerId);
        if (!target || target === peer) throw new SignalError('unknown_peer', 'No such participant in the room.');
        this.#removed.add(target.id);
        target.notify('removed', {});
        this.#drop(target, CLOSE_CODES.removed, 'removed by host', true);
        return {};
      }
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
        if (peer.consumers.delete(consumer.id)) peer.notify('consumerClosed', { consumerId: consumer.id });
      };
      consumer.on('producerclose', closed);
      consumer.on('transportclose', () => peer.consumers.delete(consumer.id));
      peer.notify('newConsumer', {
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

  /**
   * Starts a take: unwraps the key, captures every current and future producer.
   * `continueLatest`: goes on with the session's latest take instead (recording resumes here
   * after a crash, a drain or a failover).
   */
  startRecording(by: Peer | null, continueLatest = false): Promise<void> {
    this.#recordingChange = this.#recordingChange.then(async () => {
      if (this.#take || this.#closed) return;
      const o = {
        orgId: this.orgId,
        sessionId: this.sessionId,
        router: this.#router,
        store: this.#o.store,
        chunkMs: this.#o.chunkMs,
      };
      const take = await (continueLatest ? Take.continue(o, by?.id ?? null) : Take.start(o, by?.id ?? null));
      take.on('chunk', (size, ms_) => this.emit('chunk', size, ms_));
      take.on('lost', (err) => this.emit('lost', err));
      take.on('track', (kind) => this.emit('track', kind));
      take.on('error', (err) => this.emit('error', err));
      this.#take = take;
      this.#lastTakeSeq = take.seq;
      for (const p of this.#peers.values()) for (const producer of p.producers.values()) take.capture(p, producer);
      this.#healthTimer = setInterval(() => void this.#pushHealth(), HEALTH_INTERVAL_MS);
      this.#healthTimer.unref();
      this.#broadcast('recordingState', take.state());
    });
    return this.#recordingChange;
  }

  async #pushHealth(): Promise<void> {
    const tracks = (await this.#take?.health()) ?? [];
    for (const p of this.#peers.values()) if (p.role === 'host') p.notify('trackHealth', { tracks });
  }

  /** Ends the take: every capture writes what it has, then the key is dropped from memory. */
  stopRecording(by: Peer | null): Promise<void> {
    this.#recordingChange = this.#recordingChange.then(async () => {
      const take = this.#take;
      if (!take) return;
      this.#take = undefined;
      clearInterval(this.#healthTimer);
      await take.stop(by?.id ?? null);
      if (!this.#closed) this.#broadcast('recordingState', this.recordingState());
    });
    return this.#recordingChange;
  }

  /**
   * Ends the session (the host in the room, or the session page through the API): recording
   * stops, the session is marked ended, everyone is told and closed with 4000.
   */
  async end(by: Peer | null, via: 'host' | 'api'): Promise<void> {
    await this.stopRecording(by);
    await this.#o.store.endSession(this.orgId, this.sessionId, by?.id ?? null);
    this.#broadcast('sessionEnded', { by: via });
    await this.close(false, CLOSE_CODES.sessionEnded);
  }

  /**
   * Moves the session off this node (draining, or it was placed elsewhere): the take stops
   * and writes what it has (no chunk half-written), `release` hands the session back to the
   * fleet (told whether it was recording, so that recording resumes on the next node), then
   * everyone is told to reconnect (4003), which the API answers with the new node.
   */
  async moveAway(release?: (wasRecording: boolean) => Promise<void>): Promise<void> {
    if (this.#closed) return;
    const wasRecording = this.recording;
    await this.stopRecording(null).catch((err: unknown) => this.emit('error', err));
    await release?.(wasRecording);
    this.#broadcast('moved', {});
    await this.close(false, CLOSE_CODES.moved);
  }

  /**
   * Closes the room: stops capture (flushing what was gathered), closes peers and the
   * router. Safe to call twice. `abrupt` (the worker died) skips the flush.
   */
  async close(abrupt = false, code = 1001): Promise<void> {
    if (this.#closed) return;
    if (!abrupt) await this.stopRecording(null).catch((err: unknown) => this.emit('error', err));
    this.#closed = true;
    clearInterval(this.#healthTimer);
    if (abrupt) this.#take?.abort();
    for (const p of this.#peers.values()) {
      if (abrupt) p.notify('sessionInterrupted', {});
      p.close(
        code,
        code === CLOSE_CODES.sessionEnded ? 'session ended' : code === CLOSE_CODES.moved ? 'moved' : 'room closed',
      );
    }
    this.#peers.clear();
    if (!this.#router.closed) this.#router.close();
    this.emit('closed');
  }
}
