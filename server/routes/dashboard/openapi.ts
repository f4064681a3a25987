/** The OpenAPI entries of the dashboard's routes (docs/dashboard-api.md; routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import { invitation, seats } from '../orgs/openapi.ts';
import {
  auditDownloadQuery,
  auditEventsQuery,
  homeQuery,
  invitationParams,
  retentionPreviewQuery,
  usageQuery,
} from './schema.ts';

const homeSession = z.object({
  id,
  org_id: id,
  org_name: z.string(),
  title: z.string(),
  state: z.enum(['live', 'recording', 'ended', 'transcribing', 'ready', 'failed']),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  ended_at: isoTime.nullable(),
  track_count: z.number().int(),
  next_action: z.enum(['join', 'open', 'wait', 'view_transcript', 'retry_transcript']),
});

const monthUsage = z.object({
  month: z.string().regex(/^\d{4}-\d{2}$/),
  recorded_seconds: z.number(),
  recorded_hours: z.number(),
  tracks: z.number().int(),
  transcribed_seconds: z.number(),
  transcription_minutes: z.number(),
  bytes_stored: z.number(),
  bytes_erased: z.number(),
  storage_bytes: z.number().describe('Held at the end of the month (now, for the current one)'),
});
const usage = z.object({
  billing_enabled: z.boolean(),
  months: z.array(monthUsage).describe('Newest first, the current UTC month first, every month present'),
  limits: z
    .object({
      plan: z.object({ id: z.string(), name: z.string() }).nullable(),
      period_start: isoTime,
      period_end: isoTime,
      recording_hours: z.object({ used: z.number(), limit: z.number().nullable() }),
      seats,
    })
    .nullable()
    .describe('Null when billing is off'),
});

/** Who acted (services/auditLog.ts AuditActor): a person, a deleted account, or an API key; null for the system. */
const actor = z.object({
  id: id.nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  deleted: z.boolean(),
  api_key: z
    .object({ id: id.nullable(), name: z.string(), prefix: z.string() })
    .optional()
    .describe('Present when an organisation API key acted (then id and email are null)'),
});
const auditEvent = z.object({
  id: z.string().regex(/^\d+$/),
  at: isoTime,
  action: z.string(),
  actor: actor.nullable(),
  target: z
    .object({
      type: z.enum(['user', 'session', 'invitation', 'export', 'organization']),
      id: z.string().nullable(),
      label: z.string().nullable(),
    })
    .nullable(),
  detail: z.record(z.string(), z.unknown()),
});

const retentionPreview = z.object({
  retention_days: z.number().int().nullable(),
  next_sweep_at: isoTime,
  sessions: z.array(
    z.object({
      id,
      title: z.string(),
      created_at: isoTime,
      ended_at: isoTime.nullable(),
      retention_ends_at: isoTime,
      erase_at: isoTime,
    }),
  ),
});

const AUDIT_FILTER =
  'Filter: `action` (exact name), `actor` (a user id or an email), `from` (inclusive) and `to` (exclusive), each an ISO date (00:00 UTC) or a date-time with offset.';

export const dashboardDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/home',
    tag: 'sessions',
    summary: 'Your recording sessions across all your organisations, newest first, with state and next action',
    auth: 'cookie',
    query: homeQuery,
    responses: {
      200: { description: 'Sessions (erased ones left out)', schema: z.object({ sessions: z.array(homeSession) }) },
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/usage',
    tag: 'usage',
    summary:
      'Usage per month from the usage ledger (recording hours, tracks, transcription, storage), with plan limits when billing is on',
    auth: 'org',
    roles: ['owner', 'admin'],
    query: usageQuery,
    responses: { 200: { description: 'Usage', schema: usage } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/audit/events',
    tag: 'organizations',
    summary: 'The audit log, filtered, keyset-paged on the id (pass next_cursor as after)',
    description: `${AUDIT_FILTER} \`order\` is \`asc\` (oldest first, the default) or \`desc\`.`,
    auth: 'org',
    roles: ['owner', 'admin'],
    query: auditEventsQuery,
    responses: {
      200: {
        description: 'A page of entries; the actor is a person, an API key, or null (the system)',
        schema: z.object({ events: z.array(auditEvent), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/audit/facets',
    tag: 'organizations',
    summary: 'What the audit filter menus offer: every action and person present in the log',
    auth: 'org',
    roles: ['owner', 'admin'],
    responses: {
      200: {
        description: 'Actions and actors',
        schema: z.object({
          actions: z.array(z.string()),
          actors: z.array(
            z.object({
              id: id.nullable(),
              email: z.string().nullable(),
              name: z.string().nullable(),
              deleted: z.boolean(),
            }),
          ),
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/audit/download',
    tag: 'organizations',
    summary: 'Download every audit entry the filter selects, oldest first, as CSV or JSON lines (audited)',
    description: `${AUDIT_FILTER} CSV columns: \`id,at,action,actor_id,actor_email,actor_name,actor_deleted,target_type,target_id,target_label,detail\` (RFC 4180, CRLF, cells starting with = + - @ prefixed with '). JSON lines: one event per line, as in \`GET …/audit/events\`.`,
    auth: 'org',
    roles: ['owner', 'admin'],
    query: auditDownloadQuery,
    responses: {
      200: { description: 'An attachment, streamed', content: ['text/csv', 'application/x-ndjson'] },
    },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/invitations/:id/resend',
    tag: 'members',
    summary: 'Send an open invitation again with a new link and a fresh expiry (the old link stops working)',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    params: invitationParams,
    responses: { 200: { description: 'The renewed invitation', schema: invitation } },
    errors: { 403: ['owner_required'], 404: ['invitation_not_found'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/retention/preview',
    tag: 'lifecycle',
    summary: 'What the next sweep would erase with a given retention (read-only)',
    description:
      '`days`: a retention to try (1–36500) or `none` (keep until deleted); omitted: the current setting. At most 500 sessions, soonest first.',
    auth: 'org',
    query: retentionPreviewQuery,
    responses: { 200: { description: 'The preview', schema: retentionPreview } },
  },
];
