/** The OpenAPI entries of the operators' fleet API (routes/openapi/registry.ts). */
import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/registry.ts';
import { emptyBody, nodeParams } from './schema.ts';

/** One SFU node (services/fleet.ts FleetNodeView). */
const node = z.object({
  id: z.string(),
  signal_url: z.string().nullable(),
  media_address: z.string().nullable(),
  state: z.enum(['active', 'draining', 'gone']),
  alive: z.boolean(),
  capacity_tracks: z.number().int(),
  load_tracks: z.number().int(),
  live_sessions: z.number().int(),
  placed_sessions: z.number().int(),
  headroom_tracks: z.number().int(),
  heartbeat_at: isoTime,
  started_at: isoTime,
});

const setState = (action: 'drain' | 'activate', summary: string): RouteDoc => ({
  method: 'post',
  path: `/api/fleet/nodes/:nodeId/${action}`,
  tag: 'fleet',
  summary,
  auth: 'operator',
  params: nodeParams,
  body: emptyBody,
  bodyOptional: true,
  responses: { 200: { description: 'The node in its new state', schema: z.object({ node }) } },
  errors: { 404: ['not_found'], 409: ['invalid_state'] },
});

export const fleetDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/fleet/nodes',
    tag: 'fleet',
    summary: 'SFU nodes with their load and liveness, and the headroom ratio over live active nodes',
    auth: 'operator',
    responses: {
      200: {
        description: 'Nodes',
        schema: z.object({ nodes: z.array(node), headroom_ratio: z.number().nullable() }),
      },
    },
  },
  setState('drain', 'Drain a node: it takes no new sessions and its live ones move'),
  setState('activate', 'Make a drained node active again'),
];
