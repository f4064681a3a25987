/** The OpenAPI entries of /api/orgs/:orgId/webhooks (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import { WEBHOOK_EVENTS } from '../../../lib/webhooks/events.ts';
import { createEndpointBody, deliveriesQuery, endpointParams, updateEndpointBody } from './schema.ts';

const endpoint = z.object({
  id,
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  enabled: z.boolean(),
  disabled_reason: z.enum(['failing', 'admin']).nullable(),
  previous_secret_expires_at: isoTime.nullable(),
  created_at: isoTime,
  updated_at: isoTime,
});
const withSecret = endpoint.extend({
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
    .describe('The signing secret (Standard Webhooks), shown in this answer only'),
});
const delivery = z.object({
  id: z.string().regex(/^\d+$/),
  event_id: z.string().describe('The `webhook-id` header of every attempt of this event'),
  type: z.string(),
  state: z.enum(['pending', 'delivered', 'failed', 'skipped']),
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      at: isoTime,
      status: z.number().int().nullable(),
      latency_ms: z.number().int(),
      error: z.string().nullable(),
    }),
  ),
  created_at: isoTime,
  next_attempt_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
});
const targetErrors = ['invalid_url', 'https_required', 'address_not_allowed', 'host_not_found'];
const admins = ['owner', 'admin'] as const;
const base = '/api/orgs/:orgId/webhooks';

export const webhookDocs: RouteDoc[] = [
  {
    method: 'post',
    path: base,
    tag: 'webhooks',
    summary: 'Register a webhook endpoint (its signing secret is in this answer only)',
    description:
      'Events are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The URL must use HTTPS and resolve to public addresses only (server-side request forgery).',
    auth: 'org',
    roles: admins,
    body: createEndpointBody,
    responses: { 201: { description: 'The endpoint, with its secret', schema: withSecret } },
    errors: { 400: targetErrors, 409: ['webhook_limit'] },
  },
  {
    method: 'get',
    path: base,
    tag: 'webhooks',
    summary: 'The organisation’s webhook endpoints',
    auth: 'org',
    roles: admins,
    responses: { 200: { description: 'Endpoints, oldest first', schema: z.object({ endpoints: z.array(endpoint) }) } },
  },
  {
    method: 'get',
    path: `${base}/:id`,
    tag: 'webhooks',
    summary: 'One webhook endpoint',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    responses: { 200: { description: 'The endpoint', schema: endpoint } },
    errors: { 404: ['webhook_not_found'] },
  },
  {
    method: 'patch',
    path: `${base}/:id`,
    tag: 'webhooks',
    summary: 'Change the URL, the events, or enable/disable (enabling delivers what waited, in order)',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    body: updateEndpointBody,
    responses: { 200: { description: 'The endpoint', schema: endpoint } },
    errors: { 400: targetErrors, 404: ['webhook_not_found'] },
  },
  {
    method: 'delete',
    path: `${base}/:id`,
    tag: 'webhooks',
    summary: 'Delete an endpoint and its delivery log',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: ['webhook_not_found'] },
  },
  {
    method: 'post',
    path: `${base}/:id/rotate-secret`,
    tag: 'webhooks',
    summary: 'A new signing secret (in this answer only); the old one keeps signing beside it for the overlap',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    responses: { 200: { description: 'The endpoint, with its new secret', schema: withSecret } },
    errors: { 404: ['webhook_not_found'] },
  },
  {
    method: 'post',
    path: `${base}/:id/test`,
    tag: 'webhooks',
    summary: 'Queue a `webhook.test` event for the endpoint',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    responses: {
      202: {
        description: 'Queued behind what is already pending',
        schema: z.object({ delivery_id: z.string().regex(/^\d+$/), event_id: z.string() }),
      },
    },
    errors: { 404: ['webhook_not_found'], 409: ['webhook_disabled'] },
  },
  {
    method: 'get',
    path: `${base}/:id/deliveries`,
    tag: 'webhooks',
    summary: 'The delivery log: each event’s state and attempts (status, latency, error), newest first',
    auth: 'org',
    roles: admins,
    params: endpointParams,
    query: deliveriesQuery,
    responses: {
      200: {
        description: 'Deliveries; `next_before` pages on',
        schema: z.object({ deliveries: z.array(delivery), next_before: z.string().nullable() }),
      },
    },
    errors: { 404: ['webhook_not_found'] },
  },
];
