/**
 * Runs the SFU (mediasoup workers + WebSocket signalling) beside the API, in the same
 * process (`npm start`) or in its own (`node sfu/main.ts`). Wires capture into the
 * metrics and the logger; never logs media or names.
 */
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { createRequire } from 'node:module';
import type { Config } from '../server/core/config.ts';
import type { Database } from '../server/core/db/pool.ts';
import type { Metrics } from '../server/core/metrics.ts';
import type { Secrets } from '../server/core/crypto/secrets.ts';
import type { Storage } from '../server/core/storage.ts';
import { CaptureStore } from './capture/CaptureStore.ts';
import { NodeRegistry } from './fleet/NodeRegistry.ts';
import { defaultNodeId, watchFleet } from './fleet/fleet.ts';
import { MediaService } from './MediaService.ts';
import { SignalingServer } from './signaling/SignalingServer.ts';
import { log, errorFields } from '../server/core/logger.ts';

export interface RunningSfu {
  readonly media: MediaService;
  /** This node's id in the fleet. */
  readonly nodeId: string;
  readonly registry: NodeRegistry;
  /** Ends a live room (after its recording was deleted). */
  endRoom(sessionId: string): Promise<void>;
  /** Ends a session from the API (the session page): recording flushed, everyone told, room closed. */
  endSession(sessionId: string): Promise<void>;
  /** Stops signalling; rooms flush their capture; workers close. */
  close(): Promise<void>;
}

/**
 * The mediasoup worker binary to use: MEDIASOUP_WORKER_BIN when set (undefined when that file
 * is missing), else the one mediasoup's own install put inside its package, else undefined.
 */
export function findWorkerBin(config: Config): string | undefined {
  if (config.sfu.workerBin) return fs.existsSync(config.sfu.workerBin) ? config.sfu.workerBin : undefined;
  try {
    // mediasoup does not export its package.json: walk up from its entry point.
    let dir = path.dirname(createRequire(import.meta.url).resolve('mediasoup'));
    for (;;) {
      const bin = path.join(dir, 'worker', 'out', 'Release', 'mediasoup-worker');
      if (fs.existsSync(bin)) return bin;
      if (fs.existsSync(path.join(dir, 'package.json')) && path.basename(dir) === 'mediasoup') return undefined;
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  } catch {
    return undefined;
  }
}

/** Where this node is reached, for the fleet registry. */
export interface SfuNodeOptions {
  /**
   * The signalling URL browsers use when SFU_PUBLIC_URL is unset: null (the default) means
   * the API's own origin (`npm start`); a standalone node passes its own address.
   */
  defaultSignalUrl?: string | null;
  /** The port this node serves on, for its default id (`<hostname>-<port>`). */
  port: number;
}

/**
 * Starts the SFU on `server` (signalling at /sfu) and registers it in the fleet, or returns
 * undefined when SFU=off, or SFU=auto and no worker binary exists.
 * @throws when SFU=on and it cannot start, or another live process holds this node id.
 */
export async function startSfu(
  config: Config,
  deps: { db: Database; metrics: Metrics; secrets: Secrets; storage: Storage },
  server: http.Server,
  node: SfuNodeOptions = { port: config.sfu.port },
): Promise<RunningSfu | undefined> {
  if (config.sfu.mode === 'off') return undefined;
  const workerBin = findWorkerBin(config);
  if (!workerBin) {
    if (config.sfu.mode === 'on')
      throw new Error('SFU=on but no mediasoup worker binary was found (set MEDIASOUP_WORKER_BIN)');
    log.warn('SFU not started: no mediasoup worker binary (set MEDIASOUP_WORKER_BIN); live sessions are unavailable');
    return undefined;
  }
  const nodeId = config.sfu.nodeId ?? defaultNodeId(node.port);
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const started: { media?: MediaService } = {};
  // Before any browser joins: the node takes its liveness lock, registers, and closes what a
  // crashed process of this node left recording (its own sessions only).
  const { registry, recovered } = await NodeRegistry.start(deps.db.sfu, {
    nodeId,
    signalUrl: config.sfu.publicUrl ?? node.defaultSignalUrl ?? null,
    mediaAddress: config.sfu.announcedAddress ?? config.sfu.listenIp,
    capacityTracks: config.sfu.capacityTracks,
    reserveTracks: config.sfu.sessionReserveTracks,
    goneAfterS: config.sfu.nodeGoneS,
    graceS: config.sfu.recoveryGraceS,
    live: () => started.media?.liveRooms() ?? [],
  });
  for (const s of recovered)
    if (s.recoveredTo)
      log.warn('recording interrupted by a crash: take closed at its last sealed chunk; waiting for reconnects', {
        session_id: s.sessionId,
        take: s.take,
        recovered_to: s.recoveredTo.toISOString(),
      });
  const media = await MediaService.create({
    workers: config.sfu.workers,
    workerBin,
    listenIp: config.sfu.listenIp,
    announcedAddress: config.sfu.announcedAddress,
    rtcPortBase: config.sfu.rtcPortBase,
    chunkMs: config.sfu.chunkMs,
    store,
    claimResume: async (sessionId, orgId) => (await store.admit(nodeId, orgId, sessionId, true)).resume,
  }).catch(async (err: unknown) => {
    await registry.close();
    throw err;
  });
  started.media = media;
  const m = deps.metrics;
  media.on('workerDied', (index) => {
    m.sfuWorkerDeaths.inc();
    log.error('mediasoup worker died; its rooms were closed and it is being replaced', { worker: index });
  });
  media.on('roomOpened', (room) => {
    m.sessionsLive.inc();
    room.on('chunk', () => m.chunksSealed.inc());
    room.on('lost', (err) => {
      m.chunksLost.inc({ reason: 'storage' });
      log.error('chunk lost', errorFields(err));
    });
    room.on('track', (kind) => m.tracksCaptured.inc({ kind }));
    room.on('error', (err) => log.warn('room error', errorFields(err)));
  });
  media.on('roomClosed', () => m.sessionsLive.dec());
  // Interrupted sessions wait for their people; the host's return resumes the recording
  // (the placement's resume flag, claimed when the room opens).
  const fleet = watchFleet({
    registry,
    media,
    store,
    metrics: m,
    capacityTracks: config.sfu.capacityTracks,
    reserveTracks: config.sfu.sessionReserveTracks,
  });
  const graceTimers = recovered.map((r) => {
    const t = setTimeout(
      () => void endIfAbandoned(media, store, r.orgId, r.sessionId),
      config.sfu.recoveryGraceS * 1000,
    );
    t.unref();
    return t;
  });
  const signaling = new SignalingServer({
    media,
    store,
    nodeId,
    joinKey: deps.secrets.key('join-token'),
    onError: (err) => log.error('signalling request failed', errorFields(err)),
  });
  signaling.attach(server);
  log.info('sfu started', { count: config.sfu.workers, port: config.sfu.rtcPortBase, node: nodeId });
  return {
    media,
    nodeId,
    registry,
    async endRoom(sessionId) {
      const room = await media.findRoom(sessionId);
      await room?.close();
    },
    async endSession(sessionId) {
      const room = await media.findRoom(sessionId);
      await room?.end(null, 'api');
    },
    async close() {
      for (const t of graceTimers) clearTimeout(t);
      fleet.stop();
      signaling.close();
      await media.close();
      // Last: the lock goes with it, and the fleet sees this node gone at once.
      await registry.close();
    },
  };
}

/** Ends an interrupted session nobody came back to (its transcript then queues). */
async function endIfAbandoned(media: MediaService, store: CaptureStore, orgId: string, sessionId: string) {
  try {
    const room = await media.findRoom(sessionId);
    if (room && room.peerCount > 0) return;
    await store.endSession(orgId, sessionId, null);
    await room?.close();
    log.info('interrupted session ended: nobody reconnected within the grace period', { session_id: sessionId });
  } catch (err) {
    log.warn('could not end an interrupted session', errorFields(err));
  }
}
