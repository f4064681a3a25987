/** The OpenAPI entries of /api/orgs and /api/invitations (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, role, type RouteDoc } from '../openapi/registry.ts';
import {
  createOrgBody,
  updateOrgBody,
  memberParams,
  changeRoleBody,
  inviteBody,
  invitationParams,
  acceptBody,
  auditQuery,
  invitationsQuery,
} from './schema.ts';

const org = z.object({ id, name: z.string(), role, created_at: isoTime });
const member = z.object({
  user_id: id,
  email: z.string(),
  display_name: z.string().nullable(),
  role,
  joined_at: isoTime,
});
export const invitation = z.object({
  id,
  email: z.string(),
  role,
  created_at: isoTime,
  expires_at: isoTime,
  expired: z.boolean().describe('True once expires_at has passed (listed only with include_expired=true)'),
});
/** Seats used (members) and paid (null when billing is off; else the subscription's seats or the free allowance). */
export const seats = z.object({ used: z.number().int(), paid: z.number().int().nullable() });
const auditEntry = z.object({
  id: z.string(),
  action: z.string(),
  actor: z.object({
    user_id: id.nullable(),
    email: z.string().nullable(),
    api_key: z.object({ id, name: z.string(), prefix: z.string() }).nullable(),
  }),
  target: z.object({ user_id: id.nullable(), email: z.string().nullable() }).nullable(),
  details: z.record(z.string(), z.unknown()),
  created_at: isoTime,
});

export const orgDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/orgs',
    tag: 'organizations',
    summary: 'Create an organisation (you become its owner)',
    auth: 'cookie',
    body: createOrgBody,
    responses: { 201: { description: 'The new organisation', schema: org } },
  },
  {
    method: 'get',
    path: '/api/orgs',
    tag: 'organizations',
    summary: 'Your organisations and your role in each',
    auth: 'cookie',
    responses: { 200: { description: 'Memberships', schema: z.object({ organizations: z.array(org) }) } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId',
    tag: 'organizations',
    summary: 'One organisation, with your role and its member count',
    auth: 'org',
    responses: {
      200: { description: 'The organisation', schema: org.extend({ member_count: z.number().int() }) },
    },
  },
  {
    method: 'patch',
    path: '/api/orgs/:orgId',
    tag: 'organizations',
    summary: 'Rename the organisation',
    auth: 'org',
    roles: ['owner', 'admin'],
    body: updateOrgBody,
    responses: { 200: { description: 'The renamed organisation', schema: org } },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/members',
    tag: 'members',
    summary: 'Members and their roles, and seats used against seats paid',
    auth: 'org',
    responses: {
      200: { description: 'Members and seats', schema: z.object({ members: z.array(member), seats }) },
    },
  },
  {
    method: 'patch',
    path: '/api/orgs/:orgId/members/:userId',
    tag: 'members',
    summary: "Change a member's role (only owners grant or take away ownership)",
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    params: memberParams,
    body: changeRoleBody,
    responses: { 200: { description: 'The member with the new role', schema: member } },
    errors: { 403: ['owner_required'], 404: ['member_not_found'], 409: ['last_owner'] },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/members/:userId',
    tag: 'members',
    summary: 'Remove a member (owners and admins), or leave (yourself)',
    auth: 'org',
    keys: false,
    params: memberParams,
    responses: { 204: { description: 'Removed' } },
    errors: { 403: ['admin_required', 'owner_required'], 404: ['member_not_found'], 409: ['last_owner'] },
  },
  {
    method: 'post',
    path: '/api/orgs/:orgId/invitations',
    tag: 'members',
    summary: 'Invite someone by email (the link is emailed)',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    body: inviteBody,
    responses: { 201: { description: 'The pending invitation', schema: invitation } },
    errors: { 403: ['owner_required'], 409: ['already_member'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/invitations',
    tag: 'members',
    summary: 'Pending invitations (with include_expired=true also expired ones not accepted or revoked)',
    auth: 'org',
    roles: ['owner', 'admin'],
    query: invitationsQuery,
    responses: { 200: { description: 'Invitations', schema: z.object({ invitations: z.array(invitation) }) } },
  },
  {
    method: 'delete',
    path: '/api/orgs/:orgId/invitations/:id',
    tag: 'members',
    summary: 'Revoke a pending invitation',
    auth: 'org',
    roles: ['owner', 'admin'],
    keys: false,
    params: invitationParams,
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: ['invitation_not_found'] },
  },
  {
    method: 'post',
    path: '/api/invitations/accept',
    tag: 'members',
    summary: "Accept an invitation sent to your address (the token from the link's fragment)",
    auth: 'cookie',
    body: acceptBody,
    responses: {
      200: { description: 'The organisation joined, and your role', schema: z.object({ organization_id: id, role }) },
    },
    errors: { 404: ['invalid_invitation'], 409: ['wrong_account', 'seats_exhausted'] },
  },
  {
    method: 'get',
    path: '/api/orgs/:orgId/audit',
    tag: 'organizations',
    summary: 'The audit log, newest first (keyset pages: pass next_before as before)',
    auth: 'org',
    roles: ['owner', 'admin'],
    query: auditQuery,
    responses: {
      200: {
        description: 'Entries; the actor is a person or an API key',
        schema: z.object({ entries: z.array(auditEntry), next_before: z.string().nullable() }),
      },
    },
  },
];
