/** The OpenAPI entries of /api/orgs/:orgId/api-keys (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import { createKeyBody, keyParams, keyRole } from './schema.ts';

const key = z.object({
  id,
  name: z.string(),
  prefix: z.string().regex(/^[a-z0-9]{12}$/),
  role: keyRole,
  created_by: z.object({ user_id: id, email: z.string().nullable() }).nullable(),
  created_at: isoTime,
  expires_at: isoTime.nullable(),
  last_used_at: isoTime.nullable(),
  revoked_at: isoTime.nullable(),
});

export const apiKeyDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/orgs/:orgId/api-keys',
    tag: 'api-keys',
    summary: 'Create an API key (the key is in this answer only)',
    description:
      'The key is `rec_<prefix>_<secret>`; send it as `Authorization: Bearer <key>`. Only an argon2id verifier is stored, so it cannot be shown again.',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    body: createKeyBody,
    responses: {
      201: {
        description: 'The new key, with the key itself',
        schema: z.object({
          id,
          name: z.string(),
          prefix: z.string(),
          role: keyRole,
          created_at: isoTime,
          expires_at: isoTime.nullable(),
          key: z.string().regex(/^rec_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/),
        }),
      },
    },
    errors: { 400: ['invalid_expiry'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/api-keys',
    tag: 'api-keys',
    summary: 'The organisation’s keys, revoked ones included (never the key itself)',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    responses: { 200: { description: 'Keys, newest first', schema: z.object({ api_keys: z.array(key) }) } },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/api-keys/:id',
    tag: 'api-keys',
    summary: 'Revoke a key (refused from the next request on)',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    params: keyParams,
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: ['api_key_not_found'] },
  },
];
