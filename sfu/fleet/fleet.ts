/**
 * What this node does with the fleet's answers: drains when an operator says so (every
 * live session stops recording cleanly, is handed back and its people are told to
 * reconnect, which places them on another node), closes rooms whose session ended or moved
 * elsewhere (the session page's End session on another process), and keeps the per-node
 * gauges (live tracks, capacity, headroom, draining) current.
 */
import os from 'node:os';
import type { Metrics } from '../../server/core/metrics.ts';
import { log, errorFields } from '../../server/core/logger.ts';
import type { MediaService } from '../MediaService.ts';
import type { CaptureStore } from '../capture/CaptureStore.ts';
import type { NodeRegistry } from './NodeRegistry.ts';

/** The default node id: this host's name and the port it serves on, stable across restarts. */
export function defaultNodeId(port: number): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 80) || 'sfu';
  return `${host}-${port}`;
}

export interface FleetWatchOptions {
  registry: NodeRegistry;
  media: MediaService;
  store: CaptureStore;
  metrics: Metrics;
  capacityTracks: number;
  reserveTracks: number;
}

/** Wires the registry's events to the rooms and the gauges; `stop()` ends it. */
export function watchFleet(o: FleetWatchOptions): { stop(): void } {
  const { registry, media, store, metrics } = o;
  const node = registry.nodeId;
  const moving = new Set<string>();
  const moveAway = (sessionId: string, release: boolean) => {
    if (moving.has(sessionId)) return;
    moving.add(sessionId);
    void (async () => {
      const room = await media.findRoom(sessionId);
      await room?.moveAway(
        release ? (wasRecording) => store.releaseSession(node, room.orgId, sessionId, wasRecording) : undefined,
      );
      log.info('session moved off this node', { session_id: sessionId, node, draining: release });
    })()
      .catch((err: unknown) => log.warn('could not move a session off this node', errorFields(err)))
      .finally(() => moving.delete(sessionId));
  };
  const drain = () => {
    for (const r of media.liveRooms()) moveAway(r.sessionId, true);
  };
  registry.on('state', (state) => {
    log.info('sfu node state changed', { node, state });
    if (state === 'draining') drain();
  });
  registry.on('close', (sessionId, reason) => {
    if (reason === 'moved') return moveAway(sessionId, false);
    void media
      .findRoom(sessionId)
      .then((room) => room?.end(null, 'api'))
      .catch((err: unknown) => log.warn('could not close the room of an ended session', errorFields(err)));
  });
  let lastError = 0;
  registry.on('error', (err) => {
    // At most one line per 30 s while the database is unreachable.
    if (Date.now() - lastError < 30_000) return;
    lastError = Date.now();
    log.error('sfu heartbeat failed', errorFields(err));
  });
  const gauges = () => {
    const live = media.liveRooms();
    const draining = registry.state !== 'active';
    // Rooms that joined while the drain ran (a race with placement) move too.
    if (draining) drain();
    const used = live.reduce((a, r) => a + Math.max(r.tracks, o.reserveTracks), 0);
    metrics.sfuTracksLive.set(
      { node },
      live.reduce((a, r) => a + r.tracks, 0),
    );
    metrics.sfuCapacityTracks.set({ node }, o.capacityTracks);
    metrics.sfuHeadroomTracks.set({ node }, draining ? 0 : Math.max(0, o.capacityTracks - used));
    metrics.sfuNodeDraining.set({ node }, draining ? 1 : 0);
  };
  gauges();
  const timer = setInterval(gauges, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      registry.removeAllListeners();
    },
  };
}
