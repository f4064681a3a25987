/**
 * The SFU fleet on the API side: placing a live session on a node (the join token then
 * names that node and the browser signals there), whether live sessions are available at
 * all, and the operators' view and drain (sql/130_fleet.sql).
 */
import { withTenant, withUser } from '../core/db/pool.ts';
import { sha256, safeEqual } from '../core/crypto/secrets.ts';
import * as repo from '../repositories/fleet.ts';
import { AppError, notFound } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';

/** Where a session's participants go: the node id (for the join token) and its signalling URL. */
export interface Placement {
  nodeId: string;
  signalUrl: string | null;
}

const present = (r: repo.PlacementRow): Placement => ({ nodeId: r.node_id, signalUrl: r.signal_url });

/**
 * Places a session of `orgId` for a member joining as host (the node it is on, while that
 * node is active and alive; else the live node with the most headroom).
 * @throws AppError 503 `fleet_full` (with Retry-After), 409 `session_ended`, 404.
 */
export async function placeForMember(deps: Deps, orgId: string, userId: string, sessionId: string) {
  return present(await withTenant(deps.db.app, { orgId, userId }, (tx) => repo.placeForMember(tx, sessionId)));
}

/** Places the session a guest link leads to. @throws as {@link placeForMember}, 404 `invalid_link`. */
export async function placeForGuest(deps: Deps, sessionId: string, guestToken: string) {
  return present(await withUser(deps.db.app, null, (tx) => repo.placeForGuest(tx, sessionId, sha256(guestToken))));
}

/** How long "is any media server up" is cached per process: at most this stale. */
const AVAILABLE_TTL_MS = 2000;
const availability = new WeakMap<Deps, { at: number; value: Promise<boolean> }>();

/**
 * Whether any SFU node takes live sessions now (cached for {@link AVAILABLE_TTL_MS}, so
 * the pages' "live sessions are unavailable" is at most that stale on any API instance).
 */
export function liveAvailable(deps: Deps): Promise<boolean> {
  const now = Date.now();
  const hit = availability.get(deps);
  if (hit && now - hit.at < AVAILABLE_TTL_MS) return hit.value;
  const value = withUser(deps.db.app, null, (tx) => repo.liveAvailable(tx)).catch(() => false);
  availability.set(deps, { at: now, value });
  return value;
}

/**
 * Checks the operators' bearer token (FLEET_ADMIN_TOKEN).
 * @throws AppError 404 when the fleet API is off, 401 `unauthorized` on a wrong or missing token.
 */
export function requireFleetAdmin(deps: Deps, authorization: string | undefined): void {
  const expected = deps.config.fleetAdminToken;
  if (!expected) throw notFound('not_found', 'Not found.');
  const m = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!m?.[1] || !safeEqual(sha256(m[1]), sha256(expected)))
    throw new AppError(401, 'unauthorized', 'A valid fleet admin token is required.', {
      headers: { 'www-authenticate': 'Bearer' },
    });
}

/** One SFU node as the fleet API shows it: the repository's row, with its times as ISO strings. */
export type FleetNodeView = Omit<repo.FleetNodeRow, 'heartbeat_at' | 'started_at'> & {
  heartbeat_at: string;
  started_at: string;
};

/** Every node with its load and liveness, and the fleet's headroom ratio over live active nodes. */
export async function listNodes(deps: Deps): Promise<{ nodes: FleetNodeView[]; headroom_ratio: number | null }> {
  const rows = await withUser(deps.db.sweep, null, (tx) => repo.listNodes(tx));
  const nodes = rows.map((r) => ({
    ...r,
    heartbeat_at: r.heartbeat_at.toISOString(),
    started_at: r.started_at.toISOString(),
  }));
  const usable = nodes.filter((n) => n.alive && n.state === 'active');
  const capacity = usable.reduce((a, n) => a + n.capacity_tracks, 0);
  const headroom = usable.reduce((a, n) => a + Math.max(0, n.headroom_tracks), 0);
  return { nodes, headroom_ratio: capacity > 0 ? headroom / capacity : null };
}

/**
 * Marks a node draining (it takes no new sessions; it moves its live ones within a
 * heartbeat) or active again. @throws AppError 404 `not_found`, 409 `invalid_state`.
 */
export async function setNodeState(deps: Deps, nodeId: string, state: 'active' | 'draining') {
  await withUser(deps.db.sweep, null, (tx) => repo.setNodeState(tx, nodeId, state));
  const node = (await listNodes(deps)).nodes.find((n) => n.id === nodeId);
  if (!node) throw notFound('not_found', 'No such SFU node.');
  return node;
}
