/** The OpenAPI entries of private mode (routes/openapi/registry.ts; README "Private mode"). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import {
  eciesRecord,
  enableBody,
  grantBody,
  holderParams,
  myKeyBody,
  rangeQuery,
  requestBody,
  sessionParams,
  trackParams,
  transcriptParams,
  wrappedOrgKey,
} from './schema.ts';

const state = z.object({
  enabled: z.boolean(),
  enabled_at: isoTime.nullable(),
  public_key: z.string().nullable(),
  holders: z.array(
    z.object({
      user_id: id,
      email: z.string(),
      display_name: z.string().nullable(),
      created_at: isoTime,
      updated_at: isoTime,
    }),
  ),
  my_wrapped_key: wrappedOrgKey.nullable(),
  requests: z.array(
    z.object({ user_id: id, email: z.string(), public_key: z.string(), created_at: isoTime, granted: z.boolean() }),
  ),
  my_request: z
    .object({ public_key: z.string(), wrapped_request_key: wrappedOrgKey, grant: eciesRecord.nullable() })
    .nullable(),
  gives_up: z.array(z.string()),
});
const stateAnswer = { description: 'Private mode’s state for the caller', schema: state };
const sealedTrack = z.object({
  id,
  kind: z.string(),
  participant: z.string(),
  take: z.number().int(),
  mime_type: z.string(),
  start_ms: z.number().int(),
  end_ms: z.number().int().nullable(),
  chunks: z.array(z.object({ seq: z.number().int(), size: z.number().int() })),
});
const notSealed = { 404: ['session_not_found'], 409: ['not_private'] };
const sealedBytes = 'Sealed bytes exactly as stored; only a key holder’s browser opens them.';

export const privateModeDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/orgs/:orgId/private-mode',
    tag: 'private-mode',
    summary: 'Whether private mode is on, its public key, the key holders, requests, and the caller’s own wrapped copy',
    description:
      'Admins see every request for a copy, others their own. An API key sees no wrapped copy (a key holds none).',
    auth: 'org',
    responses: { 200: stateAnswer },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/private-mode',
    tag: 'private-mode',
    summary: 'Turn private mode on with a key pair the owner’s browser made',
    description:
      'The body is the ECDH P-256 public key (spki, base64) and the private half wrapped under the owner’s passphrase (PBKDF2 + AES-GCM, lib/private/crypto.ts). It cannot be turned off.',
    auth: 'org',
    roles: ['owner'],
    keys: false,
    body: enableBody,
    responses: { 201: { description: 'On; the new state', schema: state } },
    errors: { 409: ['private_mode_enabled'] },
  },
  {
    method: 'put',
    path: '/api/orgs/:orgId/private-mode/holders/me',
    tag: 'private-mode',
    summary: 'Store or replace the caller’s passphrase-wrapped copy of the org private key',
    description: 'A new passphrase, or finishing a granted request (which removes the request).',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    body: myKeyBody,
    responses: { 200: stateAnswer },
    errors: { 409: ['private_mode_off'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/private-mode/requests',
    tag: 'private-mode',
    summary: 'Ask a key holder for a copy: a personal public key and its passphrase-wrapped private half',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    body: requestBody,
    responses: { 201: stateAnswer },
    errors: { 409: ['private_mode_off', 'already_key_holder'] },
  },
  {
    method: 'put',
    path: '/api/orgs/:orgId/private-mode/requests/:userId/grant',
    tag: 'private-mode',
    summary: 'Grant a request: the org private key sealed to the requester’s public key (ECIES)',
    description:
      'Only a key holder, and not for their own request (403 `forbidden`); `public_key` must still be the request’s (else 404).',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    params: holderParams,
    body: grantBody,
    responses: { 200: stateAnswer },
    errors: { 403: ['forbidden'], 404: ['key_request_not_found'] },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/private-mode/holders/:userId',
    tag: 'private-mode',
    summary: 'Remove a key holder’s copy (owners: anyone’s; owners and admins: their own)',
    auth: 'org',
    keys: false,
    params: holderParams,
    responses: { 200: stateAnswer },
    errors: { 403: ['owner_required'], 404: ['key_holder_not_found'], 409: ['last_key_holder'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/private',
    tag: 'private-mode',
    summary: 'What a key holder’s browser needs to open a sealed session',
    description: 'The data key wrapped to the org public key, each track’s chunk list and times, the transcript run.',
    auth: 'org',
    params: sessionParams,
    responses: {
      200: {
        description: 'The sealed session',
        schema: z.object({
          organization_id: id,
          session_id: id,
          sealed_at: isoTime,
          private_wrapped_key: eciesRecord,
          tracks: z.array(sealedTrack),
          transcript: z.object({ run_id: id }).nullable(),
        }),
      },
    },
    errors: notSealed,
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/private/tracks/:trackId/chunks',
    tag: 'private-mode',
    summary: 'Up to `count` (at most 64) sealed chunks of a track from `from` on',
    description: `Per chunk a big-endian u32 sequence number, a u32 length, the chunk. ${sealedBytes}`,
    auth: 'org',
    params: trackParams,
    query: rangeQuery,
    responses: {
      200: { description: 'The framed chunks (empty past the end)', content: ['application/octet-stream'] },
    },
    errors: notSealed,
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/private/transcripts/:runId',
    tag: 'private-mode',
    summary: 'A sealed session’s transcript, still sealed',
    description: sealedBytes,
    auth: 'org',
    params: transcriptParams,
    responses: { 200: { description: 'The sealed transcript', content: ['application/octet-stream'] } },
    errors: { 404: ['session_not_found', 'transcript_not_found'], 409: ['not_private'] },
  },
];
