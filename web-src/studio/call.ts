/**
 * Being in the room: the mediasoup-client Device, one send and one receive transport over
 * the signalling socket, our microphone and camera produced, everyone else consumed. After a
 * drop (network, reload of the SFU) it reconnects by itself with backoff and rejoins as the
 * same participant; the room's UI renders {@link CallSnapshot}s.
 */
import { Device, type types } from 'mediasoup-client';
import type { NotificationData, NotificationName, PeerInfo, TrackHealth } from '../../lib/signaling/messages.ts';
import { ApiError } from '../ui/api.ts';
import { looseRecordingState, Signaling, SignalError, signalingUrl } from './signaling.ts';

/** What the join routes answer. */
export interface JoinInfo {
  token: string;
  sfu_url?: string | null;
  participant_id?: string;
  title?: string;
  role?: 'host' | 'guest';
  rejoin?: string;
  display_name?: string;
}

/** Connection quality as the receiving side measures it. */
export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

/** Someone else in the room, with the media we receive from them. */
export interface RemotePeer {
  info: PeerInfo;
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
  micMuted: boolean;
  cameraOff: boolean;
  quality: Quality;
}

/** Where the call is. */
export type Phase = 'connecting' | 'joined' | 'reconnecting' | 'ended' | 'removed' | 'replaced' | 'left' | 'failed';

/** Everything the room shows, at one moment. */
export interface CallSnapshot {
  phase: Phase;
  /** What to tell the user about the phase (ended by whom, reconnecting, …). */
  message: string | null;
  peerId: string | null;
  role: 'host' | 'guest';
  title: string;
  peers: RemotePeer[];
  recording: boolean;
  take: number | null;
  /** Date.now() at which the current take started, by our clock (from the SFU's elapsedMs). */
  recordingSince: number | null;
  health: TrackHealth[];
  micMuted: boolean;
  cameraOff: boolean;
  selfQuality: Quality;
}

/** Gets a join token: the first time, and again for each reconnect (same participant). */
export type JoinInfoSource = () => Promise<JoinInfo>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A live call. */
export class Call {
  readonly #stream: MediaStream;
  readonly #getJoinInfo: JoinInfoSource;
  readonly #listeners = new Set<(s: CallSnapshot) => void>();
  #sig: Signaling | null = null;
  #send: types.Transport | null = null;
  #recv: types.Transport | null = null;
  readonly #producers = new Map<'audio' | 'video', types.Producer>();
  readonly #consumers = new Map<string, { consumer: types.Consumer; peerId: string }>();
  readonly #lost = new Map<string, { lost: number; received: number }>();
  #peers = new Map<string, RemotePeer>();
  #stats: number | undefined;
  #interrupted = false;
  /** The last recording state pushed since the current join's answer. */
  #recordingNews: NotificationData<'recordingState'> | undefined;
  #state: CallSnapshot;

  constructor(stream: MediaStream, getJoinInfo: JoinInfoSource, role: 'host' | 'guest') {
    this.#stream = stream;
    this.#getJoinInfo = getJoinInfo;
    this.#state = {
      phase: 'connecting',
      message: null,
      peerId: null,
      role,
      title: '',
      peers: [],
      recording: false,
      take: null,
      recordingSince: null,
      health: [],
      micMuted: false,
      cameraOff: stream.getVideoTracks().length === 0,
      selfQuality: 'unknown',
    };
  }

  /** The current snapshot. */
  get snapshot(): CallSnapshot {
    return this.#state;
  }

  /** Calls `fn` with every new snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: CallSnapshot) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #set(patch: Partial<CallSnapshot>): void {
    this.#state = { ...this.#state, ...patch, peers: [...this.#peers.values()] };
    for (const fn of this.#listeners) fn(this.#state);
  }

  /**
   * Joins for the first time.
   * @throws ApiError from the join route, SignalError from the SFU (`unreachable` when the
   * media server cannot be reached).
   */
  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch (err) {
      // The session moves between nodes right now (one draining): ask again in a moment.
      const code = err instanceof SignalError || err instanceof ApiError ? err.code : undefined;
      if (code !== 'session_moved' && code !== 'session_moving') throw err;
      await sleep(1000);
      await this.#connect();
    }
    this.#stats = window.setInterval(() => void this.#measure(), 2000);
  }

  async #connect(): Promise<void> {
    const info = await this.#getJoinInfo();
    const sig = await Signaling.connect(signalingUrl(info.sfu_url));
    this.#teardownMedia();
    this.#sig = sig;
    sig.onNotification = (name, data) => void this.#onNotification(name, data).catch(() => undefined);
    sig.onClose = (code) => this.#onClose(sig, code);
    const joined = await sig.request('join', { token: info.token });
    const role = joined.role === 'host' ? 'host' : 'guest';
    this.#peers = new Map();
    for (const p of Array.isArray(joined.peers) ? (joined.peers as PeerInfo[]) : []) this.#addPeer(p);
    this.#recordingNews = undefined;
    const joinedRec = looseRecordingState({
      recording: joined.recording ?? false,
      ...(typeof joined.recording === 'object' && joined.recording !== null ? joined.recording : {}),
    });
    const device = new Device();
    await device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
    await sig.request('setRtpCapabilities', {
      rtpCapabilities: device.rtpCapabilities,
    });
    this.#send = device.createSendTransport(
      (await sig.request('createTransport', { direction: 'send' })) as types.TransportOptions,
    );
    const send = this.#send;
    send.on('connect', ({ dtlsParameters }, ok, fail) => {
      sig
        .request('connectTransport', { transportId: send.id, dtlsParameters: { ...dtlsParameters } })
        .then(() => ok(), fail);
    });
    send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
      sig
        .request('produce', { transportId: send.id, kind, rtpParameters: { ...rtpParameters } })
        .then((r) => ok({ id: String(r.id) }), fail);
    });
    this.#recv = device.createRecvTransport(
      (await sig.request('createTransport', { direction: 'recv' })) as types.TransportOptions,
    );
    const recv = this.#recv;
    recv.on('connect', ({ dtlsParameters }, ok, fail) => {
      sig
        .request('connectTransport', { transportId: recv.id, dtlsParameters: { ...dtlsParameters } })
        .then(() => ok(), fail);
    });
    for (const track of this.#stream.getTracks()) {
      const kind = track.kind === 'video' ? 'video' : 'audio';
      const producer = await send.produce({
        track,
        // The track outlives this transport: a reconnect (another node) produces it again.
        stopTracks: false,
        ...(kind === 'audio' ? { codecOptions: { opusStereo: false, opusDtx: false } } : {}),
      });
      this.#producers.set(kind, producer);
      const off = kind === 'audio' ? this.#state.micMuted : this.#state.cameraOff;
      if (off) await this.#pause(kind, true);
    }
    // Recording may have started (resumed, on a new node) while we were setting up: the
    // newest state wins over the join answer's.
    const rec = this.#recordingNews ?? joinedRec;
    this.#set({
      phase: 'joined',
      message: null,
      peerId: typeof joined.peerId === 'string' ? joined.peerId : null,
      role,
      title: info.title ?? this.#state.title,
      recording: rec.recording,
      take: rec.take,
      recordingSince: rec.recording ? Date.now() - rec.elapsedMs : null,
    });
  }

  #teardownMedia(): void {
    for (const { consumer } of this.#consumers.values()) consumer.close();
    this.#consumers.clear();
    this.#producers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#send = this.#recv = null;
  }

  #onClose(sig: Signaling, code: number): void {
    if (sig !== this.#sig) return;
    const phase = this.#state.phase;
    if (phase === 'ended' || phase === 'left' || phase === 'removed' || phase === 'failed') return;
    if (code === 4000) return this.#finish('ended', this.#endedText('host'));
    if (code === 4001) return this.#finish('removed', 'The host removed you from the session.');
    if (code === 4002) return this.#finish('replaced', 'You joined this session from another tab or device.');
    // Moved (4003): the session went to another media server, so at once; a dropped
    // connection (the server may have died; the API then places us elsewhere) almost at once.
    if (phase === 'joined' || phase === 'reconnecting') void this.#reconnect(code === 4003 ? 0 : 300);
  }

  async #reconnect(firstDelayMs = 1000): Promise<void> {
    if (this.#state.phase === 'reconnecting' && this.#sig?.open) return;
    this.#peers = new Map();
    this.#set({
      phase: 'reconnecting',
      message: this.#state.message?.startsWith('Moving') ? this.#state.message : 'Connection lost. Reconnecting…',
      health: [],
    });
    let delay = firstDelayMs;
    for (;;) {
      await sleep(delay);
      if (this.#state.phase !== 'reconnecting') return;
      try {
        await this.#connect();
        return;
      } catch (err) {
        const code = err instanceof ApiError || err instanceof SignalError ? err.code : undefined;
        if (code === 'removed') return this.#finish('removed', 'The host removed you from the session.');
        if (code === 'session_ended' || code === 'session_closed' || code === 'session_not_found')
          return this.#finish(
            'ended',
            this.#interrupted
              ? 'The session was interrupted: the media server stopped. What was recorded until then is kept.'
              : 'This session has ended.',
          );
        // Sent to a server the session just left: the next answer of the API names the new one.
        delay =
          code === 'session_moved' || code === 'session_moving' ? 300 : Math.min(Math.max(delay * 2, 1000), 10_000);
      }
    }
  }

  #endedText(by: 'host' | 'api'): string {
    if (this.#state.role === 'host') return 'You ended the session. The recording is on the session page.';
    return by === 'api' ? 'The session was ended. Thank you!' : 'The host ended the session. Thank you!';
  }

  #finish(phase: Phase, message: string): void {
    window.clearInterval(this.#stats);
    const sig = this.#sig;
    this.#sig = null;
    sig?.close();
    this.#teardownMedia();
    this.#peers = new Map();
    for (const t of this.#stream.getTracks()) t.stop();
    this.#set({ phase, message, recording: false, recordingSince: null, health: [] });
  }

  #addPeer(info: PeerInfo): void {
    const old = this.#peers.get(info.id);
    this.#peers.set(info.id, {
      info,
      audio: old?.audio ?? null,
      video: old?.video ?? null,
      micMuted: old?.micMuted ?? false,
      cameraOff: old?.cameraOff ?? false,
      quality: old?.quality ?? 'unknown',
    });
  }

  #updatePeer(id: string, patch: Partial<RemotePeer>): void {
    const p = this.#peers.get(id);
    if (p) this.#peers.set(id, { ...p, ...patch });
  }

  async #onNotification<N extends NotificationName>(name: N, raw: NotificationData<N>): Promise<void> {
    const n = { name, data: raw } as {
      [K in NotificationName]: { name: K; data: NotificationData<K> };
    }[NotificationName];
    switch (n.name) {
      case 'peerJoined':
        this.#addPeer(n.data.peer);
        this.#set({});
        break;
      case 'peerLeft':
        this.#peers.delete(n.data.peerId);
        this.#set({});
        break;
      case 'recordingState':
        this.#recordingNews = n.data;
        this.#set({
          recording: n.data.recording,
          take: n.data.take,
          recordingSince: n.data.recording ? Date.now() - n.data.elapsedMs : null,
          health: n.data.recording ? this.#state.health : [],
        });
        break;
      case 'sessionEnded':
        this.#finish('ended', this.#endedText(n.data.by));
        break;
      case 'removed':
        this.#finish('removed', 'The host removed you from the session.');
        break;
      case 'sessionInterrupted':
        // The media worker died: the socket closes, and we reconnect from #onClose.
        this.#interrupted = true;
        this.#set({ message: 'The media server restarted. Reconnecting…' });
        break;
      case 'moved':
        // This media server is draining: the socket closes (4003) and we join the next one.
        this.#set({ message: 'Moving to another media server…' });
        break;
      case 'trackHealth':
        this.#set({ health: n.data.tracks });
        break;
      case 'producerPaused': {
        const kind = [...this.#consumers.values()].find((c) => c.consumer.producerId === n.data.producerId)?.consumer
          .kind;
        if (kind === 'audio') this.#updatePeer(n.data.peerId, { micMuted: n.data.paused });
        if (kind === 'video') this.#updatePeer(n.data.peerId, { cameraOff: n.data.paused });
        this.#set({});
        break;
      }
      case 'newConsumer': {
        const recv = this.#recv;
        const sig = this.#sig;
        if (!recv || !sig) return;
        const consumer = await recv.consume({
          id: n.data.consumerId,
          producerId: n.data.producerId,
          kind: n.data.kind,
          rtpParameters: n.data.rtpParameters as types.RtpParameters,
        });
        this.#consumers.set(consumer.id, { consumer, peerId: n.data.peerId });
        this.#updatePeer(
          n.data.peerId,
          n.data.kind === 'audio' ? { audio: consumer.track } : { video: consumer.track },
        );
        this.#set({});
        await sig.request('resumeConsumer', { consumerId: consumer.id });
        break;
      }
      case 'consumerClosed': {
        const c = this.#consumers.get(n.data.consumerId);
        if (!c) return;
        this.#consumers.delete(n.data.consumerId);
        c.consumer.close();
        this.#updatePeer(c.peerId, c.consumer.kind === 'audio' ? { audio: null } : { video: null });
        this.#set({});
        break;
      }
      case 'audioLevels':
        // Speaking is measured from the audio we receive (see room/Tile); nothing to keep.
        break;
    }
  }

  /** Measures each peer's connection from what we receive, and ours from what we send. */
  async #measure(): Promise<void> {
    const worst = new Map<string, Quality>();
    const rank: Record<Quality, number> = { unknown: 0, good: 1, fair: 2, poor: 3 };
    for (const [id, { consumer, peerId }] of this.#consumers) {
      if (consumer.kind !== 'audio') continue;
      const stats = await consumer.getStats().catch(() => undefined);
      stats?.forEach((r: { type?: string; packetsLost?: number; packetsReceived?: number; jitter?: number }) => {
        if (r.type !== 'inbound-rtp') return;
        const before = this.#lost.get(id) ?? { lost: 0, received: 0 };
        const lost = (r.packetsLost ?? 0) - before.lost;
        const received = (r.packetsReceived ?? 0) - before.received;
        this.#lost.set(id, { lost: r.packetsLost ?? 0, received: r.packetsReceived ?? 0 });
        const loss = received + lost > 0 ? lost / (received + lost) : 0;
        const q: Quality =
          received === 0 ? 'poor' : loss > 0.05 || (r.jitter ?? 0) > 0.05 ? 'poor' : loss > 0.01 ? 'fair' : 'good';
        if (rank[q] > rank[worst.get(peerId) ?? 'unknown']) worst.set(peerId, q);
      });
    }
    for (const [peerId, q] of worst) this.#updatePeer(peerId, { quality: q });
    let self: Quality = 'unknown';
    const sendStats = await this.#send?.getStats().catch(() => undefined);
    sendStats?.forEach((r: { type?: string; kind?: string; roundTripTime?: number; fractionLost?: number }) => {
      if (r.type !== 'remote-inbound-rtp' || r.kind !== 'audio') return;
      const rtt = r.roundTripTime ?? 0;
      const loss = r.fractionLost ?? 0;
      self = loss > 0.05 || rtt > 0.5 ? 'poor' : loss > 0.01 || rtt > 0.25 ? 'fair' : 'good';
    });
    if (this.#state.phase === 'joined') this.#set({ selfQuality: self });
  }

  async #pause(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    const p = this.#producers.get(kind);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    // Tells the others (their tiles show it); an SFU without this request simply refuses it.
    await this.#sig?.request('setProducerPaused', { producerId: p.id, paused }).catch(() => undefined);
  }

  /** Mutes or unmutes our microphone for everyone (and the recording). */
  async setMicMuted(muted: boolean): Promise<void> {
    this.#set({ micMuted: muted });
    await this.#pause('audio', muted);
  }

  /** Turns our camera off or on. */
  async setCameraOff(off: boolean): Promise<void> {
    this.#set({ cameraOff: off });
    await this.#pause('video', off);
  }

  /**
   * Sends a host request.
   * @throws SignalError when the SFU refuses it or the connection is down.
   */
  async host(method: 'startRecording' | 'stopRecording' | 'endSession'): Promise<void> {
    if (!this.#sig) throw new SignalError('disconnected', 'Not connected to the media server.');
    await this.#sig.request(method, {});
    if (method === 'endSession') this.#finish('ended', this.#endedText('host'));
  }

  /** The host removes a participant. @throws SignalError */
  async remove(peerId: string): Promise<void> {
    if (!this.#sig) throw new SignalError('disconnected', 'Not connected to the media server.');
    await this.#sig.request('removePeer', { peerId });
  }

  /** Leaves the room (no reconnect). */
  leave(): void {
    this.#finish('left', 'You left the session.');
  }
}
