/** The OpenAPI entries of the data lifecycle: retention, certificates, deletion, exports, account (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, type RouteDoc } from '../openapi/registry.ts';
import {
  sessionParams,
  exportParams,
  retentionBody,
  scheduleDeletionBody,
  deleteAccountBody,
  restoreBody,
  exportBody,
} from './schema.ts';

const retention = z.object({
  retention_days: z.number().int().nullable(),
  next_sweep_at: isoTime,
  due_at_next_sweep: z.array(
    z.object({ id, title: z.string(), created_at: isoTime, ended_at: isoTime.nullable(), erase_after: isoTime }),
  ),
});
const certificate = z.object({
  certificate: z.record(z.string(), z.unknown()),
  signature: z.string(),
  algorithm: z.literal('Ed25519'),
  public_key_url: z.string(),
});
const deletion = z.object({
  scheduled: z.boolean(),
  scheduled_at: isoTime.nullable(),
  due_at: isoTime.nullable(),
  scheduled_by: id.nullable(),
});
const exportJob = z
  .object({
    id,
    status: z.string(),
    recipient_kind: z.enum(['x25519', 'passphrase']),
    recipient: z.string().nullable(),
    sessions_total: z.number().int(),
    sessions_done: z.number().int(),
    created_at: isoTime,
    expires_at: isoTime.nullable(),
    download_url: z.string().nullable(),
  })
  .loose();
const user = z.object({ id, email: z.string(), display_name: z.string().nullable() });

export const lifecycleDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/deployment/public-key',
    tag: 'lifecycle',
    summary: 'The deployment’s Ed25519 public key, which signs deletion certificates (PEM)',
    auth: 'none',
    responses: {
      200: { description: 'SPKI PEM; x-key-sha256 carries its fingerprint', content: ['application/x-pem-file'] },
    },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/retention',
    tag: 'lifecycle',
    summary: 'Retention, the next sweep, and the sessions it will erase',
    auth: 'org',
    responses: { 200: { description: 'Retention', schema: retention } },
  },
  {
    method: 'put',
    path: '/api/orgs/:orgId/retention',
    tag: 'lifecycle',
    summary: 'Keep recordings until deleted (null) or for N days',
    auth: 'org',
    roles: ['owner', 'admin'],
    body: retentionBody,
    responses: { 200: { description: 'The new retention', schema: retention } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/sessions/:id/certificate',
    tag: 'lifecycle',
    summary: 'The signed deletion certificate of an erased session',
    auth: 'org',
    params: sessionParams,
    responses: { 200: { description: 'The certificate', schema: certificate } },
    errors: { 404: ['certificate_not_found'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/certificates',
    tag: 'lifecycle',
    summary: 'Every deletion certificate of the organisation',
    auth: 'org',
    responses: { 200: { description: 'Certificates', schema: z.object({ certificates: z.array(certificate) }) } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/deletion',
    tag: 'lifecycle',
    summary: 'Whether the organisation is scheduled for deletion',
    auth: 'org',
    responses: { 200: { description: 'The deletion state', schema: deletion } },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/deletion',
    tag: 'lifecycle',
    summary: 'Schedule the organisation’s deletion (7 days read-only, cancellable)',
    auth: 'org',
    roles: ['owner'],
    keys: false,
    body: scheduleDeletionBody,
    responses: { 202: { description: 'Scheduled', schema: deletion } },
    errors: { 400: ['confirmation_mismatch'], 409: ['already_scheduled'] },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/deletion',
    tag: 'lifecycle',
    summary: 'Cancel the scheduled deletion',
    auth: 'org',
    roles: ['owner'],
    responses: { 200: { description: 'Cancelled', schema: deletion } },
    errors: { 409: ['not_scheduled'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/exports',
    tag: 'lifecycle',
    summary: 'Export the whole organisation as one age-encrypted tar archive',
    auth: 'org',
    roles: ['owner', 'admin'],
    body: exportBody,
    responses: { 202: { description: 'The queued export', schema: exportJob } },
    errors: { 409: ['export_in_progress'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/exports',
    tag: 'lifecycle',
    summary: 'Exports, newest first',
    auth: 'org',
    roles: ['owner', 'admin'],
    responses: { 200: { description: 'Exports', schema: z.object({ exports: z.array(exportJob) }) } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/exports/:id',
    tag: 'lifecycle',
    summary: 'One export’s progress',
    auth: 'org',
    roles: ['owner', 'admin'],
    params: exportParams,
    responses: { 200: { description: 'The export', schema: exportJob } },
    errors: { 404: ['export_not_found'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/exports/:id/download',
    tag: 'lifecycle',
    summary: 'Download a finished export (age-encrypted)',
    auth: 'org',
    roles: ['owner', 'admin'],
    params: exportParams,
    responses: { 200: { description: 'The archive', content: ['application/octet-stream'] } },
    errors: { 404: ['export_not_found'], 409: ['export_not_ready'], 410: ['export_expired'] },
  },
  {
    method: 'delete',
    path: '/api/me',
    tag: 'account',
    summary: 'Delete your account (restorable for 30 days by signing in again)',
    auth: 'cookie',
    body: deleteAccountBody,
    responses: {
      200: {
        description: 'Scheduled',
        schema: z.object({ ok: z.literal(true), purge_at: isoTime, message: z.string() }),
      },
    },
    errors: { 400: ['confirmation_mismatch'], 409: ['already_pending', 'owner_required'] },
  },
  {
    method: 'post',
    path: '/api/auth/restore',
    tag: 'account',
    summary: 'Restore an account pending deletion (signs in)',
    auth: 'none',
    body: restoreBody,
    responses: { 200: { description: 'Restored', schema: z.object({ user, restored: z.literal(true) }) } },
    errors: { 401: ['invalid_restore_token'], 429: ['rate_limited'] },
  },
];
