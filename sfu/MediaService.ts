/**
 * The SFU's root: one mediasoup Worker per core, each with a WebRtcServer (one UDP and one
 * TCP port per worker), and the live rooms. Rooms are placed on the least-loaded worker;
 * get-or-create is serialised per session so two joins cannot race into two rooms. A dead
 * worker is handled explicitly: its rooms are closed (peers told), and it is replaced.
 */
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { Room } from './Room.ts';
import type { CaptureStore } from './capture/CaptureStore.ts';

export interface MediaServiceOptions {
  workers: number;
  workerBin: string | undefined;
  listenIp: string;
  announcedAddress: string | undefined;
  rtcPortBase: number;
  chunkMs: number;
  store: CaptureStore;
  logLevel?: ms.WorkerLogLevel;
  /**
   * Asked when a session's room opens on this node: whether its recording was interrupted
   * elsewhere (a node went away or drained) and resumes when the host joins here.
   */
  claimResume?: (sessionId: string, orgId: string) => Promise<boolean>;
}

export interface MediaServiceEvents {
  workerDied: [index: number];
  roomOpened: [room: Room];
  roomClosed: [room: Room];
}

interface WorkerSlot {
  index: number;
  worker: ms.Worker;
  server: ms.WebRtcServer;
  rooms: number;
}

export class MediaService extends EventEmitter<MediaServiceEvents> {
  readonly #o: MediaServiceOptions;
  readonly #slots: WorkerSlot[] = [];
  readonly #rooms = new Map<string, Promise<Room>>();
  /** The rooms that opened, by session: what the heartbeat reports. */
  readonly #open = new Map<string, Room>();
  #closed = false;

  private constructor(o: MediaServiceOptions) {
    super();
    this.#o = o;
  }

  /** Starts the workers. @throws when a worker cannot start (binary missing, ports taken). */
  static async create(o: MediaServiceOptions): Promise<MediaService> {
    const svc = new MediaService(o);
    try {
      for (let i = 0; i < o.workers; i++) svc.#slots.push(await svc.#startWorker(i));
    } catch (err) {
      await svc.close();
      throw err;
    }
    return svc;
  }

  async #startWorker(index: number): Promise<WorkerSlot> {
    const worker = await mediasoup.createWorker({
      logLevel: this.#o.logLevel ?? 'warn',
      ...(this.#o.workerBin ? { workerBin: this.#o.workerBin } : {}),
    });
    const port = this.#o.rtcPortBase === 0 ? 0 : this.#o.rtcPortBase + index;
    const listen = (protocol: 'udp' | 'tcp') => ({
      protocol,
      ip: this.#o.listenIp,
      ...(this.#o.announcedAddress ? { announcedAddress: this.#o.announcedAddress } : {}),
      ...(port ? { port } : {}),
    });
    const server = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
    const slot: WorkerSlot = { index, worker, server, rooms: 0 };
    worker.on('died', () => void this.#onWorkerDied(slot));
    return slot;
  }

  async #onWorkerDied(slot: WorkerSlot): Promise<void> {
    this.emit('workerDied', slot.index);
    for (const [sessionId, p] of this.#rooms) {
      const room = await p.catch(() => undefined);
      if (room?.worker === slot.worker) {
        this.#rooms.delete(sessionId);
        await room.close(true);
      }
    }
    if (this.#closed) return;
    const at = this.#slots.indexOf(slot);
    try {
      const replacement = await this.#startWorker(slot.index);
      if (at >= 0) this.#slots[at] = replacement;
    } catch {
      if (at >= 0) this.#slots.splice(at, 1);
    }
  }

  get roomCount(): number {
    return this.#rooms.size;
  }

  get workers(): readonly ms.Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  /** The live room of a session, created on first join. */
  getOrCreateRoom(sessionId: string, orgId: string): Promise<Room> {
    const existing = this.#rooms.get(sessionId);
    if (existing) return existing;
    if (this.#closed || this.#slots.length === 0) return Promise.reject(new Error('SFU is shutting down'));
    const slot = this.#slots.reduce((a, b) => (b.rooms < a.rooms ? b : a));
    slot.rooms++;
    const p = (async () =>
      Room.create({
        sessionId,
        orgId,
        worker: slot.worker,
        webRtcServer: slot.server,
        store: this.#o.store,
        chunkMs: this.#o.chunkMs,
        resumeOnHost: (await this.#o.claimResume?.(sessionId, orgId)) ?? false,
      }))().then(
      (room) => {
        this.#open.set(sessionId, room);
        room.once('closed', () => {
          slot.rooms--;
          if (this.#rooms.get(sessionId) === p) this.#rooms.delete(sessionId);
          if (this.#open.get(sessionId) === room) this.#open.delete(sessionId);
          this.emit('roomClosed', room);
        });
        this.emit('roomOpened', room);
        return room;
      },
      (err: unknown) => {
        slot.rooms--;
        this.#rooms.delete(sessionId);
        throw err;
      },
    );
    this.#rooms.set(sessionId, p);
    return p;
  }

  /** Every open room with its live track count (the fleet heartbeat reports them). */
  liveRooms(): { sessionId: string; tracks: number; room: Room }[] {
    return [...this.#open.values()]
      .filter((r) => !r.closed)
      .map((room) => ({ sessionId: room.sessionId, tracks: room.trackCount, room }));
  }

  /** The live room of a session, if any. */
  async findRoom(sessionId: string): Promise<Room | undefined> {
    return this.#rooms.get(sessionId)?.catch(() => undefined);
  }

  /**
   * Graceful stop: every room stops capture and writes what it has (no chunk half-written),
   * then the workers close. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const rooms = await Promise.all([...this.#rooms.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(rooms.map((r) => (r ? r.close() : Promise.resolve())));
    for (const s of this.#slots) s.worker.close();
  }
}
