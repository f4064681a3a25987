/** The OpenAPI entries of recording sessions, the session archive and guest joins (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import { createSessionBody, sessionParams, trackParams, hostJoinBody, guestJoinBody, guestInfoBody } from './schema.ts';

const status = z.enum(['open', 'ended']);
const session = z.object({
  id,
  title: z.string(),
  status,
  created_at: isoTime,
  ended_at: isoTime.nullable(),
  participant_count: z.number().int(),
  track_count: z.number().int(),
});
const live = { live_available: z.boolean(), live_unavailable_reason: z.string().nullable() };
const participant = z
  .object({
    id,
    display_name: z.string(),
    role: z.enum(['host', 'guest']),
    user_id: id.nullable(),
    joined_at: isoTime.nullable(),
    left_at: isoTime.nullable(),
    consent: z.object({ version: z.string(), at: isoTime }).nullable(),
  })
  .loose();
const track = z
  .object({
    id,
    take: z.number().int(),
    participant_id: id,
    kind: z.string(),
    mime_type: z.string(),
    started_at: isoTime,
    ended_at: isoTime.nullable(),
    download_url: z.string(),
  })
  .loose();
const detail = session
  .extend({
    ...live,
    interrupted_at: isoTime.nullable(),
    /** Private mode: when the sweep re-wrapped its key to the org key (then only a key holder's browser opens it). */
    private_sealed_at: isoTime.nullable(),
    participants: z.array(participant),
    takes: z.array(z.object({ seq: z.number().int(), started_at: isoTime, stopped_at: isoTime.nullable() })),
    tracks: z.array(track),
    timeline: z.array(z.object({}).loose()),
  })
  .loose();
const certificate = z.object({
  certificate: z.record(z.string(), z.unknown()),
  signature: z.string(),
  algorithm: z.literal('Ed25519'),
  public_key_url: z.string(),
});
const joinToken = z.object({
  token: z.string(),
  /** The placed media node's signalling URL; null when it has none (signal through this server). */
  sfu_url: z.string().nullable(),
  /** The media node the session is placed on (the token names it too). */
  sfu_node: z.string(),
  participant_id: id,
  title: z.string(),
  role: z.enum(['host', 'guest']),
  consent: z.object({ version: z.string() }).nullable(),
  ...live,
});

export const sessionDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/orgs/:orgId/sessions',
    tag: 'sessions',
    summary: 'Create a recording session (with a fresh guest link)',
    description: 'Created by an API key, the session records the key as its creator.',
    auth: 'org',
    body: createSessionBody,
    responses: {
      201: { description: 'The session and its guest link', schema: session.extend({ guest_url: z.string() }) },
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions',
    tag: 'sessions',
    summary: 'The organisation’s sessions, newest first',
    auth: 'org',
    responses: { 200: { description: 'Sessions', schema: z.object({ sessions: z.array(session) }) } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id',
    tag: 'sessions',
    summary: 'A session: participants (with consent), takes, tracks (with download links) and timeline',
    auth: 'org',
    params: sessionParams,
    responses: { 200: { description: 'The session', schema: detail } },
    errors: { 404: ['session_not_found'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/sessions/:id/guest-link',
    tag: 'sessions',
    summary: 'A new guest link (the previous one stops working)',
    auth: 'org',
    params: sessionParams,
    responses: { 200: { description: 'The link', schema: z.object({ guest_url: z.string() }) } },
    errors: { 403: ['admin_required'], 404: ['session_not_found'], 409: ['session_ended'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/sessions/:id/join',
    tag: 'sessions',
    summary: 'Join as host: a signed token for the media server',
    auth: 'org',
    params: sessionParams,
    body: hostJoinBody,
    responses: { 200: { description: 'The join token', schema: joinToken } },
    errors: { 404: ['session_not_found'], 409: ['session_ended', 'consent_outdated'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/sessions/:id/end',
    tag: 'sessions',
    summary: 'End the session (the live room closes for everyone; the transcript is queued)',
    auth: 'org',
    params: sessionParams,
    responses: {
      200: {
        description: 'Ended (was_open: false when it had ended before)',
        schema: z.object({ status: z.literal('ended'), was_open: z.boolean() }),
      },
    },
    errors: { 404: ['session_not_found'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/tracks/:trackId/download',
    tag: 'sessions',
    summary: 'One track as a file (Ogg Opus or WebM), with Range support',
    auth: 'org',
    params: trackParams,
    responses: {
      200: { description: 'The file', content: ['audio/ogg', 'video/webm'] },
      206: { description: 'The requested range', content: ['audio/ogg', 'video/webm'] },
    },
    errors: {
      404: ['session_not_found', 'track_not_found'],
      409: ['private_session'],
      410: ['recording_erased'],
      415: ['unsupported_codec'],
      416: ['range_not_satisfiable'],
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/archive',
    tag: 'sessions',
    summary: 'Every track and the transcript as one tar archive',
    auth: 'org',
    params: sessionParams,
    responses: { 200: { description: 'The archive', content: ['application/x-tar'] } },
    errors: { 404: ['session_not_found'], 409: ['private_session'], 410: ['recording_erased'] },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/sessions/:id',
    tag: 'sessions',
    summary: 'Delete a recording by erasing its key; answers a signed deletion certificate',
    description: 'Owners and admins delete any session; a member (or a member key) the ones it created.',
    auth: 'org',
    params: sessionParams,
    responses: {
      200: { description: 'Erased', schema: z.object({ erased_at: isoTime, certificate }) },
    },
    errors: { 403: ['admin_required'], 404: ['session_not_found'], 409: ['session_open'] },
  },
  {
    method: 'post',
    path: '/api/join',
    tag: 'guests',
    summary: 'Join by guest link (the link’s token is the credential)',
    auth: 'none',
    body: guestJoinBody,
    responses: {
      200: { description: 'The join token', schema: joinToken.extend({ rejoin: z.string() }).loose() },
    },
    errors: {
      403: ['invalid_rejoin'],
      404: ['invalid_link'],
      409: ['session_ended', 'consent_outdated'],
      429: ['rate_limited'],
    },
  },
  {
    method: 'post',
    path: '/api/join/info',
    tag: 'guests',
    summary: 'What a guest link shows before joining',
    auth: 'none',
    body: guestInfoBody,
    responses: {
      200: {
        description: 'Title, organisation, status and the consent text',
        schema: z.object({
          title: z.string(),
          organization_name: z.string(),
          status,
          ...live,
          consent: z.object({ version: z.string(), text: z.string() }),
        }),
      },
    },
    errors: { 404: ['invalid_link'], 429: ['rate_limited'] },
  },
];
