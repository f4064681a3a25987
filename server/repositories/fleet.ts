/** SQL for the SFU fleet (sql/130_fleet.sql): placing live sessions, and the operators' view. */
import { many, one, type Queryable } from '../core/db/pool.ts';

/** Where a live session is placed: the node, and the signalling URL browsers use (null: same origin). */
export interface PlacementRow {
  node_id: string;
  signal_url: string | null;
}

/**
 * Places a session of the proven org on an SFU node (or returns the node it is on).
 * @throws P0001 `fleet_full`, `session_ended`, `not_found`.
 */
export function placeForMember(db: Queryable, sessionId: string): Promise<PlacementRow> {
  return one<PlacementRow>(db, 'select node_id, signal_url from app.host_place_session($1::uuid)', [sessionId]);
}

/**
 * Places the session a guest link leads to. @throws P0001 `fleet_full`, `session_ended`, `invalid_link`.
 */
export function placeForGuest(db: Queryable, sessionId: string, tokenHash: Buffer): Promise<PlacementRow> {
  return one<PlacementRow>(db, 'select node_id, signal_url from app.guest_place_session($1::uuid, $2::bytea)', [
    sessionId,
    tokenHash,
  ]);
}

/** Whether any SFU node takes sessions now. */
export async function liveAvailable(db: Queryable): Promise<boolean> {
  return (await one<{ available: boolean }>(db, 'select app.fleet_live_available() as available')).available;
}

/** One SFU node as operators see it. */
export interface FleetNodeRow {
  id: string;
  signal_url: string | null;
  media_address: string | null;
  state: 'active' | 'draining' | 'gone';
  alive: boolean;
  capacity_tracks: number;
  load_tracks: number;
  live_sessions: number;
  placed_sessions: number;
  headroom_tracks: number;
  heartbeat_at: Date;
  started_at: Date;
}

/** Every node with its load (the sweep duty pool). */
export function listNodes(db: Queryable): Promise<FleetNodeRow[]> {
  return many<FleetNodeRow>(
    db,
    `select id, signal_url, media_address, state, alive, capacity_tracks, load_tracks, live_sessions,
            placed_sessions, headroom_tracks, heartbeat_at, started_at from app.fleet_nodes()`,
  );
}

/** Marks a node draining or active. @throws P0001 `not_found`, `invalid_state`. */
export async function setNodeState(db: Queryable, nodeId: string, state: 'active' | 'draining'): Promise<void> {
  await one(db, 'select app.fleet_set_state($1::text, $2::text) as state', [nodeId, state]);
}
