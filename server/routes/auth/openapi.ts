/** The OpenAPI entries of sign-in and the account (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, role, type RouteDoc } from '../openapi/registry.ts';
import { requestCodeBody, verifyBody, sessionIdParams, updateMeBody } from './schema.ts';

const user = z.object({ id, email: z.string(), display_name: z.string().nullable() });

export const authDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/code',
    tag: 'account',
    summary: 'Email a sign-in code (the same answer whether or not the address exists)',
    auth: 'none',
    body: requestCodeBody,
    responses: {
      202: { description: 'Sent if possible', schema: z.object({ ok: z.literal(true), message: z.string() }) },
    },
    errors: { 429: ['rate_limited'] },
  },
  {
    method: 'post',
    path: '/api/auth/verify',
    tag: 'account',
    summary: 'Sign in with the emailed code (sets the session cookie)',
    auth: 'none',
    body: verifyBody,
    responses: { 200: { description: 'Signed in', schema: z.object({ user }) } },
    errors: { 401: ['invalid_code'], 429: ['rate_limited'] },
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    tag: 'account',
    summary: 'Sign out',
    auth: 'none',
    responses: { 204: { description: 'Signed out' } },
  },
  {
    method: 'get',
    path: '/api/me',
    tag: 'account',
    summary: 'You and your memberships',
    auth: 'cookie',
    responses: {
      200: {
        description: 'You',
        schema: z.object({
          user,
          memberships: z.array(z.object({ id, name: z.string(), role, created_at: isoTime })),
        }),
      },
    },
  },
  {
    method: 'patch',
    path: '/api/me',
    tag: 'account',
    summary: 'Change your display name',
    auth: 'cookie',
    body: updateMeBody,
    responses: { 200: { description: 'You', schema: z.object({ user }) } },
  },
  {
    method: 'get',
    path: '/api/auth/sessions',
    tag: 'account',
    summary: 'Your signed-in sessions',
    auth: 'cookie',
    responses: { 200: { description: 'Sessions', schema: z.object({ sessions: z.array(z.object({ id }).loose()) }) } },
  },
  {
    method: 'delete',
    path: '/api/auth/sessions/:id',
    tag: 'account',
    summary: 'Sign out one of your sessions',
    auth: 'cookie',
    params: sessionIdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: ['session_not_found'] },
  },
];
